//! The master secret and the subkeys derived from it.

use crate::id::random_bytes;
use serde::{Deserialize, Serialize};

/// The repository's root secret. Whoever holds it can read everything.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterSecret(pub(crate) [u8; 32]);

impl MasterSecret {
    /// A fresh random secret.
    pub fn generate() -> Self {
        MasterSecret(random_bytes())
    }
}

impl std::fmt::Debug for MasterSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterSecret(..)")
    }
}

/// The secret that fixes chunk boundaries and chunk ids.
///
/// It is derived from the master secret at `init` and stored (encrypted) in
/// the config, so that a second repository can be initialised with the same
/// one and share deduplication (for copies to a DR site).
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkingSecret(pub [u8; 32]);

impl std::fmt::Debug for ChunkingSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChunkingSecret(..)")
    }
}

impl ChunkingSecret {
    /// The default chunking secret of a repository with this master secret.
    pub fn derive(master: &MasterSecret) -> Self {
        ChunkingSecret(blake3::derive_key("cairn v1 chunking secret", &master.0))
    }
}

/// All working keys of an open repository.
#[derive(Clone)]
pub struct Keys {
    /// Key of the keyed BLAKE3 that names blobs.
    pub(crate) chunk_id: [u8; 32],
    /// Seed of the FastCDC gear table.
    pub(crate) chunker_seed: u64,
    /// AEAD key of data blobs.
    pub(crate) data: [u8; 32],
    /// AEAD key of metadata: trees, pack headers, index, snapshots, config.
    pub(crate) meta: [u8; 32],
}

impl Keys {
    /// Derives the encryption keys from the master secret and the chunk keys
    /// from the chunking secret.
    pub fn derive(master: &MasterSecret, chunking: &ChunkingSecret) -> Self {
        let seed = blake3::derive_key("cairn v1 chunker seed", &chunking.0);
        let mut seed8 = [0u8; 8];
        seed8.copy_from_slice(&seed[..8]);
        Keys {
            chunk_id: blake3::derive_key("cairn v1 chunk id", &chunking.0),
            chunker_seed: u64::from_le_bytes(seed8),
            data: blake3::derive_key("cairn v1 data blob", &master.0),
            meta: blake3::derive_key("cairn v1 metadata", &master.0),
        }
    }

    /// Keys that only know the metadata key (for reading the config).
    pub(crate) fn meta_only(master: &MasterSecret) -> [u8; 32] {
        blake3::derive_key("cairn v1 metadata", &master.0)
    }

    /// Keyed BLAKE3 of a blob's plaintext: its id.
    pub fn blob_id(&self, plaintext: &[u8]) -> crate::id::BlobId {
        crate::id::BlobId(*blake3::keyed_hash(&self.chunk_id, plaintext).as_bytes())
    }

    /// The metadata key (pack headers, trees, index files), for callers of
    /// the low-level pack API such as [`crate::pack::PackWriter::finish`].
    pub fn meta_key(&self) -> &[u8; 32] {
        &self.meta
    }

    /// The FastCDC seed.
    pub fn chunker_seed(&self) -> u64 {
        self.chunker_seed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_repositories_never_share_chunk_ids() {
        let a = MasterSecret::generate();
        let b = MasterSecret::generate();
        let ka = Keys::derive(&a, &ChunkingSecret::derive(&a));
        let kb = Keys::derive(&b, &ChunkingSecret::derive(&b));
        assert_ne!(ka.blob_id(b"same content"), kb.blob_id(b"same content"));
        assert_ne!(ka.chunker_seed, kb.chunker_seed);
        assert_ne!(ka.data, ka.meta);
    }
}
