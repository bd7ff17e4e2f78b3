//! Repository statistics.

use crate::backend::FileKind;
use crate::error::Result;
use crate::repo::Repository;

/// Options for [`Repository::stats`] (none yet).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct StatsOptions {}

/// Sizes and counts of a repository.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct StatsReport {
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
    ///
    /// ```
    /// # fn main() -> cairn::Result<()> {
    /// # use std::sync::Arc;
    /// # let opts = cairn::InitOptions::default().argon2(cairn::Argon2Params::insecure_for_tests());
    /// # let secret = cairn::Secret::passphrase("example");
    /// # let repo = cairn::Repository::init(Arc::new(cairn::ObjectBackend::memory()?), &secret, opts.clone())?;
    /// # let stream = cairn::StreamSource::from_reader("db/dump.sql", &b"CREATE TABLE t();"[..]);
    /// # let first = repo.backup(cairn::BackupOptions::default().streams(vec![stream]))?;
    /// let stats = repo.stats(cairn::StatsOptions::default())?;
    /// assert_eq!(stats.snapshots, 1);
    /// assert!(stats.pack_bytes > 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn stats(&self, _opts: StatsOptions) -> Result<StatsReport> {
        let (snaps, damaged) = self.readable_snapshots()?;
        for e in damaged {
            tracing::warn!("{e}; not counted");
        }
        let packs = self.backend().list(FileKind::Pack)?;
        let idx = self.index();
        let unique = idx.data_raw_bytes();
        let blobs = idx.len() as u64;
        Ok(StatsReport {
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
