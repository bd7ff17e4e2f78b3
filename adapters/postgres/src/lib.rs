//! PostgreSQL adapter for cairn.
//!
//! Backup streams an uncompressed custom-format `pg_dump -Fc -Z0` of each
//! database (never a temp file), plus `pg_dumpall --globals-only`, into one
//! snapshot. Restore pipes a stored dump into `pg_restore`. Verification
//! runs `pg_restore --list` on the stored stream and, optionally, restores
//! it into a throwaway database and counts rows. The vendor tools do the
//! PostgreSQL work; this crate only wires them to the engine.
//!
//! Passwords are never put on a command line: a password found in the DSN
//! is removed from it and handed to the tools through `PGPASSWORD` in their
//! environment only.

mod backup;
mod component;
mod conn;
pub mod pitr;
mod restore;
mod tools;
mod verify;

pub use backup::{backup, PgBackupOptions};
pub use component::{from_settings, PgComponent};
pub use conn::PgConn;
pub use restore::{restore, PgRestoreOptions};
pub use tools::Tools;
pub use verify::{verify, DbVerify, TableCount};

/// Prefix of every stream this adapter writes.
pub const STREAM_PREFIX: &str = "postgres/";
/// Stream name of the globals (roles, tablespaces).
pub const GLOBALS_STREAM: &str = "postgres/globals.sql";

/// Stream name of one database's dump.
pub fn dump_stream(db: &str) -> String {
    format!("{STREAM_PREFIX}{db}.dump")
}

/// Database name of a dump stream name, if it is one.
pub fn db_of_stream(name: &str) -> Option<&str> {
    name.strip_prefix(STREAM_PREFIX)?.strip_suffix(".dump")
}
