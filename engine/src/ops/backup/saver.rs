//! The write pipeline: dedup check, encode workers, packer, uploaders.
//!
//! ```text
//! producer(s) --EncodeJob--> encoders (N) --Sealed--> packer --FinishedPack--> uploaders (U)
//! ```
//! Small blobs skip the encoders: the caller seals them and hands them to
//! the packer itself, one at a time or a batch at once (see [`Held`]).
//! Every channel is bounded, so memory is bounded by the queues. A blob id
//! enters `pending` when first seen and leaves it only after its pack is
//! stored and indexed, so a chunk seen twice in flight is stored once.

use super::segments::{SegmentPool, SharedChunk};
use crate::backend::FileKind;
use crate::blob::{self, BlobKind, PlainBuf};
use crate::error::{Error, Result};
use crate::id::BlobId;
use crate::index::{IndexFile, IndexPack};
use crate::pack::{FinishedPack, PackWriter};
use crate::pool::BufferPool;
use crate::repo::Repository;
use crossbeam_channel::{bounded, Receiver, Sender};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Blobs per index file written during a backup.
const INDEX_FLUSH_BLOBS: usize = 65_536;
/// Packs per index file written during a backup: with the default 16 MiB
/// packs, a backup killed midway loses the index of at most about 1 GiB
/// of uploaded data, and the next backup deduplicates against the rest.
const INDEX_FLUSH_PACKS: usize = 64;
/// Blobs up to this size given to [`Saver::save`] are sealed by the caller.
const SEAL_HERE_MAX: usize = 256 * 1024;
/// Free buffer capacity the pool keeps beyond one pack's worth.
const POOL_SLACK: usize = 8 << 20;

/// The bytes of a submitted chunk.
pub(crate) enum ChunkData {
    /// Already copied.
    Owned(PlainBuf),
    /// A range of a segment read by a producer (see `segments`); the
    /// encoder copies it, so producers do not.
    Shared(SharedChunk),
}

impl ChunkData {
    fn into_plain(self, sh: &Shared) -> PlainBuf {
        match self {
            ChunkData::Owned(v) => v,
            ChunkData::Shared((seg, r)) => {
                let v = pooled_copy(&sh.pool, &seg[r]);
                sh.segments.release(seg);
                v
            }
        }
    }
}

/// A copy of `data` in a buffer from `pool`.
fn pooled_copy(pool: &BufferPool, data: &[u8]) -> PlainBuf {
    PlainBuf::copy_into(pool.take(PlainBuf::capacity_for(data.len())), data)
}

struct EncodeJob {
    kind: BlobKind,
    data: ChunkData,
    /// Set when the caller already named and claimed the blob.
    id: Option<BlobId>,
    /// Where to send the id once computed (asynchronous submissions).
    reply: Option<Sender<BlobId>>,
}

struct Sealed {
    id: BlobId,
    kind: BlobKind,
    raw_len: u32,
    bytes: Vec<u8>,
}

/// What the packer receives: one sealed blob, or a batch of them from one
/// caller, so a batch of small files wakes the packer once.
enum ToPack {
    One(Sealed),
    Many(Vec<Sealed>),
}

/// Small blobs a caller sealed but has not handed to the packer yet.
///
/// Their ids are claimed, so they must reach the packer: the caller sends
/// them with [`Saver::send_held`] before it reports their ids to anyone,
/// and a `Held` dropped unsent fails the session (nothing would store
/// those blobs, while later copies of them would be skipped as in flight).
#[derive(Default)]
pub(crate) struct Held {
    sealed: Vec<Sealed>,
    shared: Option<Arc<Shared>>,
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(sh) = self.shared.take().filter(|_| !self.sealed.is_empty()) {
            sh.fail(Error::invalid("sealed blobs were dropped before packing"));
        }
    }
}

/// Counters of what the session stored.
#[derive(Debug, Default)]
pub(crate) struct SaverStats {
    pub blobs_added: AtomicU64,
    pub bytes_added: AtomicU64,
    pub raw_bytes_added: AtomicU64,
}

