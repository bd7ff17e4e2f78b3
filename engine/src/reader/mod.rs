//! The repository reader: blob locations, verified blob reads (falling
//! back to another copy), trees and chunk lists, pack range reads, and the
//! read pool restore and dump run on.
//!
//! - this file: blobs by id, and the copy at one location;
//! - `packs`: pack headers and byte ranges, exactly as long as asked;
//! - `pool`: the read threads and decode buffers;
//! - `fetch`: many blobs at once, grouped by pack into few range reads.
//!
//! Writing is the other half, in `crate::writer`.

mod fetch;
mod packs;
mod pool;

pub(crate) use fetch::{fetch_blobs, for_each_blob};

use crate::blob;
use crate::envelope;
use crate::error::{Error, Result};
use crate::id::BlobId;
use crate::repo::Repository;
use crate::tree::{Content, Tree};

impl Repository {
    /// Reads, decrypts and verifies one blob. When a copy fails
    /// verification (or its pack is gone) and the index knows another
    /// copy, that one is tried; the first error is returned if none holds.
    pub fn read_blob(&self, id: &BlobId) -> Result<Vec<u8>> {
        let locations = self.index().locations(id);
        if locations.is_empty() {
            return Err(self.blob_not_found(id));
        }
        let mut first_err = None;
        for loc in locations {
            match self.read_blob_at(id, &loc) {
                Ok(b) => return Ok(b),
                Err(e @ (Error::Corrupt { .. } | Error::NotFound { .. })) => {
                    if first_err.is_some() {
                        tracing::warn!("another copy of blob {id} failed too: {e}");
                    }
                    first_err.get_or_insert(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(first_err.unwrap_or_else(|| self.blob_not_found(id)))
    }

    /// Reads and verifies the copy of a blob at one location.
    pub(crate) fn read_blob_at(
        &self,
        id: &BlobId,
        loc: &crate::index::BlobLocation,
    ) -> Result<Vec<u8>> {
        let range = u64::from(loc.offset)..u64::from(loc.offset) + u64::from(loc.length);
        let sealed = self.read_pack_range(&loc.pack, range)?;
        let what = format!("pack {} (blob {id} at offset {})", loc.pack, loc.offset);
        blob::decode(&self.inner.keys, loc.kind, id, loc.raw_len, &sealed, &what)
    }

    /// True when the copy at `loc` reads back and verifies; false when it
    /// is damaged or gone. Other errors (storage unavailable) are errors.
    pub(crate) fn copy_verifies(
        &self,
        id: &BlobId,
        loc: &crate::index::BlobLocation,
    ) -> Result<bool> {
        match self.read_blob_at(id, loc) {
            Ok(_) => Ok(true),
            Err(e @ (Error::Corrupt { .. } | Error::NotFound { .. })) => {
                tracing::warn!(
                    "copy of blob {id} in pack {} does not verify: {e}",
                    loc.pack
                );
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// The error for a blob the index does not list, pointing at the
    /// damaged index files when there are any.
    pub(crate) fn blob_not_found(&self, id: &BlobId) -> Error {
        let problems = self.index_problems();
        let name = match problems.len() {
            0 => id.to_hex(),
            n => format!(
                "{id} ({n} index file(s) could not be read, so the index is incomplete: \
                 run `cairn check`, then `cairn repair index`)"
            ),
        };
        Error::NotFound {
            kind: "blob".into(),
            name,
        }
    }

    /// Loads a tree blob.
    pub fn load_tree(&self, id: &BlobId) -> Result<Tree> {
        let bytes = self.read_blob(id)?;
        crate::tree::decode_tree(&bytes, &format!("tree {id}"))
    }

    /// Expands a node's content into the full chunk list.
    pub fn chunk_list(&self, content: &Content) -> Result<Vec<BlobId>> {
        match content {
            Content::Inline(ids) => Ok(ids.clone()),
            Content::Indirect(lists) => {
                let mut out = Vec::new();
                for l in lists {
                    let part: Vec<BlobId> =
                        envelope::decode(&self.read_blob(l)?, &format!("chunk list {l}"))?;
                    out.extend(part);
                }
                Ok(out)
            }
        }
    }

    /// Where a blob is stored, if it is.
    pub fn blob_location(&self, id: &BlobId) -> Option<crate::index::BlobLocation> {
        self.index().get(id)
    }
}
