//! Progress reporting shared between an operation and whoever displays it.
//!
//! Operations update the atomic counters as they go. A caller can poll them
//! from its own thread (the CLI renders a bar every 100 ms), or register a
//! listener that the operation calls after each finished file, stream or
//! stored pack. Reading the counters never blocks the operation.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

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
    /// The scan for the totals has finished: they are final.
    pub totals_final: AtomicBool,
    listener: Option<Listener>,
    /// Keep [`Progress::in_flight`] (off by default: it costs a lock per
    /// file).
    track: AtomicBool,
    in_flight: Mutex<BTreeSet<String>>,
}

/// A file being read; dropping it takes the file off the list.
pub struct InFlight<'a> {
    progress: &'a Progress,
    name: String,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.progress.lock_in_flight().remove(&self.name);
    }
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

    /// Starts keeping the names of the files being read.
    pub fn track_in_flight(&self) {
        self.track.store(true, Ordering::Relaxed);
    }

    /// Notes that `name` is being read, until the guard is dropped; `None`
    /// unless [`Progress::track_in_flight`] was called.
    pub fn file_started(&self, name: &std::path::Path) -> Option<InFlight<'_>> {
        if !self.track.load(Ordering::Relaxed) {
            return None;
        }
        let name = name.display().to_string();
        self.lock_in_flight().insert(name.clone());
        Some(InFlight {
            progress: self,
            name,
        })
    }

    /// Up to `n` of the files being read now, in name order.
    pub fn in_flight(&self, n: usize) -> Vec<String> {
        self.lock_in_flight().iter().take(n).cloned().collect()
    }

    fn lock_in_flight(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        self.in_flight.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Calls the listener, if any.
    pub fn notify(&self) {
        if let Some(l) = &self.listener {
            l(self);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_in_flight_are_listed_only_while_read_and_only_when_tracked() {
        let p = Progress::default();
        assert!(p.file_started(std::path::Path::new("/a")).is_none());
        p.track_in_flight();
        let a = p.file_started(std::path::Path::new("/a"));
        let b = p.file_started(std::path::Path::new("/b"));
        assert_eq!(p.in_flight(5), ["/a", "/b"]);
        drop(a);
        assert_eq!(p.in_flight(5), ["/b"]);
        drop(b);
        assert!(p.in_flight(5).is_empty());
    }
}