struct Shared {
    repo: Repository,
    pending: Mutex<HashSet<BlobId>>,
    failed: AtomicBool,
    error: Mutex<Option<Error>>,
    stats: SaverStats,
    session_index: Mutex<IndexFile>,
    progress: Option<Arc<crate::Progress>>,
    pool: BufferPool,
    /// Free read segments (see `segments`).
    segments: SegmentPool,
}

impl Shared {
    /// Claims `id` for storing. False when it is stored or in flight.
    fn claim(&self, id: &BlobId) -> bool {
        if self.repo.index().contains(id) {
            return false;
        }
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        if pending.contains(id) || self.repo.index().contains(id) {
            return false;
        }
        pending.insert(*id);
        true
    }

    fn fail(&self, e: Error) {
        self.failed.store(true, Ordering::SeqCst);
        let mut slot = self.error.lock().unwrap_or_else(|p| p.into_inner());
        slot.get_or_insert(e);
    }
}

/// A running write session.
pub(crate) struct Saver {
    shared: Arc<Shared>,
    encode_tx: Option<Sender<EncodeJob>>,
    /// For blobs small enough to seal on the calling thread.
    pack_tx: Option<Sender<ToPack>>,
    threads: Vec<JoinHandle<()>>,
    /// Set by the caller (a signal handler) to stop producing; what was
    /// already handed over is still stored and indexed by `finish`.
    cancel: Option<Arc<AtomicBool>>,
}

impl Saver {
    /// Starts the pipeline with `workers` encoder threads.
    pub fn start(
        repo: &Repository,
        workers: usize,
        progress: Option<Arc<crate::Progress>>,
    ) -> Self {
        let workers = workers.max(1);
        let shared = Arc::new(Shared {
            repo: repo.clone(),
            pending: Mutex::new(HashSet::new()),
            failed: AtomicBool::new(false),
            error: Mutex::new(None),
            stats: SaverStats::default(),
            session_index: Mutex::new(IndexFile::default()),
            progress,
            // One pack's worth of free buffers: an upload returns a pack's
            // buffers at once, and the encoders take them back one by one.
            pool: BufferPool::new(repo.config().pack_size as usize + POOL_SLACK),
            // One free read segment per worker: a file worker moving to its
            // next segment finds one while the last chunks of its previous
            // one are still queued.
            segments: SegmentPool::new(workers),
        });
        let (encode_tx, encode_rx) = bounded::<EncodeJob>(workers * 2);
        let (pack_tx, pack_rx) = bounded::<ToPack>(workers * 2);
        let (upload_tx, upload_rx) = bounded::<FinishedPack>(0);
        let mut threads = Vec::new();
        for _ in 0..workers {
            let (rx, tx, sh) = (encode_rx.clone(), pack_tx.clone(), shared.clone());
            threads.push(spawn("cairn-encode", move || encoder(&sh, &rx, &tx)));
        }
        let sh = shared.clone();
        threads.push(spawn("cairn-pack", move || {
            packer(&sh, &pack_rx, &upload_tx)
        }));
        for _ in 0..repo.backend().concurrency().max(1) {
            let (rx, sh) = (upload_rx.clone(), shared.clone());
            threads.push(spawn("cairn-upload", move || uploader(&sh, &rx)));
        }
        Saver {
            shared,
            encode_tx: Some(encode_tx),
            pack_tx: Some(pack_tx),
            threads,
            cancel: None,
        }
    }

    /// Producers stop once `flag` is set (see [`Saver::check_cancel`]).
    pub fn with_cancel(mut self, flag: Option<Arc<AtomicBool>>) -> Self {
        self.cancel = flag;
        self
    }

    /// True once any stage failed; producers should stop early.
    pub fn failed(&self) -> bool {
        self.shared.failed.load(Ordering::Relaxed)
    }

    /// `Interrupted` once the caller asked to stop.
    pub fn check_cancel(&self) -> Result<()> {
        match self
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
        {
            true => Err(Error::Interrupted(
                "stopped on request (SIGINT or SIGTERM)".into(),
            )),
            false => Ok(()),
        }
    }

