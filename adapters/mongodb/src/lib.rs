//! MongoDB adapter for cairn: the mongodump archive format, read and
//! written (the driver-based backup and restore are not built yet; see
//! `docs/adapters/mongodb.md`).

pub mod archive;
mod crc64;
pub mod doc;

pub use crc64::Crc64;
