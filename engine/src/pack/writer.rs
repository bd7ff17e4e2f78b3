//! Accumulates sealed blobs into one pack without copying them.

use super::header::{encode_header, PackBlob, PackHeader};
use crate::blob::BlobKind;
use crate::id::{BlobId, PackId};
use bytes::Bytes;

/// A pack under construction: the sealed blobs as separate segments.
pub struct PackWriter {
    kind: BlobKind,
    parts: Vec<Bytes>,
    len: usize,
    blobs: Vec<PackBlob>,
}

/// A completed pack, ready to upload.
pub struct FinishedPack {
    /// Kind of all blobs inside.
    pub kind: BlobKind,
    /// The file's bytes, in order: the blobs, then header and trailer.
    pub parts: Vec<Bytes>,
    /// The blobs, for the index.
    pub blobs: Vec<PackBlob>,
}

impl FinishedPack {
    /// The pack id: BLAKE3 of the whole file.
    pub fn id(&self) -> PackId {
        let mut h = blake3::Hasher::new();
        for p in &self.parts {
            h.update(p);
        }
        PackId(*h.finalize().as_bytes())
    }

    /// Total size in bytes.
    pub fn len(&self) -> usize {
        self.parts.iter().map(Bytes::len).sum()
    }

    /// True when the pack has no bytes (never for a finished pack).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl PackWriter {
    /// An empty pack of one kind.
    pub fn new(kind: BlobKind) -> Self {
        PackWriter {
            kind,
            parts: Vec::new(),
            len: 0,
            blobs: Vec::new(),
        }
    }

    /// Bytes of blob data so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no blob was added.
    pub fn is_empty(&self) -> bool {
        self.blobs.is_empty()
    }

    /// Appends one sealed blob.
    pub fn add(&mut self, id: BlobId, raw_len: u32, sealed: Vec<u8>) {
        self.blobs.push(PackBlob {
            id,
            offset: self.len as u32,
            length: sealed.len() as u32,
            raw_len,
        });
        self.len += sealed.len();
        self.parts.push(Bytes::from(sealed));
    }

    /// Appends the header and trailer.
    pub fn finish(mut self, meta_key: &[u8; 32]) -> FinishedPack {
        let header = PackHeader {
            kind: self.kind,
            blobs: self.blobs,
        };
        self.parts
            .push(Bytes::from(encode_header(meta_key, &header)));
        FinishedPack {
            kind: self.kind,
            parts: self.parts,
            blobs: header.blobs,
        }
    }
}
