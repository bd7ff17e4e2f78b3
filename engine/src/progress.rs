//! Progress counters shared between an operation and whoever displays it.
//!
//! Operations update the atomics as they go; a caller polls them from its
//! own thread (the CLI renders a bar from them every few hundred
//! milliseconds). Reading them never blocks the operation.

use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters of a long operation.
#[derive(Debug, Default)]
pub struct Progress {
    /// Files (or streams) finished.
    pub files: AtomicU64,
    /// Bytes read from sources, or restored.
    pub bytes: AtomicU64,
    /// Total bytes expected, when known (0 = unknown).
    pub total_bytes: AtomicU64,
    /// Total files expected, when known (0 = unknown).
    pub total_files: AtomicU64,
    /// Bytes newly stored in the repository.
    pub bytes_added: AtomicU64,
    /// Entries that failed and were skipped.
    pub errors: AtomicU64,
}

impl Progress {
    /// Adds to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
