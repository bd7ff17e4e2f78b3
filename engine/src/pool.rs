//! Reusable buffers: chunk buffers for the backup pipeline, decode buffers
//! for restore and dump.
//!
//! Measured need: every chunk used to get a fresh megabyte buffer in an
//! encoder thread, freed later by the upload thread. The allocator kept the
//! freed pages per thread, so peak RSS ended far above the bytes actually in
//! flight (docs/performance.md). Buffers now go back to this pool once their
//! pack is stored and are reused by whichever thread needs one next. Restore
//! had the same churn with its decode buffers; a decoded blob is now a
//! [`Pooled`] that returns its buffer when dropped.

use std::ops::{Deref, Range};
use std::sync::{Arc, Mutex};

/// Buffers smaller than this are ordinary allocations, never pooled.
pub(crate) const MIN_POOLED: usize = 64 * 1024;

/// Pooled capacities are multiples of this, so buffers fit more chunks.
const GRANULE: usize = 256 * 1024;

/// Free buffers kept for reuse, with a bound on their total capacity.
pub(crate) struct BufferPool {
    free: Mutex<Vec<Vec<u8>>>,
    keep_bytes: usize,
}

impl BufferPool {
    /// A pool that keeps at most `keep_bytes` of free capacity.
    pub fn new(keep_bytes: usize) -> Self {
        BufferPool {
            free: Mutex::new(Vec::new()),
            keep_bytes,
        }
    }

    /// An empty buffer with room for at least `n` bytes: the smallest free
    /// one that fits, else a new one.
    pub fn take(&self, n: usize) -> Vec<u8> {
        if n < MIN_POOLED {
            return Vec::with_capacity(n);
        }
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        let best = (0..free.len())
            .filter(|&i| free[i].capacity() >= n)
            .min_by_key(|&i| free[i].capacity());
        if let Some(i) = best {
            return free.swap_remove(i);
        }
        // Nothing fits: retire the largest free buffer, which is too small,
        // so the pool turns over to the sizes now in demand.
        if let Some(i) = (0..free.len()).max_by_key(|&i| free[i].capacity()) {
            free.swap_remove(i);
        }
        drop(free);
        Vec::with_capacity(n.next_multiple_of(GRANULE))
    }

    /// Returns a buffer for reuse (dropped when small or the pool is full).
    pub fn give(&self, mut buf: Vec<u8>) {
        if buf.capacity() < MIN_POOLED {
            return;
        }
        buf.clear();
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        let kept: usize = free.iter().map(Vec::capacity).sum();
        if kept + buf.capacity() <= self.keep_bytes {
            free.push(buf);
        }
    }

    /// Total capacity of the free buffers.
    #[cfg(test)]
    pub(crate) fn kept(&self) -> usize {
        let free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        free.iter().map(Vec::capacity).sum()
    }
}

/// Bytes in a buffer borrowed from a pool, which gets the buffer back when
/// this is dropped.
pub(crate) struct Pooled {
    buf: Vec<u8>,
    range: Range<usize>,
    pool: Arc<BufferPool>,
}

impl Pooled {
    /// `buf[range]`, going back to `pool` when dropped.
    pub fn new(buf: Vec<u8>, range: Range<usize>, pool: &Arc<BufferPool>) -> Self {
        assert!(range.end <= buf.len(), "range inside the buffer");
        Pooled {
            buf,
            range,
            pool: pool.clone(),
        }
    }

    /// The bytes as a plain `Vec`, which no longer goes back to the pool.
    pub fn into_vec(mut self) -> Vec<u8> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.truncate(self.range.end);
        buf.drain(..self.range.start);
        buf
    }

    /// The same buffer, showing `range` of what this showed.
    pub fn narrow(mut self, range: Range<usize>) -> Self {
        let start = self.range.start;
        assert!(
            start + range.end <= self.range.end,
            "range inside the bytes"
        );
        Pooled {
            buf: std::mem::take(&mut self.buf),
            range: start + range.start..start + range.end,
            pool: self.pool.clone(),
        }
    }
}

impl Deref for Pooled {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.buf[self.range.clone()]
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        self.pool.give(std::mem::take(&mut self.buf));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_the_smallest_fitting_buffer() {
        let pool = BufferPool::new(64 << 20);
        let a = pool.take(300 * 1024);
        let b = pool.take(2 << 20);
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        assert!(a.capacity() >= 300 * 1024 && b.capacity() >= 2 << 20);
        pool.give(b);
        pool.give(a);
        // A 200 KiB request fits both; it gets the smaller one.
        let c = pool.take(200 * 1024);
        assert_eq!(c.as_ptr(), pa);
        assert!(c.is_empty());
        let d = pool.take(1 << 20);
        assert_eq!(d.as_ptr(), pb);
        assert_eq!(pool.kept(), 0);
    }

    #[test]
    fn small_buffers_and_overflow_are_not_kept() {
        let pool = BufferPool::new(1 << 20);
        pool.give(Vec::with_capacity(1000));
        assert_eq!(pool.kept(), 0);
        pool.give(pool.take(768 * 1024));
        assert_eq!(pool.kept(), 768 * 1024);
        // A second buffer would pass the 1 MiB bound: dropped.
        pool.give(Vec::with_capacity(512 * 1024));
        assert_eq!(pool.kept(), 768 * 1024);
    }

    #[test]
    fn pooled_bytes_return_their_buffer() {
        let pool = Arc::new(BufferPool::new(4 << 20));
        let mut buf = pool.take(300 * 1024);
        buf.extend((0..300 * 1024).map(|i| i as u8));
        let ptr = buf.as_ptr();
        let p = Pooled::new(buf, 5..10, &pool);
        assert_eq!(&p[..], &[5, 6, 7, 8, 9]);
        assert_eq!(pool.kept(), 0);
        drop(p);
        assert!(pool.kept() >= 300 * 1024);
        assert_eq!(pool.take(1 << 10).capacity(), 1 << 10, "small: not pooled");
        let again = pool.take(200 * 1024);
        assert_eq!(again.as_ptr(), ptr);
    }

    #[test]
    fn a_miss_retires_the_largest_too_small_buffer() {
        let pool = BufferPool::new(64 << 20);
        let (a, b) = (pool.take(256 * 1024), pool.take(512 * 1024));
        pool.give(a);
        pool.give(b);
        let big = pool.take(4 << 20);
        assert!(big.capacity() >= 4 << 20);
        assert_eq!(pool.kept(), 256 * 1024);
    }
}
