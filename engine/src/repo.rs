//! The repository: open/init, keys, and typed access to stored objects.

use crate::backend::{Backend, FileKind};
use crate::blob;
use crate::config::{Config, FORMAT_VERSION, KNOWN_FEATURES};
use crate::crypto::{Argon2Params, ChunkingSecret, Keys, MasterSecret};
use crate::envelope::{self, EnvelopeKind};
use crate::error::{Error, Result};
use crate::id::{content_hash, BlobId, IndexId, KeyId, SnapshotId};
use crate::index::{IndexFile, MemIndex, INDEX_VERSION};
use crate::keyslot::{KeySlot, Secret};
use crate::snapshot::{Snapshot, SNAPSHOT_VERSION};
use crate::tree::{Content, Tree};
use bytes::Bytes;
use rayon::prelude::*;
use std::ops::Range;
use std::sync::{Arc, RwLock};

/// Options for [`Repository::init`].
#[derive(Clone, Debug)]
pub struct InitOptions {
    /// Argon2id cost for passphrase slots.
    pub argon2: Argon2Params,
    /// Label of the first key slot.
    pub label: String,
    /// zstd level for new blobs (0 = none).
    pub compression_level: i32,
    /// Override the chunking profiles (name → params).
    pub profiles: Option<std::collections::BTreeMap<String, crate::chunker::ChunkerParams>>,
    /// Target pack size in bytes.
    pub pack_size: u32,
    /// Reuse another repository's chunking secret so dedup carries across.
    pub chunking_secret: Option<ChunkingSecret>,
    /// Forbid deletions (forget, prune, key removal) for every client.
    pub append_only: bool,
}

impl Default for InitOptions {
    fn default() -> Self {
        InitOptions {
            argon2: Argon2Params::default(),
            label: String::new(),
            compression_level: 3,
            profiles: None,
            pack_size: 16 * 1024 * 1024,
            chunking_secret: None,
            append_only: false,
        }
    }
}

/// Options for [`Repository::open_with`].
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct OpenOptions {
    /// Id (or prefix) of the key slot to try first, without the cost
    /// limits that apply to other slots (see [`crate::unlock`]).
    pub key_hint: Option<String>,
}

impl OpenOptions {
    /// Tries the slot whose id starts with `hint` first.
    pub fn key_hint(mut self, hint: impl Into<String>) -> Self {
        self.key_hint = Some(hint.into());
        self
    }
}

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

/// The error for a location without `config`: nothing there, or a
/// repository that lost its config (which `init` must not paper over).
fn missing_config(backend: &dyn Backend) -> Error {
    let holds = |kind| backend.list(kind).map(|l| !l.is_empty()).unwrap_or(false);
    if holds(FileKind::Key) || holds(FileKind::Snapshot) || holds(FileKind::Index) {
        return Error::corrupt(
            "config",
            format!(
                "missing at {}, which holds key slots, index files or snapshots: the \
                 repository is damaged; restore `config` from a copy (running init here \
                 is refused)",
                backend.location()
            ),
        );
    }
    Error::RepositoryNotFound(backend.location())
}

/// Snapshots with their ids, oldest first.
pub type SnapshotList = Vec<(SnapshotId, Snapshot)>;

fn is_known_feature(f: &str) -> bool {
    KNOWN_FEATURES.contains(&f)
}

