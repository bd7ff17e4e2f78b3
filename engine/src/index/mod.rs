//! The index: which pack holds each blob.
//!
//! On disk: index files (`index/<id>`), each listing some packs and their
//! blobs. In memory: [`MemIndex`], a compact structure of 48 bytes per blob.

mod file;
mod memory;

pub use file::{IndexFile, IndexPack, INDEX_VERSION};
pub use memory::{BlobLocation, MemIndex};
