//! `cairn`: the command-line tool over the cairn engine.

mod cli;
mod cmd;
mod components;
mod context;
mod exit;
mod help;
mod notify;
mod output;
mod progress;
mod select;
mod signals;

use std::process::ExitCode;

fn main() -> ExitCode {
    // A panic is a bug in cairn: one line, no backtrace unless asked for.
    if std::env::var_os("RUST_BACKTRACE").is_none() {
        std::panic::set_hook(Box::new(|info| {
            eprintln!("cairn: internal error (a bug, please report it): {info}");
        }));
    }
    let cli = cli::parse();
    secret_flags(&cli.global);
    init_logging(cli.global.verbose);
    match cmd::run(&cli) {
        Ok(code) => code,
        Err(e) => {
            let line = naming_the_repository(&cli, &e, exit::one_line(&e));
            crate::err!("cairn: error: {line}");
            if cli.global.json {
                output::json(&serde_json::json!({
                    "message_type": "error", "message": line, "exit_code": exit::code_number(&e),
                }));
            }
            notify::notify(
                &cli.global,
                "error",
                false,
                serde_json::json!({ "message": line, "exit_code": exit::code_number(&e) }),
            );
            exit::code_for(&e)
        }
    }
}

/// An engine error about the repository names it, unless the message
/// already does. Plan commands (their repository comes from the plan) and
/// `copy` (two repositories) say which one themselves.
fn naming_the_repository(cli: &cli::Cli, e: &anyhow::Error, line: String) -> String {
    if matches!(cli.command, cli::Command::Plan(_) | cli::Command::Copy(_))
        || e.downcast_ref::<cairn::Error>().is_none()
    {
        return line;
    }
    match context::location(&cli.global) {
        Ok((loc, _)) if !line.contains(&loc) => format!("{line} (repository {loc})"),
        _ => line,
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
        .with_ansi(output::colours(&std::io::stderr()))
        .with_target(false)
        .init();
}

/// `--password-file`, `--password-command` and `--key-file` mean the
/// same as their CAIRN_ variables and win over them: the one given is set,
/// the other two are cleared (before any thread starts). Commands that run
/// cairn again (a restore_command written by `restore postgres`) see the
/// same choice.
fn secret_flags(g: &cli::Global) {
    let chosen = [
        (
            "CAIRN_PASSWORD_FILE",
            g.password_file.as_ref().map(|p| p.display().to_string()),
        ),
        ("CAIRN_PASSWORD_COMMAND", g.password_command.clone()),
        (
            "CAIRN_KEY_FILE",
            g.key_file.as_ref().map(|p| p.display().to_string()),
        ),
    ];
    if chosen.iter().all(|(_, v)| v.is_none()) {
        return;
    }
    for (var, value) in chosen {
        match value {
            Some(v) => std::env::set_var(var, v),
            None => std::env::remove_var(var),
        }
    }
}
