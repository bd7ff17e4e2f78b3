//! The read threads and the buffers blobs are decoded into.

use crate::repo::Repository;
use std::sync::Arc;

impl Repository {
    /// The buffers restore and dump decode into.
    pub(crate) fn read_buffers(&self) -> &Arc<crate::pool::BufferPool> {
        &self.inner.read_buffers
    }

    /// Runs `f` on the read pool (parallel range reads are bounded by the
    /// backend's concurrency, and at least the number of cores).
    pub(crate) fn with_read_pool<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let pool = self.inner.read_pool.get_or_init(|| {
            let cores = std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2);
            let n = cores.max(self.inner.backend.concurrency());
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .thread_name(|i| format!("cairn-read-{i}"))
                .build()
                .ok()
        });
        match pool {
            Some(p) => p.install(f),
            None => f(),
        }
    }
}