    /// An empty plaintext buffer with room for `n` bytes, from the pool.
    pub fn plain_buf(&self, n: usize) -> PlainBuf {
        PlainBuf::in_buffer(self.shared.pool.take(PlainBuf::capacity_for(n)), n)
    }

    /// The pool read segments come from.
    pub fn segment_pool(&self) -> &SegmentPool {
        &self.shared.segments
    }

    /// A pooled copy of `data`.
    pub fn plain_copy(&self, data: &[u8]) -> PlainBuf {
        pooled_copy(&self.shared.pool, data)
    }

    /// The repository being written.
    pub fn repo(&self) -> &Repository {
        &self.shared.repo
    }

    /// Stores a blob unless it is already stored or in flight; names it on
    /// the calling thread and returns its id.
    pub fn save(&self, kind: BlobKind, data: impl Into<PlainBuf>) -> Result<BlobId> {
        let mut held = Held::default();
        let id = self.save_held(kind, data.into(), &mut held)?;
        self.send_held(&mut held)?;
        Ok(id)
    }

    /// [`Saver::save`], except that a small blob is sealed into `held`
    /// instead of being sent to the packer at once.
    pub fn save_held(&self, kind: BlobKind, data: PlainBuf, held: &mut Held) -> Result<BlobId> {
        if data.len() > blob::MAX_BLOB_SIZE as usize {
            return Err(Error::invalid(format!(
                "a {kind:?} blob of {} bytes exceeds the {} byte limit (a directory with too many entries?)",
                data.len(),
                blob::MAX_BLOB_SIZE
            )));
        }
        let id = self.shared.repo.keys().blob_id(data.data());
        if self.shared.claim(&id) {
            if data.len() <= SEAL_HERE_MAX {
                // For small blobs the trip through the encoders cost more in
                // thread wake-ups than the work itself.
                held.shared.get_or_insert_with(|| self.shared.clone());
                held.sealed.push(seal(&self.shared, kind, id, data));
            } else {
                self.send(EncodeJob {
                    kind,
                    data: ChunkData::Owned(data),
                    id: Some(id),
                    reply: None,
                })?;
            }
        } else {
            self.recycle(data);
            if self.failed() {
                return Err(self.take_error());
            }
        }
        Ok(id)
    }

    /// Hands the blobs in `held` to the packer, in one message.
    pub fn send_held(&self, held: &mut Held) -> Result<()> {
        let msg = match held.sealed.len() {
            0 => return Ok(()),
            1 => ToPack::One(held.sealed.remove(0)),
            _ => ToPack::Many(std::mem::take(&mut held.sealed)),
        };
        let tx = self
            .pack_tx
            .as_ref()
            .ok_or_else(|| Error::invalid("saver finished"))?;
        tx.send(msg).map_err(|_| self.take_error())
    }

    /// Hands a buffer the caller is done with back to the pool.
    pub fn recycle(&self, data: PlainBuf) {
        self.shared.pool.give(data.into_vec());
    }

    /// Queues a data chunk; an encoder names it, sends the id to the
    /// returned receiver, and stores the chunk unless it is known. This
    /// lets one sequential producer keep every core hashing.
    pub fn submit(&self, data: ChunkData) -> Result<Receiver<BlobId>> {
        let (tx, rx) = bounded(1);
        self.send(EncodeJob {
            kind: BlobKind::Data,
            data,
            id: None,
            reply: Some(tx),
        })?;
        Ok(rx)
    }

    fn send(&self, job: EncodeJob) -> Result<()> {
        if self.failed() {
            return Err(self.take_error());
        }
        let tx = self
            .encode_tx
            .as_ref()
            .ok_or_else(|| Error::invalid("saver finished"))?;
        tx.send(job).map_err(|_| self.take_error())
    }

    /// The error to report when the pipeline stopped.
    pub fn error(&self) -> Error {
        self.take_error()
    }

