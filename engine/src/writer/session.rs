//! A write session: the handle callers store blobs through.
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
use super::stages::{
    encoder, flush_index, packer, pooled_copy, seal, spawn, uploader, EncodeJob, Sealed, Shared,
    ToPack,
};
use crate::blob::{self, BlobKind, PlainBuf};
use crate::error::{Error, Result};
use crate::id::BlobId;
use crate::index::IndexFile;
use crate::pack::FinishedPack;
use crate::pool::BufferPool;
use crate::repo::Repository;
use crossbeam_channel::{bounded, Receiver, Sender};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Blobs up to this size given to [`Writer::save`] are sealed by the caller.
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

/// Small blobs a caller sealed but has not handed to the packer yet.
///
/// Their ids are claimed, so they must reach the packer: the caller sends
/// them with [`Writer::send_held`] before it reports their ids to anyone,
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
            sh.fail(Error::internal("sealed blobs were dropped before packing"));
        }
    }
}

/// Counters of what the session stored.
#[derive(Debug, Default)]
pub(crate) struct WriterStats {
    pub blobs_added: AtomicU64,
    pub bytes_added: AtomicU64,
    pub raw_bytes_added: AtomicU64,
    pub packs: AtomicU64,
    pub pack_bytes: AtomicU64,
}

/// What a finished write session stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Written {
    /// New blobs.
    pub blobs: u64,
    /// Their sealed bytes.
    pub bytes: u64,
    /// Plaintext bytes of the new data blobs.
    pub raw_bytes: u64,
    /// Packs stored.
    pub packs: u64,
    /// Bytes of those packs, headers included.
    pub pack_bytes: u64,
}

/// A running write session.
pub(crate) struct Writer {
    shared: Arc<Shared>,
    encode_tx: Option<Sender<EncodeJob>>,
    /// For blobs small enough to seal on the calling thread.
    pack_tx: Option<Sender<ToPack>>,
    threads: Vec<JoinHandle<()>>,
    /// Set by the caller (a signal handler) to stop producing; what was
    /// already handed over is still stored and indexed by `finish`.
    cancel: Option<Arc<AtomicBool>>,
}

impl Writer {
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
            stats: WriterStats::default(),
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
        Writer {
            shared,
            encode_tx: Some(encode_tx),
            pack_tx: Some(pack_tx),
            threads,
            cancel: None,
        }
    }

    /// Producers stop once `flag` is set (see [`Writer::check_cancel`]).
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

    /// [`Writer::save`], except that a small blob is sealed into `held`
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
        self.to_packer(msg)
    }

    /// Sends a message to the packer.
    fn to_packer(&self, msg: ToPack) -> Result<()> {
        let tx = self
            .pack_tx
            .as_ref()
            .ok_or_else(|| Error::internal("the writer has finished"))?;
        tx.send(msg).map_err(|_| self.take_error())
    }

    /// Adds a blob sealed elsewhere, as a new copy even when the index
    /// lists it: prune's repack moves verified blobs into new packs without
    /// decoding and sealing them again.
    pub fn add_sealed(
        &self,
        kind: BlobKind,
        id: BlobId,
        raw_len: u32,
        bytes: Vec<u8>,
    ) -> Result<()> {
        if self.failed() {
            return Err(self.take_error());
        }
        let sealed = Sealed {
            id,
            kind,
            raw_len,
            bytes,
        };
        self.to_packer(ToPack::One(sealed))
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
            .ok_or_else(|| Error::internal("the writer has finished"))?;
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
                op: "write pipeline".into(),
                detail: e.to_string(),
                source: None,
            },
            None => Error::internal("the write pipeline stopped"),
        }
    }

    /// Drains the pipeline, writes the last index file, and returns the
    /// counters, or the first error any stage hit.
    pub fn finish(mut self) -> Result<Written> {
        self.encode_tx = None;
        self.pack_tx = None;
        for t in self.threads.drain(..) {
            if t.join().is_err() {
                self.shared
                    .fail(Error::internal("a writer thread panicked"));
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
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Ok(Written {
            blobs: get(&s.blobs_added),
            bytes: get(&s.bytes_added),
            raw_bytes: get(&s.raw_bytes_added),
            packs: get(&s.packs),
            pack_bytes: get(&s.pack_bytes),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::backup::test_repo as repo;

    #[test]
    fn held_blobs_are_stored_once_sent() {
        let repo = repo();
        let writer = Writer::start(&repo, 1, None);
        let mut held = Held::default();
        let a = writer
            .save_held(BlobKind::Data, PlainBuf::copy_of(b"first"), &mut held)
            .expect("save");
        let b = writer
            .save_held(BlobKind::Data, PlainBuf::copy_of(b"second"), &mut held)
            .expect("save");
        // A copy of a held blob is in flight: claimed, not held twice.
        writer
            .save_held(BlobKind::Data, PlainBuf::copy_of(b"first"), &mut held)
            .expect("save");
        assert_eq!(held.sealed.len(), 2);
        writer.send_held(&mut held).expect("send");
        writer.finish().expect("finish");
        assert_eq!(repo.read_blob(&a).expect("a"), b"first");
        assert_eq!(repo.read_blob(&b).expect("b"), b"second");
    }

    /// Claimed blobs that never reach the packer would be skipped by every
    /// later copy, so dropping them must fail the session.
    #[test]
    fn dropping_held_blobs_fails_the_session() {
        let repo = repo();
        let writer = Writer::start(&repo, 1, None);
        let mut held = Held::default();
        writer
            .save_held(BlobKind::Data, PlainBuf::copy_of(b"lost"), &mut held)
            .expect("save");
        drop(held);
        let err = writer
            .finish()
            .expect_err("a lost blob must fail the backup");
        assert!(err.to_string().contains("dropped before packing"), "{err}");
    }
}
