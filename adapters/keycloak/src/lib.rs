//! Keycloak adapter for cairn.
//!
//! Backup runs `kc.sh export --dir` into a fresh private directory, reads
//! **every** file it wrote (realm files and users files), checks the set
//! before anything is stored (each file parses, users files form a
//! complete sequence with the configured number of users per file, no user
//! twice) and stores each file as one stream under `keycloak/`, with the
//! figures (realms, users, clients, roles, identity providers, groups) in
//! the snapshot. The export directory is removed once read: the files hold
//! password hashes, client secrets and realm private keys, which cairn
//! stores only encrypted and never prints. Restore writes the files back
//! under their names into a fresh import directory and runs `kc.sh import
//! --dir D --override true|false`; verification re-parses the stored set
//! and compares the figures.

mod check;
mod component;
mod export;
mod layout;
mod partial;

pub use check::{check_set, RealmFigures, UsersMode};
pub use component::{from_settings, ImportOptions, KeycloakComponent};
pub use export::{export, export_args, ExportOptions};
pub use layout::ExportFile;
pub use partial::{partial_export, PartialOptions, PARTIAL_LABEL};

/// Prefix of the streams of a `kc.sh export`.
pub const STREAM_PREFIX: &str = "keycloak/";
/// Prefix of a configuration-only partial export's stream.
pub const PARTIAL_PREFIX: &str = "keycloak-partial/";
