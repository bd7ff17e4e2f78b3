//! Exit codes and one-line error messages.

use std::process::ExitCode;

/// Success.
pub const OK: u8 = 0;
/// The command failed.
pub const FAILED: u8 = 1;
/// Backup finished, but some files could not be read (snapshot written).
pub const PARTIAL: u8 = 3;
/// `check` found damage.
pub const DAMAGED: u8 = 4;
/// `plan run`: a component or hook failed (what the others stored is
/// kept); `plan restore`/`plan verify`: a component failed.
pub const PLAN_FAILED: u8 = 5;
/// `plan status`: a component is overdue or the last run failed.
pub const OVERDUE: u8 = 6;
/// `plan restore`: the snapshots break an ordering rule (nothing restored).
pub const ORDER_REFUSED: u8 = 7;
/// No repository at the location (or not a cairn repository).
pub const REPO_NOT_FOUND: u8 = 10;
/// The key does not open the repository.
pub const WRONG_KEY: u8 = 12;
/// Stopped by SIGINT or SIGTERM (128 + 2, as shells report Ctrl-C).
pub const INTERRUPTED: u8 = 130;

/// The documented exit code of an error.
pub fn code_number(e: &anyhow::Error) -> u8 {
    match e.downcast_ref::<cairn::Error>() {
        Some(cairn::Error::RepositoryNotFound(_) | cairn::Error::NotARepository(..)) => {
            REPO_NOT_FOUND
        }
        Some(cairn::Error::WrongKey | cairn::Error::KeySlotsSkipped { .. }) => WRONG_KEY,
        Some(cairn::Error::Corrupt { .. }) => DAMAGED,
        Some(cairn::Error::Interrupted(_)) => INTERRUPTED,
        _ => FAILED,
    }
}

/// Maps an error to its documented exit code.
pub fn code_for(e: &anyhow::Error) -> ExitCode {
    ExitCode::from(code_number(e))
}

/// The error and its causes on one line, with a hint where one helps.
pub fn one_line(e: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in e.chain().map(|c| c.to_string()) {
        // Errors that print their source already: say it once.
        if msg.contains(&cause) {
            continue;
        }
        if !msg.is_empty() {
            msg.push_str(": ");
        }
        msg.push_str(&cause);
    }
    if msg.contains("No space left on device") {
        msg.push_str(
            " (a disk is full; what was stored before is intact, and `cairn prune` removes \
             a partial backup's uploads)",
        );
    }
    match e.downcast_ref::<cairn::Error>() {
        Some(cairn::Error::WrongKey) => {
            msg.push_str(" (check CAIRN_PASSWORD_FILE, CAIRN_PASSWORD_COMMAND or CAIRN_KEY_FILE)")
        }
        Some(cairn::Error::Corrupt { .. }) if !msg.contains("repair") => {
            msg.push_str(" (the repository is damaged; do not prune, keep a copy)")
        }
        _ => {}
    }
    msg.replace('\n', " ")
}
