//! MongoDB adapter for cairn: collections read through the official
//! driver at one cluster time (or taken from a mongodump archive), each
//! stored as its own stream of raw BSON; restored through the driver or
//! written out as a mongodump archive. See `docs/adapters/mongodb.md`.

pub mod archive;
mod backup;
mod client;
mod component;
mod counter;
mod crc64;
pub mod doc;
mod drill;
mod dump;
mod import;
mod index;
mod meta;
mod rename;
mod restore;
mod select;
mod stored;
mod stream;

pub use backup::{list, profile_for, read_server, BackupOptions, DEFAULT_BATCH};
pub use client::{connect, redact, DEFAULT_URI};
pub use component::{from_settings, renames, MongoComponent, RestoreMode, Source};
pub use crc64::Crc64;
pub use drill::SCRATCH_PREFIX;
pub use dump::write_archive;
pub use import::{import, Imported};
pub use index::{data_path, meta_path, Index, Stored, INDEX_STREAM};
pub use meta::Meta;
pub use rename::Rename;
pub use restore::{RestoreOptions, Restored};
pub use select::Selection;
pub use stored::read_index;
