//! MongoDB adapter for cairn: collections read through the official
//! driver at one cluster time (or taken from a mongodump archive), each
//! stored as its own stream of raw BSON; restored through the driver or
//! written out as a mongodump archive. See `docs/adapters/mongodb.md`.
//!
//! Without the default `driver` feature the crate is the archive format
//! and a snapshot's streams only.

pub mod archive;
#[cfg(feature = "driver")]
mod backup;
#[cfg(feature = "driver")]
mod client;
#[cfg(feature = "driver")]
mod component;
mod counter;
mod crc64;
pub mod doc;
#[cfg(feature = "driver")]
mod drill;
mod dump;
mod import;
mod index;
mod meta;
#[cfg(feature = "driver")]
mod rename;
#[cfg(feature = "driver")]
mod restore;
mod select;
mod stored;
#[cfg(feature = "driver")]
mod stream;

#[cfg(feature = "driver")]
pub use backup::{list, profile_for, read_server, BackupOptions, DEFAULT_BATCH};
#[cfg(feature = "driver")]
pub use client::{connect, redact, DEFAULT_URI};
#[cfg(feature = "driver")]
pub use component::{from_settings, renames, MongoComponent, RestoreMode, Source};
pub use crc64::Crc64;
#[cfg(feature = "driver")]
pub use drill::SCRATCH_PREFIX;
pub use dump::write_archive;
pub use import::{import, Imported};
pub use index::{data_path, meta_path, Index, Stored, INDEX_STREAM};
pub use meta::Meta;
#[cfg(feature = "driver")]
pub use rename::Rename;
#[cfg(feature = "driver")]
pub use restore::{RestoreOptions, Restored};
pub use select::Selection;
pub use stored::read_index;
