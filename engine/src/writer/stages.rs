//! The writer's threads: encoders, the packer and the uploaders, and the
//! index flushes after each stored pack.

use super::segments::SegmentPool;
use super::session::{ChunkData, WriterStats};
use crate::backend::FileKind;
use crate::blob::{self, BlobKind, PlainBuf};
use crate::error::{Error, Result};
use crate::id::BlobId;
use crate::index::{IndexFile, IndexPack};
use crate::pack::{FinishedPack, PackWriter};
use crate::pool::BufferPool;
use crate::repo::Repository;
use crossbeam_channel::{Receiver, Sender};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Blobs per index file written during a backup.
pub(super) const INDEX_FLUSH_BLOBS: usize = 65_536;
/// Packs per index file written during a backup: with the default 16 MiB
/// packs, a backup killed midway loses the index of at most about 1 GiB
/// of uploaded data, and the next backup deduplicates against the rest.
pub(super) const INDEX_FLUSH_PACKS: usize = 64;
impl ChunkData {
    pub(super) fn into_plain(self, sh: &Shared) -> PlainBuf {
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
pub(super) fn pooled_copy(pool: &BufferPool, data: &[u8]) -> PlainBuf {
    PlainBuf::copy_into(pool.take(PlainBuf::capacity_for(data.len())), data)
}

pub(super) struct EncodeJob {
    pub(super) kind: BlobKind,
    pub(super) data: ChunkData,
    /// Set when the caller already named and claimed the blob.
    pub(super) id: Option<BlobId>,
    /// Where to send the id once computed (asynchronous submissions).
    pub(super) reply: Option<Sender<BlobId>>,
}

pub(super) struct Sealed {
    pub(super) id: BlobId,
    pub(super) kind: BlobKind,
    pub(super) raw_len: u32,
    pub(super) bytes: Vec<u8>,
}

/// What the packer receives: one sealed blob, or a batch of them from one
/// caller, so a batch of small files wakes the packer once.
pub(super) enum ToPack {
    One(Sealed),
    Many(Vec<Sealed>),
}

pub(super) struct Shared {
    pub(super) repo: Repository,
    pub(super) pending: Mutex<HashSet<BlobId>>,
    pub(super) failed: AtomicBool,
    pub(super) error: Mutex<Option<Error>>,
    pub(super) stats: WriterStats,
    pub(super) session_index: Mutex<IndexFile>,
    pub(super) progress: Option<Arc<crate::Progress>>,
    pub(super) pool: BufferPool,
    /// Free read segments (see `segments`).
    pub(super) segments: SegmentPool,
}

impl Shared {
    /// Claims `id` for storing. False when it is stored or in flight.
    pub(super) fn claim(&self, id: &BlobId) -> bool {
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

    pub(super) fn fail(&self, e: Error) {
        self.failed.store(true, Ordering::SeqCst);
        let mut slot = self.error.lock().unwrap_or_else(|p| p.into_inner());
        slot.get_or_insert(e);
    }
}

pub(super) fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> JoinHandle<()> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .unwrap_or_else(|e| panic!("cannot start thread {name}: {e}"))
}

pub(super) fn encoder(sh: &Shared, rx: &Receiver<EncodeJob>, tx: &Sender<ToPack>) {
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
pub(super) fn seal(sh: &Shared, kind: BlobKind, id: BlobId, data: PlainBuf) -> Sealed {
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

pub(super) fn packer(sh: &Shared, rx: &Receiver<ToPack>, tx: &Sender<FinishedPack>) {
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

pub(super) fn uploader(sh: &Shared, rx: &Receiver<FinishedPack>) {
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
    sh.stats.packs.fetch_add(1, Ordering::Relaxed);
    sh.stats.pack_bytes.fetch_add(size, Ordering::Relaxed);
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
pub(super) fn flush_index(sh: &Shared, force: bool) -> Result<()> {
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
