//! The repository config: fixed at init, read by every client.

use crate::chunker::ChunkerParams;
use crate::crypto::ChunkingSecret;
use crate::id::RepoId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Current version of the repository format.
pub const FORMAT_VERSION: u32 = 1;

/// Name of the chunking profile used for files.
pub const PROFILE_FILES: &str = "files";
/// Name of the chunking profile used for database dumps.
pub const PROFILE_DATABASE: &str = "database";
/// Name of the chunking profile used for streams of small records (a
/// MongoDB collection's documents). Repositories made before it existed
/// lack it: its users fall back to [`PROFILE_DATABASE`].
pub const PROFILE_DOCUMENTS: &str = "documents";

/// The chunking profiles a new repository gets.
pub fn default_profiles() -> BTreeMap<String, ChunkerParams> {
    let mut profiles = BTreeMap::new();
    profiles.insert(PROFILE_FILES.to_string(), ChunkerParams::files());
    profiles.insert(PROFILE_DATABASE.to_string(), ChunkerParams::database());
    profiles.insert(PROFILE_DOCUMENTS.to_string(), ChunkerParams::documents());
    profiles
}

/// Feature flags a reader must understand to open the repository.
pub const KNOWN_FEATURES: &[&str] = &[];

/// The decrypted contents of the `config` object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// Format version (equal to the envelope version).
    pub version: u32,
    /// Random id of this repository.
    pub id: RepoId,
    /// Mandatory feature flags; a client that does not know one must refuse.
    pub features: Vec<String>,
    /// Secret from which the chunk-id key and the chunker seed are derived.
    pub chunking_secret: ChunkingSecret,
    /// Named chunking profiles.
    pub profiles: BTreeMap<String, ChunkerParams>,
    /// Default zstd level for new blobs (0 = store uncompressed).
    pub compression_level: i32,
    /// Target size of a pack file, in bytes.
    pub pack_size: u32,
    /// Refuse deletions (forget/prune) from every client.
    pub append_only: bool,
}

impl Config {
    /// A new config with the default profiles.
    pub fn new(chunking_secret: ChunkingSecret) -> Self {
        let profiles = default_profiles();
        Config {
            version: FORMAT_VERSION,
            id: RepoId(crate::id::random_bytes()),
            features: Vec::new(),
            chunking_secret,
            profiles,
            compression_level: 3,
            pack_size: 16 * 1024 * 1024,
            append_only: false,
        }
    }

    /// Looks up a chunking profile by name.
    pub fn profile(&self, name: &str) -> crate::Result<ChunkerParams> {
        self.profiles.get(name).copied().ok_or_else(|| {
            crate::Error::invalid(format!(
                "unknown chunking profile {name:?}; this repository has: {}",
                self.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })
    }

    /// Checks values that size allocations and loops before they are used:
    /// a damaged or hostile config is refused, never obeyed.
    pub fn validate(&self) -> crate::Result<()> {
        let bad = |d: String| Err(crate::Error::corrupt("config", d));
        if !(0..=22).contains(&self.compression_level) {
            return bad(format!("compression level {}", self.compression_level));
        }
        if !(1 << 20..=1 << 30).contains(&self.pack_size) {
            return bad(format!("pack size {}", self.pack_size));
        }
        if !self.profiles.contains_key(PROFILE_FILES) {
            return bad("no \"files\" chunking profile".into());
        }
        for (name, p) in &self.profiles {
            if let Err(e) = p.validate() {
                return bad(format!("chunking profile {name:?}: {e}"));
            }
        }
        Ok(())
    }

    /// Largest chunk any profile can produce.
    pub fn max_chunk_size(&self) -> u32 {
        self.profiles
            .values()
            .map(|p| p.max_size)
            .max()
            .unwrap_or(0)
    }
}
