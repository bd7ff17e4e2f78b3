//! Progress reporting shared between an operation and whoever displays it.
//!
//! Operations update the atomic counters as they go. A caller can poll them
//! from its own thread (the CLI renders a bar every 100 ms), or register a
//! listener that the operation calls after each finished file, stream or
//! stored pack. Reading the counters never blocks the operation.

use std::sync::atomic::{AtomicU64, Ordering};

type Listener = Box<dyn Fn(&Progress) + Send + Sync>;

/// Live counters of a long operation.
#[derive(Default)]
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
    listener: Option<Listener>,
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress")
            .field("files", &self.files)
            .field("bytes", &self.bytes)
            .field("bytes_added", &self.bytes_added)
            .field("errors", &self.errors)
            .finish_non_exhaustive()
    }
}

impl Progress {
    /// Counters that also call `listener` after each finished file, stream
    /// or stored pack (from the operation's threads; keep it cheap).
    pub fn with_listener(listener: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        Progress {
            listener: Some(Box::new(listener)),
            ..Progress::default()
        }
    }

    /// Adds to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// Calls the listener, if any.
    pub fn notify(&self) {
        if let Some(l) = &self.listener {
            l(self);
        }
    }
}