    fn take_error(&self) -> Error {
        let slot = self.shared.error.lock().unwrap_or_else(|p| p.into_inner());
        match slot.as_ref() {
            Some(e) => Error::Backend {
                op: "backup pipeline".into(),
                detail: e.to_string(),
            },
            None => Error::invalid("backup pipeline stopped"),
        }
    }

    /// Drains the pipeline, writes the last index file, and returns the
    /// counters, or the first error any stage hit.
    pub fn finish(mut self) -> Result<(u64, u64, u64)> {
        self.encode_tx = None;
        self.pack_tx = None;
        for t in self.threads.drain(..) {
            if t.join().is_err() {
                self.shared
                    .fail(Error::invalid("a backup worker thread panicked"));
            }
        }
        if let Some(e) = self
            .shared
            .error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            return Err(e);
        }
        flush_index(&self.shared, true)?;
        let s = &self.shared.stats;
        Ok((
            s.blobs_added.load(Ordering::Relaxed),
            s.bytes_added.load(Ordering::Relaxed),
            s.raw_bytes_added.load(Ordering::Relaxed),
        ))
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> JoinHandle<()> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .unwrap_or_else(|e| panic!("cannot start thread {name}: {e}"))
}

fn encoder(sh: &Shared, rx: &Receiver<EncodeJob>, tx: &Sender<ToPack>) {
    for job in rx {
        if sh.failed.load(Ordering::Relaxed) {
            continue;
        }
        let data = job.data.into_plain(sh);
        let id = match job.id {
            Some(id) => id,
            None => {
                let id = sh.repo.keys().blob_id(data.data());
                if let Some(r) = &job.reply {
                    let _ = r.send(id);
                }
                if !sh.claim(&id) {
                    sh.pool.give(data.into_vec());
                    continue;
                }
                id
            }
        };
        if tx.send(ToPack::One(seal(sh, job.kind, id, data))).is_err() {
            return;
        }
    }
}

/// Compresses and seals one claimed blob.
fn seal(sh: &Shared, kind: BlobKind, id: BlobId, data: PlainBuf) -> Sealed {
    let level = sh.repo.config().compression_level;
    let raw_len = data.len() as u32;
    let (bytes, spare) = blob::encode_buf(sh.repo.keys(), kind, &id, data, level);
    if let Some(buf) = spare {
        sh.pool.give(buf);
    }
    Sealed {
        id,
        kind,
        raw_len,
        bytes,
    }
}

fn packer(sh: &Shared, rx: &Receiver<ToPack>, tx: &Sender<FinishedPack>) {
    let mut packs = Packs {
        target: sh.repo.config().pack_size as usize,
        data: PackWriter::new(BlobKind::Data),
        tree: PackWriter::new(BlobKind::Tree),
    };
    for msg in rx {
        let sent = match msg {
            ToPack::One(s) => packs.add(sh, s, tx),
            ToPack::Many(all) => all.into_iter().try_for_each(|s| packs.add(sh, s, tx)),
        };
        if sent.is_err() {
            return;
        }
    }
    let meta = sh.repo.keys().meta;
    for w in [packs.data, packs.tree] {
        if !w.is_empty() && tx.send(w.finish(&meta)).is_err() {
            return;
        }
    }
}

/// The packer's open packs, one per blob kind.
struct Packs {
    target: usize,
    data: PackWriter,
    tree: PackWriter,
}

impl Packs {
    /// Adds a blob and sends its pack on once full; `Err` when the
    /// uploaders are gone.
    fn add(
        &mut self,
        sh: &Shared,
        s: Sealed,
        tx: &Sender<FinishedPack>,
    ) -> std::result::Result<(), ()> {
        let raw = u64::from(s.raw_len);
        let stored = s.bytes.len() as u64;
        let w = if s.kind == BlobKind::Data {
            &mut self.data
        } else {
            &mut self.tree
        };
        w.add(s.id, s.raw_len, s.bytes);
        sh.stats.blobs_added.fetch_add(1, Ordering::Relaxed);
        sh.stats.bytes_added.fetch_add(stored, Ordering::Relaxed);
        if s.kind == BlobKind::Data {
            sh.stats.raw_bytes_added.fetch_add(raw, Ordering::Relaxed);
        }
        if let Some(p) = &sh.progress {
            crate::Progress::add(&p.bytes_added, stored);
        }
        if w.len() >= self.target {
            let full = std::mem::replace(w, PackWriter::new(s.kind));
            return tx.send(full.finish(&sh.repo.keys().meta)).map_err(|_| ());
        }
        Ok(())
    }
}

