//! Fault injection for tests: a decorator that makes calls fail.

use super::{Backend, FileKind, ObjectInfo};
use crate::error::{Error, Result};
use bytes::Bytes;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Which calls fail, and how.
#[derive(Clone, Debug, Default)]
pub struct FaultPlan {
    /// Fail every call whose 1-based number is a multiple of this.
    pub every_nth: Option<u64>,
    /// Fail each call with this probability (0..=1).
    pub probability: f64,
    /// Seed of the pseudo-random choice (reproducible runs).
    pub seed: u64,
    /// Injected failures are permanent (`Backend`) instead of transient
    /// (`Unavailable`, which a retry decorator retries).
    pub permanent: bool,
    /// Fail every call from this call number on (a storage that went away).
    pub fail_from: Option<u64>,
    /// Sleep before every call.
    pub latency: Option<Duration>,
    /// A failed write first stores the first half of the object (an
    /// interrupted upload on a store whose writes are not atomic).
    pub truncate_writes: bool,
    /// A failed read returns the first half of the data as if complete
    /// (a lying or broken transport) instead of an error.
    pub short_reads: bool,
}

/// Wraps a backend and injects the planned failures. A failed `create`
/// stores nothing, or with `truncate_writes` a partial object.
#[derive(Debug)]
pub struct FaultBackend {
    inner: Arc<dyn Backend>,
    plan: FaultPlan,
    calls: AtomicU64,
    fail_from: AtomicU64,
    rng: Mutex<u64>,
    injected: AtomicU64,
}

impl FaultBackend {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Backend>, plan: FaultPlan) -> Self {
        let seed = plan.seed | 1;
        let fail_from = AtomicU64::new(plan.fail_from.unwrap_or(u64::MAX));
        FaultBackend {
            inner,
            plan,
            calls: AtomicU64::new(0),
            fail_from,
            rng: Mutex::new(seed),
            injected: AtomicU64::new(0),
        }
    }

    /// Makes every call after the next `n` fail (the storage goes away).
    pub fn fail_after(&self, n: u64) {
        self.fail_from
            .store(self.calls.load(Ordering::SeqCst) + n + 1, Ordering::SeqCst);
    }

    /// How many failures were injected so far.
    pub fn injected(&self) -> u64 {
        self.injected.load(Ordering::Relaxed)
    }

    fn roll(&self) -> f64 {
        let mut s = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        (*s >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Decides whether this call fails; `Some(error)` when it does.
    fn roll_fault(&self, op: &str) -> Option<Error> {
        if let Some(d) = self.plan.latency {
            std::thread::sleep(d);
        }
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let fail = self
            .plan
            .every_nth
            .is_some_and(|k| k > 0 && n.is_multiple_of(k))
            || n >= self.fail_from.load(Ordering::SeqCst)
            || (self.plan.probability > 0.0 && self.roll() < self.plan.probability);
        if !fail {
            return None;
        }
        self.injected.fetch_add(1, Ordering::Relaxed);
        let detail = format!("injected fault on call {n}");
        Some(if self.plan.permanent {
            Error::Backend {
                op: op.to_string(),
                detail,
                source: None,
            }
        } else {
            Error::Unavailable {
                op: op.to_string(),
                detail: format!("{detail} (HTTP 503 Slow Down)"),
                source: None,
            }
        })
    }

    fn gate(&self, op: &str) -> Result<()> {
        self.roll_fault(op).map_or(Ok(()), Err)
    }

    /// Runs a read; an injected fault is an error, or with `short_reads`
    /// the first half of the real answer.
    fn gate_read(&self, op: &str, read: impl FnOnce() -> Result<Bytes>) -> Result<Bytes> {
        match self.roll_fault(op) {
            None => read(),
            Some(_) if self.plan.short_reads => read().map(|b| b.slice(..b.len() / 2)),
            Some(e) => Err(e),
        }
    }
}

/// The first half of an object's bytes.
fn first_half(parts: &[Bytes]) -> Bytes {
    let mut whole: Vec<u8> = parts.concat();
    whole.truncate(whole.len() / 2);
    Bytes::from(whole)
}

impl Backend for FaultBackend {
    fn location(&self) -> String {
        self.inner.location()
    }

    fn create(&self, kind: FileKind, name: &str, data: Bytes) -> Result<()> {
        self.create_parts(kind, name, vec![data])
    }

    fn create_parts(&self, kind: FileKind, name: &str, parts: Vec<Bytes>) -> Result<()> {
        match self.roll_fault(&format!("write {} {name}", kind.name())) {
            None => self.inner.create_parts(kind, name, parts),
            Some(e) => {
                if self.plan.truncate_writes {
                    let _ = self.inner.create(kind, name, first_half(&parts));
                }
                Err(e)
            }
        }
    }

    fn read(&self, kind: FileKind, name: &str) -> Result<Bytes> {
        self.gate_read(&format!("read {} {name}", kind.name()), || {
            self.inner.read(kind, name)
        })
    }

    fn read_range(&self, kind: FileKind, name: &str, range: Range<u64>) -> Result<Bytes> {
        self.gate_read(&format!("read {} {name}", kind.name()), || {
            self.inner.read_range(kind, name, range)
        })
    }

    fn size(&self, kind: FileKind, name: &str) -> Result<u64> {
        self.gate(&format!("stat {} {name}", kind.name()))?;
        self.inner.size(kind, name)
    }

    fn list_info(&self, kind: FileKind) -> Result<Vec<ObjectInfo>> {
        self.gate(&format!("list {}", kind.name()))?;
        self.inner.list_info(kind)
    }

    fn list_leftovers(&self, kind: FileKind) -> Result<Vec<ObjectInfo>> {
        self.gate(&format!("list {}", kind.name()))?;
        self.inner.list_leftovers(kind)
    }

    fn delete(&self, kind: FileKind, name: &str) -> Result<()> {
        self.gate(&format!("delete {} {name}", kind.name()))?;
        self.inner.delete(kind, name)
    }

    fn concurrency(&self) -> usize {
        self.inner.concurrency()
    }

    fn max_range_read(&self) -> u64 {
        self.inner.max_range_read()
    }
}
