//! The async bridge: a private Tokio runtime that runs `object_store`
//! futures for the synchronous [`super::Backend`] trait (used by
//! `ObjectBackend` and reused by the S3 bucket adapter).

use crate::error::{Error, Result};
use std::future::Future;

/// A private Tokio runtime that runs `object_store` futures for
/// synchronous callers. Safe to call from plain threads and from inside
/// another Tokio runtime: futures are spawned here and awaited through a
/// std channel, and the runtime is shut down in the background on drop.
pub struct AsyncBridge {
    runtime: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for AsyncBridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AsyncBridge")
    }
}

impl Drop for AsyncBridge {
    fn drop(&mut self) {
        // Dropping a runtime inside another runtime panics; this does not.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl AsyncBridge {
    /// A runtime with `threads` worker threads.
    pub fn new(threads: usize) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("cairn-io")
            .enable_all()
            .build()
            .map_err(|e| Error::backend("start I/O runtime", e))?;
        Ok(AsyncBridge {
            runtime: Some(runtime),
        })
    }

    /// Runs a future to completion on the bridge's runtime.
    pub fn run<T: Send + 'static>(
        &self,
        fut: impl Future<Output = T> + Send + 'static,
    ) -> Result<T> {
        let rt = self
            .runtime
            .as_ref()
            .ok_or_else(|| Error::internal("storage I/O runtime shut down"))?;
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        rt.spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv()
            .map_err(|_| Error::internal("a storage I/O task was cancelled"))
    }

    /// Enters the runtime's context (for APIs that spawn tasks themselves).
    pub fn enter(&self) -> Option<tokio::runtime::EnterGuard<'_>> {
        self.runtime.as_ref().map(|r| r.enter())
    }
}
