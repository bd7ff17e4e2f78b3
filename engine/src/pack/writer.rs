//! Accumulates sealed blobs into one pack in memory.

use super::header::{encode_header, PackBlob, PackHeader};
use crate::blob::BlobKind;
use crate::id::{content_hash, BlobId, PackId};

/// A pack under construction.
pub struct PackWriter {
    kind: BlobKind,
    buf: Vec<u8>,
    blobs: Vec<PackBlob>,
}

/// A completed pack, ready to upload.
pub struct FinishedPack {
    /// Content hash of `bytes`.
    pub id: PackId,
    /// Kind of all blobs inside.
    pub kind: BlobKind,
    /// The full file.
    pub bytes: Vec<u8>,
    /// The blobs, for the index.
    pub blobs: Vec<PackBlob>,
}

impl PackWriter {
    /// An empty pack of one kind, with room for `capacity` bytes.
    pub fn new(kind: BlobKind, capacity: usize) -> Self {
        PackWriter {
            kind,
            buf: Vec::with_capacity(capacity),
            blobs: Vec::new(),
        }
    }

    /// Bytes of blob data so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when no blob was added.
    pub fn is_empty(&self) -> bool {
        self.blobs.is_empty()
    }

    /// Appends one sealed blob.
    pub fn add(&mut self, id: BlobId, raw_len: u32, sealed: &[u8]) {
        self.blobs.push(PackBlob {
            id,
            offset: self.buf.len() as u32,
            length: sealed.len() as u32,
            raw_len,
        });
        self.buf.extend_from_slice(sealed);
    }

    /// Writes the header and trailer and names the pack.
    pub fn finish(mut self, meta_key: &[u8; 32]) -> FinishedPack {
        let header = PackHeader {
            kind: self.kind,
            blobs: self.blobs,
        };
        self.buf
            .extend_from_slice(&encode_header(meta_key, &header));
        FinishedPack {
            id: PackId(content_hash(&self.buf)),
            kind: self.kind,
            bytes: self.buf,
            blobs: header.blobs,
        }
    }
}
