//! Accumulates sealed blobs into one pack without copying them.

use super::header::{encode_header, PackBlob, PackHeader, TRAILER_LEN};
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
    /// The pack id: BLAKE3 of the pack's tail (sealed header, its length,
    /// magic), the last part. The sealed header lists every blob's id,
    /// offset and length under a fresh random nonce, so the name is unique
    /// to this pack and commits to its layout; the blob bytes carry their
    /// own AEAD tags. Hashing only the tail saves a pass over every stored
    /// byte (repository-format.md §7).
    pub fn id(&self) -> PackId {
        let tail = self.parts.last().map_or(&[][..], |b| &b[..]);
        PackId(*blake3::hash(tail).as_bytes())
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

/// True when `file` (a whole pack) carries the name `id`: BLAKE3 of its
/// tail, or, for packs written before the tail rule, of the whole file.
pub fn name_matches(id: &PackId, file: &[u8]) -> bool {
    let tail = file.len().checked_sub(TRAILER_LEN).and_then(|t| {
        let h = u32::from_le_bytes(file[t..t + 4].try_into().ok()?) as usize;
        t.checked_sub(h)
    });
    let by_tail = tail.is_some_and(|start| blake3::hash(&file[start..]).as_bytes() == &id.0);
    by_tail || blake3::hash(file).as_bytes() == &id.0
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::BlobId;

    #[test]
    fn id_is_the_hash_of_the_header_and_trailer() {
        let key = [5u8; 32];
        let mut w = PackWriter::new(BlobKind::Data);
        w.add(BlobId([1; 32]), 10, vec![7u8; 100]);
        w.add(BlobId([2; 32]), 20, vec![8u8; 200]);
        let pack = w.finish(&key);
        let file: Vec<u8> = pack.parts.iter().flat_map(|b| b.iter().copied()).collect();
        let h = u32::from_le_bytes(
            file[file.len() - 12..file.len() - 8]
                .try_into()
                .expect("4 bytes"),
        );
        let tail = &file[file.len() - 12 - h as usize..];
        assert_eq!(pack.id(), PackId(*blake3::hash(tail).as_bytes()));
        assert_eq!(
            file.len() - tail.len(),
            300,
            "the tail starts after the blobs"
        );
        // Two packs of the same blobs get different names (fresh nonces).
        let mut w2 = PackWriter::new(BlobKind::Data);
        w2.add(BlobId([1; 32]), 10, vec![7u8; 100]);
        w2.add(BlobId([2; 32]), 20, vec![8u8; 200]);
        assert_ne!(w2.finish(&key).id(), pack.id());
    }

    #[test]
    fn names_by_either_rule_match_and_damage_does_not() {
        let mut w = PackWriter::new(BlobKind::Tree);
        w.add(BlobId([3; 32]), 5, vec![9u8; 64]);
        let pack = w.finish(&[6u8; 32]);
        let mut file: Vec<u8> = pack.parts.iter().flat_map(|b| b.iter().copied()).collect();
        assert!(name_matches(&pack.id(), &file));
        let legacy = PackId(*blake3::hash(&file).as_bytes());
        assert!(name_matches(&legacy, &file));
        assert!(!name_matches(&PackId([0; 32]), &file));
        let n = file.len();
        file[n - 20] ^= 1;
        assert!(!name_matches(&pack.id(), &file), "a flipped header byte");
        assert!(
            !name_matches(&pack.id(), &file[..n - 1]),
            "a truncated pack"
        );
        assert!(!name_matches(&pack.id(), &[]), "an empty file");
    }
}
