//! Index files: written after the packs they describe.

use crate::blob::BlobKind;
use crate::id::{IndexId, PackId};
use crate::pack::PackBlob;
use serde::{Deserialize, Serialize};

/// Version of the index file structure.
pub const INDEX_VERSION: u32 = 1;

/// One pack's entry in an index file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexPack {
    /// Pack id.
    pub id: PackId,
    /// Kind of all its blobs.
    pub kind: BlobKind,
    /// Full size of the pack file in bytes.
    pub size: u64,
    /// Its blobs.
    pub blobs: Vec<PackBlob>,
}

/// Decrypted contents of an index file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexFile {
    /// Index files this one replaces (written by repair and prune; they
    /// are deleted only after this one is stored).
    pub supersedes: Vec<IndexId>,
    /// Packs described here.
    pub packs: Vec<IndexPack>,
}

impl IndexFile {
    /// Number of blobs listed.
    pub fn blob_count(&self) -> usize {
        self.packs.iter().map(|p| p.blobs.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::{self, EnvelopeKind};
    use crate::id::BlobId;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trip(n_packs in 0usize..5, n_blobs in 0usize..20, seed in any::<u8>()) {
            let packs = (0..n_packs).map(|p| IndexPack {
                id: PackId([p as u8 ^ seed; 32]),
                kind: if p % 2 == 0 { BlobKind::Data } else { BlobKind::Tree },
                size: 1000 + p as u64,
                blobs: (0..n_blobs).map(|b| PackBlob {
                    id: BlobId([b as u8; 32]), offset: b as u32 * 10, length: 10, raw_len: 7,
                }).collect(),
            }).collect();
            let f = IndexFile { supersedes: vec![IndexId([seed; 32])], packs };
            let bytes = envelope::seal(EnvelopeKind::Index, INDEX_VERSION, &[5; 32], &f);
            let back: IndexFile = envelope::open(EnvelopeKind::Index, INDEX_VERSION, &[5; 32], &bytes, "i").expect("opens");
            prop_assert_eq!(back, f);
        }
    }
}