fn uploader(sh: &Shared, rx: &Receiver<FinishedPack>) {
    for pack in rx {
        if sh.failed.load(Ordering::Relaxed) {
            continue;
        }
        if let Err(e) = store_pack(sh, pack) {
            sh.fail(e);
        }
    }
}

fn store_pack(sh: &Shared, pack: FinishedPack) -> Result<()> {
    let size = pack.len() as u64;
    let id = pack.id();
    let buffers = pack.parts.clone();
    // A pack of this name and size is ours (content-addressed); a partial
    // leftover of an interrupted write is replaced.
    crate::backend::create_checked(
        sh.repo.backend().as_ref(),
        FileKind::Pack,
        &id.to_hex(),
        pack.parts,
    )?;
    // The backend is done with the bytes: their buffers serve new chunks.
    for b in buffers {
        if b.is_unique() {
            sh.pool.give(Vec::from(b));
        }
    }
    sh.repo
        .index_mut()
        .add_pack(id, pack.kind, size, &pack.blobs);
    {
        let mut pending = sh.pending.lock().unwrap_or_else(|p| p.into_inner());
        for b in &pack.blobs {
            pending.remove(&b.id);
        }
    }
    if let Some(p) = &sh.progress {
        p.notify();
    }
    sh.session_index
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .packs
        .push(IndexPack {
            id,
            kind: pack.kind,
            size,
            blobs: pack.blobs,
        });
    flush_index(sh, false)
}

/// Writes the session's index entries once enough have gathered (or at the end).
fn flush_index(sh: &Shared, force: bool) -> Result<()> {
    let file = {
        let mut idx = sh.session_index.lock().unwrap_or_else(|p| p.into_inner());
        let due = idx.blob_count() >= INDEX_FLUSH_BLOBS || idx.packs.len() >= INDEX_FLUSH_PACKS;
        if idx.packs.is_empty() || (!force && !due) {
            return Ok(());
        }
        std::mem::take(&mut *idx)
    };
    sh.repo.save_index_file(&file).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::backup::test_repo as repo;

    #[test]
    fn held_blobs_are_stored_once_sent() {
        let repo = repo();
        let saver = Saver::start(&repo, 1, None);
        let mut held = Held::default();
        let a = saver
            .save_held(BlobKind::Data, PlainBuf::copy_of(b"first"), &mut held)
            .expect("save");
        let b = saver
            .save_held(BlobKind::Data, PlainBuf::copy_of(b"second"), &mut held)
            .expect("save");
        // A copy of a held blob is in flight: claimed, not held twice.
        saver
            .save_held(BlobKind::Data, PlainBuf::copy_of(b"first"), &mut held)
            .expect("save");
        assert_eq!(held.sealed.len(), 2);
        saver.send_held(&mut held).expect("send");
        saver.finish().expect("finish");
        assert_eq!(repo.read_blob(&a).expect("a"), b"first");
        assert_eq!(repo.read_blob(&b).expect("b"), b"second");
    }

    /// Claimed blobs that never reach the packer would be skipped by every
    /// later copy, so dropping them must fail the session.
    #[test]
    fn dropping_held_blobs_fails_the_session() {
        let repo = repo();
        let saver = Saver::start(&repo, 1, None);
        let mut held = Held::default();
        saver
            .save_held(BlobKind::Data, PlainBuf::copy_of(b"lost"), &mut held)
            .expect("save");
        drop(held);
        let err = saver
            .finish()
            .expect_err("a lost blob must fail the backup");
        assert!(err.to_string().contains("dropped before packing"), "{err}");
    }
}
