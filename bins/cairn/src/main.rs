//! `cairn`: the command-line tool over the cairn engine.

mod cli;
mod cmd;
mod context;
mod exit;
mod output;
mod progress;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // mimalloc returns freed pages to the OS after 10 ms by default; the
    // pipeline then faults them straight back in. Keeping them cut the
    // system time of a 2 GB backup by a third (docs/performance.md).
    // Read by mimalloc when it first needs the option, after this point.
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        std::env::set_var("MIMALLOC_PURGE_DELAY", "-1");
    }
    // A panic is a bug in cairn: one line, no backtrace unless asked for.
    if std::env::var_os("RUST_BACKTRACE").is_none() {
        std::panic::set_hook(Box::new(|info| {
            eprintln!("cairn: internal error (a bug, please report it): {info}");
        }));
    }
    let cli = cli::Cli::parse();
    init_logging(cli.global.verbose);
    match cmd::run(&cli) {
        Ok(code) => code,
        Err(e) => {
            let line = exit::one_line(&e);
            eprintln!("cairn: error: {line}");
            if cli.global.json {
                output::json(&serde_json::json!({
                    "message_type": "error", "message": line, "exit_code": exit::code_number(&e),
                }));
            }
            exit::code_for(&e)
        }
    }
}

fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => tracing::Level::WARN,
        1 => tracing::Level::INFO,
        _ => tracing::Level::DEBUG,
    };
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

/// mimalloc instead of glibc malloc: the pipeline allocates and frees
/// megabyte buffers across threads, which made glibc return and re-fault
/// pages constantly (measured: docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