impl Repository {
    /// Creates a repository with a new master secret and one key slot.
    pub fn init(backend: Arc<dyn Backend>, secret: &Secret, opts: InitOptions) -> Result<Self> {
        match backend.read(FileKind::Config, "") {
            Ok(_) => {
                return Err(Error::invalid(format!(
                    "a repository already exists at {}",
                    backend.location()
                )))
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
        if let e @ Error::Corrupt { .. } = missing_config(backend.as_ref()) {
            return Err(e);
        }
        let master = MasterSecret::generate();
        let chunking = opts
            .chunking_secret
            .unwrap_or_else(|| ChunkingSecret::derive(&master));
        let mut config = Config::new(chunking);
        config.compression_level = opts.compression_level;
        config.append_only = opts.append_only;
        config.pack_size = opts.pack_size.clamp(1 << 20, 1 << 30);
        if !(0..=22).contains(&opts.compression_level) {
            return Err(Error::invalid(format!(
                "compression level {} is out of range 0..=22",
                opts.compression_level
            )));
        }
        if let Some(p) = opts.profiles {
            for params in p.values() {
                params.validate()?;
            }
            if !p.contains_key(crate::config::PROFILE_FILES) {
                return Err(Error::invalid("chunking profiles must include \"files\""));
            }
            config.profiles = p;
        }
        let slot = KeySlot::create(&master, secret, opts.argon2, &opts.label, false)?;
        let key_id = KeyId(crate::id::random_bytes());
        // Key first, config last: a repository without config does not exist.
        backend.create(
            FileKind::Key,
            &key_id.to_hex(),
            Bytes::from(slot.to_bytes()),
        )?;
        let meta = Keys::meta_only(&master);
        let bytes = envelope::seal(EnvelopeKind::Config, FORMAT_VERSION, &meta, &config);
        backend.create(FileKind::Config, "", Bytes::from(bytes))?;
        let keys = Keys::derive(&master, &config.chunking_secret);
        Ok(Self::assemble(
            backend,
            config,
            keys,
            master,
            (key_id, false),
            MemIndex::new(),
        ))
    }

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

    /// Opens a repository with a secret that one of its key slots accepts,
    /// and loads the index.
    pub fn open(backend: Arc<dyn Backend>, secret: &Secret) -> Result<Self> {
        Self::open_with(backend, secret, &OpenOptions::default())
    }

    /// As [`Repository::open`], with options (a key slot hint).
    pub fn open_with(
        backend: Arc<dyn Backend>,
        secret: &Secret,
        opts: &OpenOptions,
    ) -> Result<Self> {
        let location = backend.location();
        let raw = match backend.read(FileKind::Config, "") {
            Ok(b) => b,
            Err(e) if e.is_not_found() => return Err(missing_config(backend.as_ref())),
            Err(e) => return Err(e),
        };
        if raw.len() < 4 || &raw[..3] != envelope::MAGIC || raw[3] != b'C' {
            return Err(Error::NotARepository(
                location,
                "its config object is not a cairn config".into(),
            ));
        }
        envelope::check_header(EnvelopeKind::Config, FORMAT_VERSION, &raw, "config")?;
        let unlocked = crate::unlock::unlock(backend.as_ref(), secret, opts.key_hint.as_deref())?;
        let (key_id, master) = ((unlocked.key_id, unlocked.append_only), unlocked.master);
        let meta = Keys::meta_only(&master);
        let config: Config =
            envelope::open(EnvelopeKind::Config, FORMAT_VERSION, &meta, &raw, "config")?;
        if config.version != FORMAT_VERSION {
            return Err(Error::corrupt(
                "config",
                format!(
                    "config says version {} inside a version {FORMAT_VERSION} envelope",
                    config.version
                ),
            ));
        }
        config.validate()?;
        if let Some(f) = config.features.iter().find(|f| !is_known_feature(f)) {
            return Err(Error::UnsupportedVersion {
                what: format!("repository (mandatory feature {f:?} unknown to this build)"),
                found: config.version,
                supported: FORMAT_VERSION,
            });
        }
        let keys = Keys::derive(&master, &config.chunking_secret);
        let repo = Self::assemble(backend, config, keys, master, key_id, MemIndex::new());
        repo.reload_index()?;
        Ok(repo)
    }

    /// Reads every index file, and every deletion plan, into the
    /// in-memory index. Blobs of planned packs stay readable but are never
    /// used for deduplication.
    ///
    /// Plans are listed before index files: a plan swept between the two
    /// listings had its packs dropped from the index files first, so no
    /// pack a writer could use is missed either way.
    pub fn reload_index(&self) -> Result<()> {
        let plans = self.plans()?;
        let names = self.inner.backend.list(FileKind::Index)?;
        let loaded: Vec<Result<IndexFile>> = names
            .par_iter()
            .map(|(name, _)| self.load_index_file(&IndexId::from_hex(name)?))
            .collect();
        let mut files = Vec::new();
        let mut problems = Vec::new();
        for r in loaded {
            match r {
                Ok(f) => files.push(f),
                // A damaged index file makes its blobs unknown (reads name
                // them as missing); `check` reports it, `repair index`
                // rebuilds it, and prune refuses to run until then.
                Err(
                    e @ (Error::Corrupt { .. }
                    | Error::UnsupportedVersion { .. }
                    | Error::NotFound { .. }),
                ) => problems.push(e.to_string()),
                Err(e) => return Err(e),
            }
        }
        *self
            .inner
            .index_problems
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = problems;
        let mut idx = MemIndex::new();
        for f in files {
            for p in f.packs {
                idx.add_pack(p.id, p.kind, p.size, &p.blobs);
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (name, plan) in plans {
            for p in plan.packs {
                idx.add_doomed_pack(p.id, p.kind, p.size, &p.blobs);
            }
            seen.insert(name);
        }
        idx.compact();
        *self.index_mut() = idx;
        *self
            .inner
            .index_files
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = names.into_iter().map(|(n, _)| n).collect();
        *self
            .inner
            .plans_seen
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = seen;
        Ok(())
    }

    /// Brings the index up to date for a writer that has just stored its
    /// session marker: applies deletion plans written since the index was
    /// loaded, then loads new index files (all of them again when one that
    /// was loaded is gone: a prune rewrote the index, and packs it listed
    /// may be deleted). Plans come first, for the reason given at
    /// [`Repository::reload_index`].
    pub fn prepare_to_write(&self) -> Result<()> {
        self.refresh_plans()?;
        let names = self.inner.backend.list(FileKind::Index)?;
        let new: Vec<String> = {
            let known = self
                .inner
                .index_files
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let now: std::collections::HashSet<&String> = names.iter().map(|(n, _)| n).collect();
            if known.iter().any(|n| !now.contains(n)) {
                drop(known);
                return self.reload_index();
            }
            names
                .iter()
                .map(|(n, _)| n.clone())
                .filter(|n| !known.contains(n))
                .collect()
        };
        for name in new {
            let file = match self.load_index_file(&IndexId::from_hex(&name)?) {
                Ok(f) => f,
                Err(e) if e.is_not_found() => return self.reload_index(),
                Err(e) => return Err(e),
            };
            let mut idx = self.index_mut();
            for p in file.packs {
                idx.add_pack(p.id, p.kind, p.size, &p.blobs);
            }
            drop(idx);
            self.inner
                .index_files
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(name);
        }
        Ok(())
    }

    /// Applies deletion plans written since the index was loaded (backups
    /// call this after writing their session marker).
    pub fn refresh_plans(&self) -> Result<()> {
        let listed = self.inner.backend.list(FileKind::Plan)?;
        let mut seen = self
            .inner
            .plans_seen
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for (name, _) in listed {
            if seen.contains(&name) {
                continue;
            }
            let plan = match self.load_plan(&name) {
                Ok(p) => p,
                // Swept since the listing: its packs may be gone while our
                // index still lists them live. Start over from storage,
                // whose index files no longer name them.
                Err(e) if e.is_not_found() => {
                    drop(seen);
                    return self.reload_index();
                }
                // A plan that cannot be read names packs no index file
                // lists any more (prune rewrote the index after storing
                // it), so nothing here could use them: note it and go on.
                Err(e @ (Error::Corrupt { .. } | Error::UnsupportedVersion { .. })) => {
                    self.note_plan_problem(e.to_string());
                    seen.insert(name);
                    continue;
                }
                Err(e) => return Err(e),
            };
            let mut idx = self.index_mut();
            for p in &plan.packs {
                idx.add_doomed_pack(p.id, p.kind, p.size, &p.blobs);
            }
            seen.insert(name);
        }
        Ok(())
    }

    /// All readable deletion plans. A plan swept between the listing and
    /// the read is skipped: its packs are gone, or listed again in an index
    /// file. A damaged plan is skipped too and named by
    /// [`Repository::plan_problems`]: prune then refuses to run, and
    /// `repair index` indexes its packs again and removes it.
    pub fn plans(&self) -> Result<Vec<(String, crate::gc::Plan)>> {
        let names = self.inner.backend.list(FileKind::Plan)?;
        let loaded: Vec<Result<Option<(String, crate::gc::Plan)>>> = names
            .par_iter()
            .map(|(n, _)| match self.load_plan(n) {
                Ok(p) => Ok(Some((n.clone(), p))),
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(e),
            })
            .collect();
        let mut out = Vec::new();
        let mut problems = Vec::new();
        for r in loaded {
            match r {
                Ok(Some(p)) => out.push(p),
                Ok(None) => {}
                Err(e @ (Error::Corrupt { .. } | Error::UnsupportedVersion { .. })) => {
                    problems.push(e.to_string())
                }
                Err(e) => return Err(e),
            }
        }
        *self
            .inner
            .plan_problems
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = problems;
        Ok(out)
    }

    /// Deletion plans that could not be read at the last listing.
    pub fn plan_problems(&self) -> Vec<String> {
        self.inner
            .plan_problems
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn note_plan_problem(&self, p: String) {
        let mut v = self
            .inner
            .plan_problems
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if !v.contains(&p) {
            v.push(p);
        }
    }

    /// Loads one deletion plan.
    pub fn load_plan(&self, name: &str) -> Result<crate::gc::Plan> {
        let bytes = self.inner.backend.read(FileKind::Plan, name)?;
        envelope::open(
            EnvelopeKind::Plan,
            crate::gc::PLAN_VERSION,
            &self.inner.keys.meta,
            &bytes,
            &format!("deletion plan {name}"),
        )
    }

    /// Stores a deletion plan; returns its name.
    pub fn save_plan(&self, plan: &crate::gc::Plan) -> Result<String> {
        let bytes = envelope::seal(
            EnvelopeKind::Plan,
            crate::gc::PLAN_VERSION,
            &self.inner.keys.meta,
            plan,
        );
        let name = hex::encode(content_hash(&bytes));
        self.create_idempotent(FileKind::Plan, &name, bytes)?;
        Ok(name)
    }

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

    /// Index files that could not be read at the last load (empty when
    /// the index is sound).
    pub fn index_problems(&self) -> Vec<String> {
        self.inner
            .index_problems
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// True when this session may not delete anything: the repository's
    /// config or the key slot it was opened with is append-only.
    pub fn append_only(&self) -> bool {
        self.inner.config.append_only || self.inner.append_only_slot
    }

    /// Fails with [`Error::AppendOnly`] in append-only sessions.
    pub fn ensure_may_delete(&self, what: &str) -> Result<()> {
        if self.append_only() {
            return Err(Error::AppendOnly(what.to_string()));
        }
        Ok(())
    }

    /// Loads and decrypts one index file.
    pub fn load_index_file(&self, id: &IndexId) -> Result<IndexFile> {
        let bytes = self.inner.backend.read(FileKind::Index, &id.to_hex())?;
        if content_hash(&bytes) != id.0 {
            return Err(Error::corrupt(
                format!("index {id}"),
                "content does not match its name",
            ));
        }
        envelope::open(
            EnvelopeKind::Index,
            INDEX_VERSION,
            &self.inner.keys.meta,
            &bytes,
            &format!("index {id}"),
        )
    }

    /// Stores an index file. Its packs must already be stored.
    pub fn save_index_file(&self, file: &IndexFile) -> Result<IndexId> {
        let bytes = envelope::seal(
            EnvelopeKind::Index,
            INDEX_VERSION,
            &self.inner.keys.meta,
            file,
        );
        let id = IndexId(content_hash(&bytes));
        self.create_idempotent(FileKind::Index, &id.to_hex(), bytes)?;
        self.inner
            .index_files
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.to_hex());
        Ok(id)
    }

    /// Content-addressed create: an existing object with the same name and
    /// size has the same content, so `AlreadyExists` is success; a partial
    /// leftover is replaced.
    pub(crate) fn create_idempotent(
        &self,
        kind: FileKind,
        name: &str,
        bytes: Vec<u8>,
    ) -> Result<()> {
        crate::backend::create_checked(
            self.inner.backend.as_ref(),
            kind,
            name,
            vec![Bytes::from(bytes)],
        )
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

    /// Stores a snapshot. Its trees and index files must already be stored.
    pub fn save_snapshot(&self, snap: &Snapshot) -> Result<SnapshotId> {
        let bytes = envelope::seal(
            EnvelopeKind::Snapshot,
            SNAPSHOT_VERSION,
            &self.inner.keys.meta,
            snap,
        );
        let id = SnapshotId(content_hash(&bytes));
        self.create_idempotent(FileKind::Snapshot, &id.to_hex(), bytes)?;
        Ok(id)
    }

    /// Loads one snapshot.
    pub fn load_snapshot(&self, id: &SnapshotId) -> Result<Snapshot> {
        let bytes = self.inner.backend.read(FileKind::Snapshot, &id.to_hex())?;
        if content_hash(&bytes) != id.0 {
            return Err(Error::corrupt(
                format!("snapshot {id}"),
                "content does not match its name",
            ));
        }
        envelope::open(
            EnvelopeKind::Snapshot,
            SNAPSHOT_VERSION,
            &self.inner.keys.meta,
            &bytes,
            &format!("snapshot {id}"),
        )
    }

    /// All snapshots, oldest first. One unreadable snapshot fails the
    /// whole call: deciding what to delete needs every snapshot.
    pub fn snapshots(&self) -> Result<Vec<(SnapshotId, Snapshot)>> {
        let (all, mut damaged) = self.readable_snapshots()?;
        match damaged.is_empty() {
            true => Ok(all),
            false => Err(damaged.swap_remove(0)),
        }
    }

    /// The snapshots that can be read, oldest first, and the errors of
    /// those that cannot (each names its snapshot). For listing and
    /// restoring from a partly damaged repository.
    pub fn readable_snapshots(&self) -> Result<(SnapshotList, Vec<Error>)> {
        let names = self.inner.backend.list(FileKind::Snapshot)?;
        let loaded: Vec<Result<(SnapshotId, Snapshot)>> = names
            .par_iter()
            .map(|(n, _)| {
                let id = SnapshotId::from_hex(n)?;
                Ok((id, self.load_snapshot(&id)?))
            })
            .collect();
        let mut all = Vec::with_capacity(loaded.len());
        let mut damaged = Vec::new();
        for r in loaded {
            match r {
                Ok(s) => all.push(s),
                Err(e @ (Error::Corrupt { .. } | Error::UnsupportedVersion { .. })) => {
                    damaged.push(e)
                }
                Err(e) => return Err(e),
            }
        }
        all.sort_by(|a, b| a.1.time_ns.cmp(&b.1.time_ns).then(a.0.cmp(&b.0)));
        Ok((all, damaged))
    }

    /// Resolves `latest`, `latest~N` (the N-th before the newest), a full
    /// id, or an unambiguous id prefix.
    pub fn resolve_snapshot(&self, spec: &str) -> Result<SnapshotId> {
        if let Some(rest) = spec.strip_prefix("latest") {
            let back: usize = match rest.strip_prefix('~') {
                None if rest.is_empty() => 0,
                Some(n) => n
                    .parse()
                    .map_err(|_| Error::invalid(format!("bad snapshot spec {spec:?}")))?,
                None => return Err(Error::invalid(format!("bad snapshot spec {spec:?}"))),
            };
            let (snaps, damaged) = self.readable_snapshots()?;
            for e in &damaged {
                tracing::warn!("skipped while resolving {spec}: {e}");
            }
            return snaps
                .len()
                .checked_sub(back + 1)
                .map(|i| snaps[i].0)
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "{spec}: the repository has only {} snapshots",
                        snaps.len()
                    ))
                });
        }
        let spec_l = spec.to_ascii_lowercase();
        let hits: Vec<String> = self
            .inner
            .backend
            .list(FileKind::Snapshot)?
            .into_iter()
            .map(|(n, _)| n)
            .filter(|n| n.starts_with(&spec_l))
            .collect();
        match hits.as_slice() {
            [one] => SnapshotId::from_hex(one),
            [] => Err(Error::NotFound {
                kind: "snapshot".into(),
                name: spec.into(),
            }),
            _ => Err(Error::invalid(format!(
                "snapshot prefix {spec:?} is ambiguous ({} matches)",
                hits.len()
            ))),
        }
    }

    /// Reads, decrypts and verifies one blob. When a copy fails
    /// verification (or its pack is gone) and the index knows another
    /// copy, that one is tried; the first error is returned if none holds.
    pub fn read_blob(&self, id: &BlobId) -> Result<Vec<u8>> {
        let locations = self.index().locations(id);
        if locations.is_empty() {
            return Err(self.blob_not_found(id));
        }
        let mut first_err = None;
        for loc in locations {
            match self.read_blob_at(id, &loc) {
                Ok(b) => return Ok(b),
                Err(e @ (Error::Corrupt { .. } | Error::NotFound { .. })) => {
                    if first_err.is_some() {
                        tracing::warn!("another copy of blob {id} failed too: {e}");
                    }
                    first_err.get_or_insert(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(first_err.unwrap_or_else(|| self.blob_not_found(id)))
    }

    /// Reads and verifies the copy of a blob at one location.
    pub(crate) fn read_blob_at(
        &self,
        id: &BlobId,
        loc: &crate::index::BlobLocation,
    ) -> Result<Vec<u8>> {
        let range = u64::from(loc.offset)..u64::from(loc.offset) + u64::from(loc.length);
        let sealed = self.read_pack_range(&loc.pack, range)?;
        let what = format!("pack {} (blob {id} at offset {})", loc.pack, loc.offset);
        blob::decode(&self.inner.keys, loc.kind, id, loc.raw_len, &sealed, &what)
    }

    /// True when the copy at `loc` reads back and verifies; false when it
    /// is damaged or gone. Other errors (storage unavailable) are errors.
    pub(crate) fn copy_verifies(
        &self,
        id: &BlobId,
        loc: &crate::index::BlobLocation,
    ) -> Result<bool> {
        match self.read_blob_at(id, loc) {
            Ok(_) => Ok(true),
            Err(e @ (Error::Corrupt { .. } | Error::NotFound { .. })) => {
                tracing::warn!(
                    "copy of blob {id} in pack {} does not verify: {e}",
                    loc.pack
                );
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// The error for a blob the index does not list, pointing at the
    /// damaged index files when there are any.
    pub(crate) fn blob_not_found(&self, id: &BlobId) -> Error {
        let problems = self.index_problems();
        let name = match problems.len() {
            0 => id.to_hex(),
            n => format!(
                "{id} ({n} index file(s) could not be read, so the index is incomplete: \
                 run `cairn check`, then `cairn repair index`)"
            ),
        };
        Error::NotFound {
            kind: "blob".into(),
            name,
        }
    }

    /// Loads a tree blob.
    pub fn load_tree(&self, id: &BlobId) -> Result<Tree> {
        let bytes = self.read_blob(id)?;
        crate::tree::decode_tree(&bytes, &format!("tree {id}"))
    }

    /// Expands a node's content into the full chunk list.
    pub fn chunk_list(&self, content: &Content) -> Result<Vec<BlobId>> {
        match content {
            Content::Inline(ids) => Ok(ids.clone()),
            Content::Indirect(lists) => {
                let mut out = Vec::new();
                for l in lists {
                    let part: Vec<BlobId> =
                        envelope::decode(&self.read_blob(l)?, &format!("chunk list {l}"))?;
                    out.extend(part);
                }
                Ok(out)
            }
        }
    }

    /// Where a blob is stored, if it is.
    pub fn blob_location(&self, id: &BlobId) -> Option<crate::index::BlobLocation> {
        self.index().get(id)
    }

    /// Reads and decrypts a pack's header (from its tail only).
    pub fn read_pack_header(&self, id: &crate::id::PackId) -> Result<crate::pack::PackHeader> {
        let name = id.to_hex();
        let size = match self.index().packs().iter().find(|(p, _, _)| p == id) {
            Some((_, _, size)) => *size,
            None => self
                .inner
                .backend
                .list(FileKind::Pack)?
                .into_iter()
                .find(|(n, _)| *n == name)
                .map(|(_, s)| s)
                .ok_or_else(|| Error::NotFound {
                    kind: "pack".into(),
                    name: name.clone(),
                })?,
        };
        self.read_pack_header_sized(id, size)
    }

    /// Reads a pack's header when its size is known.
    pub fn read_pack_header_sized(
        &self,
        id: &crate::id::PackId,
        size: u64,
    ) -> Result<crate::pack::PackHeader> {
        let what = format!("pack {id}");
        let trailer_len = crate::pack::TRAILER_LEN as u64;
        if size < trailer_len {
            return Err(Error::corrupt(what, "shorter than its trailer"));
        }
        let trailer = self.read_pack_range(id, size - trailer_len..size)?;
        let region = crate::pack::header_region_len(&trailer)
            .filter(|r| *r <= size)
            .ok_or_else(|| Error::corrupt(&what, "bad pack trailer"))?;
        let tail = self.read_pack_range(id, size - region..size)?;
        crate::pack::decode_header(&self.inner.keys.meta, &tail, size, &what)
    }

    /// Reads a byte range of a pack, and refuses a short answer: whatever
    /// the backend, the caller gets exactly the bytes it asked for.
    pub fn read_pack_range(&self, pack: &crate::id::PackId, range: Range<u64>) -> Result<Bytes> {
        let want = range.end.saturating_sub(range.start);
        let start = range.start;
        let bytes = self
            .inner
            .backend
            .read_range(FileKind::Pack, &pack.to_hex(), range)?;
        if bytes.len() as u64 != want {
            return Err(Error::corrupt(
                format!("pack {pack}"),
                format!(
                    "short read: wanted {want} bytes at offset {start}, got {}",
                    bytes.len()
                ),
            ));
        }
        Ok(bytes)
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
