//! Retrying transient storage errors with exponential backoff and jitter.

use super::{Backend, FileKind, ObjectInfo};
use crate::error::{Error, Result};
use bytes::Bytes;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

/// Retries [`Error::Unavailable`] (timeouts, throttling, 5xx); every other
/// error (missing object, permission, precondition, corruption) is final.
#[derive(Debug)]
pub struct RetryBackend {
    inner: Arc<dyn Backend>,
    attempts: u32,
    base: Duration,
    max: Duration,
}

impl RetryBackend {
    /// Up to `attempts` tries, backoff from `base`, doubling up to `max`,
    /// each wait randomised to between half and all of it.
    pub fn new(inner: Arc<dyn Backend>, attempts: u32, base: Duration, max: Duration) -> Self {
        RetryBackend {
            inner,
            attempts: attempts.max(1),
            base,
            max,
        }
    }

    /// Defaults for networked stores: 8 tries, 100 ms doubling to 10 s.
    pub fn with_defaults(inner: Arc<dyn Backend>) -> Self {
        Self::new(
            inner,
            8,
            Duration::from_millis(100),
            Duration::from_secs(10),
        )
    }

    fn run<T>(&self, mut f: impl FnMut() -> Result<T>) -> Result<T> {
        let mut delay = self.base;
        let mut attempt = 1;
        loop {
            match f() {
                Err(Error::Unavailable { op, detail, .. }) if attempt < self.attempts => {
                    tracing::warn!(
                        "{op}: {detail}; retrying (attempt {} of {})",
                        attempt + 1,
                        self.attempts
                    );
                    let r: [u8; 4] = crate::id::random_bytes();
                    let frac = 0.5 + f64::from(u32::from_le_bytes(r)) / f64::from(u32::MAX) / 2.0;
                    std::thread::sleep(delay.mul_f64(frac));
                    delay = (delay * 2).min(self.max);
                    attempt += 1;
                }
                Err(Error::Unavailable { op, detail, source }) if self.attempts > 1 => {
                    return Err(Error::Unavailable {
                        op,
                        detail: format!("{detail} (gave up after {} tries)", self.attempts),
                        source,
                    })
                }
                other => return other,
            }
        }
    }
}

impl Backend for RetryBackend {
    fn location(&self) -> String {
        self.inner.location()
    }

    fn create(&self, kind: FileKind, name: &str, data: Bytes) -> Result<()> {
        self.create_parts(kind, name, vec![data])
    }

    fn create_parts(&self, kind: FileKind, name: &str, parts: Vec<Bytes>) -> Result<()> {
        let mut retried = false;
        let r = self.run(|| {
            let r = self.inner.create_parts(kind, name, parts.clone());
            retried |= matches!(r, Err(Error::Unavailable { .. }));
            r
        });
        match r {
            // An earlier attempt may have landed before its answer was lost
            // (names are content hashes or random, so it is ours), or left
            // a partial object: accept it only with the right size.
            Err(Error::AlreadyExists { .. }) if retried => {
                super::create_checked(self, kind, name, parts)
            }
            other => other,
        }
    }

    fn read(&self, kind: FileKind, name: &str) -> Result<Bytes> {
        self.run(|| self.inner.read(kind, name))
    }

    fn read_range(&self, kind: FileKind, name: &str, range: Range<u64>) -> Result<Bytes> {
        self.run(|| self.inner.read_range(kind, name, range.clone()))
    }

    fn list_info(&self, kind: FileKind) -> Result<Vec<ObjectInfo>> {
        self.run(|| self.inner.list_info(kind))
    }

    fn list_leftovers(&self, kind: FileKind) -> Result<Vec<ObjectInfo>> {
        self.run(|| self.inner.list_leftovers(kind))
    }

    fn delete(&self, kind: FileKind, name: &str) -> Result<()> {
        self.run(|| self.inner.delete(kind, name))
    }

    fn size(&self, kind: FileKind, name: &str) -> Result<u64> {
        self.run(|| self.inner.size(kind, name))
    }

    fn concurrency(&self) -> usize {
        self.inner.concurrency()
    }

    fn max_range_read(&self) -> u64 {
        self.inner.max_range_read()
    }
}
