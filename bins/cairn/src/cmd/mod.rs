//! One file per command.

mod backup;
mod cat;
mod check;
mod component;
mod copy;
mod diff;
mod drill;
mod dump;
mod find;
mod forget;
mod fresh;
mod init;
mod key;
mod kubernetes;
mod ls;
mod mongodb;
#[cfg(feature = "mount")]
mod mount;
mod plan;
mod postgres;
mod prune;
mod repair;
mod restore;
mod rewrite;
#[cfg(feature = "s3")]
mod s3;
mod snapshots;
mod stats;
mod tag;
mod wal;

use crate::cli::{Cli, Command};
use anyhow::Result;
use std::process::ExitCode;

/// Runs the parsed command and returns its exit code.
pub fn run(cli: &Cli) -> Result<ExitCode> {
    let g = &cli.global;
    match &cli.command {
        Command::Init(a) => init::run(g, a),
        Command::Key(k) => key::run(g, k),
        Command::Backup(a) => backup::run(g, a),
        Command::Snapshots(a) => snapshots::run(g, a),
        Command::Ls(a) => ls::run(g, a),
        Command::Tag(a) => tag::run(g, a),
        Command::Find(a) => find::run(g, a),
        Command::Diff(a) => diff::run(g, a),
        Command::Stats(a) => stats::run(g, a),
        Command::Restore(a) => restore::run(g, a),
        Command::Rewrite(a) => rewrite::run(g, a),
        Command::Dump(a) => dump::run(g, a),
        #[cfg(feature = "mount")]
        Command::Mount(a) => mount::run(g, a),
        Command::Cat(a) => cat::run(g, a),
        Command::Verify(crate::cli::VerifyCommand::Postgres(a)) => postgres::verify(g, a),
        Command::Verify(crate::cli::VerifyCommand::Fresh(a)) => fresh::run(g, a),
        Command::Forget(a) => forget::run(g, a),
        Command::Prune(a) => prune::run(g, a),
        Command::Check(a) => check::run(g, a),
        Command::Copy(a) => copy::run(g, a),
        Command::Repair(crate::cli::RepairCommand::Index) => repair::index(g),
        Command::Plan(c) => plan::run(g, c),
        Command::Drill(a) => drill::run(g, a),
        Command::Wal(c) => wal::run(g, c),
    }
}

/// Exit code 0.
pub fn ok() -> Result<ExitCode> {
    Ok(ExitCode::from(crate::exit::OK))
}
