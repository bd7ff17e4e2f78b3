//! Bandwidth limits (`--limit-upload`, `--limit-download`): transfers
//! through this wrapper are paced so that, summed over all threads, they
//! do not go faster than the given bytes per second.

use super::{Backend, FileKind, ObjectInfo};
use crate::error::Result;
use bytes::Bytes;
use std::ops::Range;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One direction's pace: when the link is free again.
#[derive(Debug)]
struct Pace {
    bytes_per_sec: u64,
    free_at: Mutex<Instant>,
}

impl Pace {
    fn new(bytes_per_sec: u64) -> Self {
        Pace {
            bytes_per_sec: bytes_per_sec.max(1),
            free_at: Mutex::new(Instant::now()),
        }
    }

    /// Books `bytes` on the link and returns when they are through.
    fn book(&self, bytes: u64) -> Instant {
        let cost = Duration::from_secs_f64(bytes as f64 / self.bytes_per_sec as f64);
        let mut free = self.free_at.lock().unwrap_or_else(|p| p.into_inner());
        let start = (*free).max(Instant::now());
        *free = start + cost;
        *free
    }

    fn wait(&self, bytes: u64) {
        let done = self.book(bytes);
        let now = Instant::now();
        if done > now {
            std::thread::sleep(done - now);
        }
    }
}

/// A backend whose uploads and downloads are limited in bytes per second.
#[derive(Debug)]
pub struct ThrottledBackend {
    inner: Arc<dyn Backend>,
    upload: Option<Pace>,
    download: Option<Pace>,
}

impl ThrottledBackend {
    /// Limits `inner` to `upload` and `download` bytes per second (`None`:
    /// no limit that way).
    pub fn new(inner: Arc<dyn Backend>, upload: Option<u64>, download: Option<u64>) -> Self {
        ThrottledBackend {
            inner,
            upload: upload.map(Pace::new),
            download: download.map(Pace::new),
        }
    }

    fn up(&self, bytes: u64) {
        if let Some(p) = &self.upload {
            p.wait(bytes);
        }
    }

    fn down(&self, bytes: u64) {
        if let Some(p) = &self.download {
            p.wait(bytes);
        }
    }
}

impl Backend for ThrottledBackend {
    fn location(&self) -> String {
        self.inner.location()
    }

    fn create(&self, kind: FileKind, name: &str, data: Bytes) -> Result<()> {
        self.up(data.len() as u64);
        self.inner.create(kind, name, data)
    }

    fn create_parts(&self, kind: FileKind, name: &str, parts: Vec<Bytes>) -> Result<()> {
        self.up(parts.iter().map(|p| p.len() as u64).sum());
        self.inner.create_parts(kind, name, parts)
    }

    fn read(&self, kind: FileKind, name: &str) -> Result<Bytes> {
        let b = self.inner.read(kind, name)?;
        self.down(b.len() as u64);
        Ok(b)
    }

    fn read_range(&self, kind: FileKind, name: &str, range: Range<u64>) -> Result<Bytes> {
        let b = self.inner.read_range(kind, name, range)?;
        self.down(b.len() as u64);
        Ok(b)
    }

    fn list_info(&self, kind: FileKind) -> Result<Vec<ObjectInfo>> {
        self.inner.list_info(kind)
    }

    fn size(&self, kind: FileKind, name: &str) -> Result<u64> {
        self.inner.size(kind, name)
    }

    fn list_leftovers(&self, kind: FileKind) -> Result<Vec<ObjectInfo>> {
        self.inner.list_leftovers(kind)
    }

    fn delete(&self, kind: FileKind, name: &str) -> Result<()> {
        self.inner.delete(kind, name)
    }

    fn concurrency(&self) -> usize {
        self.inner.concurrency()
    }

    fn max_range_read(&self) -> u64 {
        self.inner.max_range_read()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::ObjectBackend;

    #[test]
    fn passes_the_conformance_checks() {
        let inner = Arc::new(ObjectBackend::memory().expect("memory"));
        let t = ThrottledBackend::new(inner, Some(1 << 30), Some(1 << 30));
        crate::backend::conformance::run(&t).expect("conformance");
    }

    #[test]
    fn uploads_from_many_threads_share_one_limit() {
        let inner = Arc::new(ObjectBackend::memory().expect("memory"));
        let t = Arc::new(ThrottledBackend::new(inner, Some(1 << 20), None));
        let started = Instant::now();
        let threads: Vec<_> = (0..4)
            .map(|i| {
                let t = t.clone();
                std::thread::spawn(move || {
                    let data = Bytes::from(vec![0u8; 256 << 10]);
                    t.create(FileKind::Pack, &format!("{i:064x}"), data)
                })
            })
            .collect();
        for th in threads {
            th.join().expect("thread").expect("create");
        }
        // 1 MiB at 1 MiB/s: about a second however the threads interleave
        // (a lower bound: a limit must never be exceeded).
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(950), "took {took:?}");
        assert_eq!(t.list(FileKind::Pack).expect("list").len(), 4);
    }
}
