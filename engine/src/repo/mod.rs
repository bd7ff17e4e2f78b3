//! The repository handle: what one open repository holds, and its
//! accessors. Each concern lives in its own file:
//!
//! - `open`: init and open (config, key slots, features).
//! - `index_state`: loading and refreshing the in-memory index.
//! - `plans`: deletion plans, as the index and prune see them.
//! - `snapshots`: snapshot files, listing and resolving.
//! - `file`: the typed repository-file trait and its one load/save path.
//!
//! Reading blobs and packs is in `crate::reader`, writing them in
//! `crate::writer`; operations are in `crate::ops`.

mod file;
mod index_state;
mod open;
mod plans;
mod snapshots;

pub use open::{InitOptions, OpenOptions};
pub use snapshots::SnapshotList;

use crate::backend::Backend;
use crate::config::Config;
use crate::crypto::{Keys, MasterSecret};
use crate::error::{Error, Result};
use crate::id::KeyId;
use crate::index::MemIndex;
use std::sync::{Arc, RwLock};

/// Free decode buffers a repository keeps for reuse: a few blobs per
/// read thread at the default 1 MiB chunk size.
const READ_BUFFERS_KEPT: usize = 16 << 20;

pub(crate) struct Inner {
    pub backend: Arc<dyn Backend>,
    pub config: Config,
    pub keys: Keys,
    pub master: MasterSecret,
    pub key_id: KeyId,
    pub append_only_slot: bool,
    pub index: RwLock<MemIndex>,
    /// Threads for parallel reads: as many as the backend wants requests
    /// in flight (S3) or as there are cores (local), created on first use.
    pub read_pool: std::sync::OnceLock<Option<rayon::ThreadPool>>,
    /// Buffers that restore and dump decode blobs into, reused across
    /// blobs so the read threads do not churn the allocator.
    pub read_buffers: Arc<crate::pool::BufferPool>,
    /// Index files that could not be read at the last load.
    pub index_problems: std::sync::Mutex<Vec<String>>,
    /// Deletion plans already applied to the index.
    pub plans_seen: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Index files loaded into the index.
    pub index_files: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Deletion plans that could not be read.
    pub plan_problems: std::sync::Mutex<Vec<String>>,
}

/// An open repository. Cheap to clone; all clones share the index.
#[derive(Clone)]
pub struct Repository {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Repository {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Repository({})", self.inner.backend.location())
    }
}

impl Repository {
    fn assemble(
        backend: Arc<dyn Backend>,
        config: Config,
        keys: Keys,
        master: MasterSecret,
        key_id: (KeyId, bool),
        index: MemIndex,
    ) -> Self {
        Repository {
            inner: Arc::new(Inner {
                backend,
                config,
                keys,
                master,
                key_id: key_id.0,
                append_only_slot: key_id.1,
                index: RwLock::new(index),
                plans_seen: std::sync::Mutex::new(std::collections::HashSet::new()),
                index_files: std::sync::Mutex::new(std::collections::HashSet::new()),
                plan_problems: std::sync::Mutex::new(Vec::new()),
                index_problems: std::sync::Mutex::new(Vec::new()),
                read_pool: std::sync::OnceLock::new(),
                read_buffers: Arc::new(crate::pool::BufferPool::new(READ_BUFFERS_KEPT)),
            }),
        }
    }

    /// True when this session may not delete anything: the repository's
    /// config or the key slot it was opened with is append-only.
    pub fn append_only(&self) -> bool {
        self.inner.config.append_only || self.inner.append_only_slot
    }

    /// Fails with [`Error::AppendOnly`] in append-only sessions.
    pub(crate) fn ensure_may_delete(&self, what: &str) -> Result<()> {
        if self.append_only() {
            return Err(Error::AppendOnly(what.to_string()));
        }
        Ok(())
    }

    pub(crate) fn index(&self) -> std::sync::RwLockReadGuard<'_, MemIndex> {
        self.inner.index.read().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn index_mut(&self) -> std::sync::RwLockWriteGuard<'_, MemIndex> {
        self.inner.index.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The decrypted config.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The storage backend.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.inner.backend
    }

    /// The working keys.
    pub fn keys(&self) -> &Keys {
        &self.inner.keys
    }

    /// Id of the key slot this session was opened with.
    pub fn key_id(&self) -> KeyId {
        self.inner.key_id
    }

    /// Number of blobs in the in-memory index.
    pub fn stats_index_len(&self) -> usize {
        self.index().len()
    }

    /// Number of packs in the in-memory index.
    pub fn stats_pack_count(&self) -> usize {
        self.index().pack_count()
    }
}
