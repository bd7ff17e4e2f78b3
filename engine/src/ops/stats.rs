//! Repository statistics.

use crate::backend::FileKind;
use crate::error::Result;
use crate::repo::Repository;

/// Sizes and counts of a repository.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct RepoStats {
    /// Number of snapshots.
    pub snapshots: u64,
    /// Number of pack files.
    pub packs: u64,
    /// Bytes of all pack files (what the repository costs on storage).
    pub pack_bytes: u64,
    /// Indexed blobs (data and tree).
    pub blobs: u64,
    /// Plaintext bytes of all unique data blobs (deduplicated size).
    pub unique_raw_bytes: u64,
    /// Sum of the logical sizes of every snapshot (raw size).
    pub snapshot_raw_bytes: u64,
    /// Bytes the in-memory index uses now.
    pub index_memory_bytes: u64,
    /// Index bytes per blob (entries only; 48 by design).
    pub index_bytes_per_blob: f64,
}

impl Repository {
    /// Computes statistics from the index and snapshot summaries.
    pub fn stats(&self) -> Result<RepoStats> {
        let (snaps, damaged) = self.readable_snapshots()?;
        for e in damaged {
            tracing::warn!("{e}; not counted");
        }
        let packs = self.backend().list(FileKind::Pack)?;
        let idx = self.index();
        let unique = idx.data_raw_bytes();
        let blobs = idx.len() as u64;
        Ok(RepoStats {
            snapshots: snaps.len() as u64,
            packs: packs.len() as u64,
            pack_bytes: packs.iter().map(|(_, s)| s).sum(),
            blobs,
            unique_raw_bytes: unique,
            snapshot_raw_bytes: snaps.iter().map(|(_, s)| s.summary.total_bytes).sum(),
            index_memory_bytes: idx.memory_bytes() as u64,
            index_bytes_per_blob: if blobs == 0 {
                0.0
            } else {
                idx.entry_bytes() as f64 / blobs as f64
            },
        })
    }
}
