//! `copy`: snapshots into another repository (another key, e.g. a DR
//! site), transferring only what the target lacks.

use crate::blob::BlobKind;
use crate::error::Result;
use crate::id::{BlobId, SnapshotId};
use crate::repo::Repository;
use crate::tree::{NodeKind, Tree};
use crate::writer::make_content;
use crate::writer::Writer;
use std::collections::{HashMap, HashSet};

/// Key under which a copied snapshot records its source snapshot.
pub const COPIED_FROM: &str = "copied_from";

/// Options for [`Repository::copy`].
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct CopyOptions {
    /// The snapshots to copy; empty copies all.
    pub snapshots: Vec<SnapshotId>,
}

super::setters!(CopyOptions {
    snapshots: Vec<SnapshotId>,
});

/// What a copy did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct CopyReport {
    /// Snapshots written to the target.
    pub snapshots_copied: u64,
    /// Snapshots the target already had.
    pub snapshots_skipped: u64,
    /// Data chunks read from the source.
    pub chunks_read: u64,
    /// Blobs stored in the target (data and trees).
    pub blobs_stored: u64,
    /// Bytes stored in the target (as stored).
    pub bytes_stored: u64,
    /// Source snapshots that could not be read, and so were not copied.
    pub snapshots_damaged: u64,
}

struct Copier<'a> {
    src: &'a Repository,
    writer: &'a Writer,
    same_ids: bool,
    trees: HashMap<BlobId, BlobId>,
    chunks: HashMap<BlobId, BlobId>,
    chunks_read: u64,
}

impl Copier<'_> {
    fn chunk(&mut self, id: BlobId) -> Result<BlobId> {
        if self.same_ids {
            if !self.writer.repo().index().contains(&id) {
                self.chunks_read += 1;
                self.writer.save(BlobKind::Data, self.src.read_blob(&id)?)?;
            }
            return Ok(id);
        }
        if let Some(t) = self.chunks.get(&id) {
            return Ok(*t);
        }
        self.chunks_read += 1;
        let t = self.writer.save(BlobKind::Data, self.src.read_blob(&id)?)?;
        self.chunks.insert(id, t);
        Ok(t)
    }

    fn tree(&mut self, id: &BlobId) -> Result<BlobId> {
        if let Some(t) = self.trees.get(id) {
            return Ok(*t);
        }
        if self.same_ids && self.writer.repo().index().contains(id) {
            return Ok(*id);
        }
        let mut tree: Tree = self.src.load_tree(id)?;
        for node in &mut tree.nodes {
            match &mut node.kind {
                NodeKind::Dir { subtree } => *subtree = self.tree(subtree)?,
                NodeKind::File { content, .. } | NodeKind::Stream { content, .. } => {
                    let ids = self.src.chunk_list(content)?;
                    let mapped = ids
                        .into_iter()
                        .map(|c| self.chunk(c))
                        .collect::<Result<Vec<_>>>()?;
                    *content = make_content(self.writer, mapped)?;
                }
                _ => {}
            }
        }
        let new = self
            .writer
            .save(BlobKind::Tree, crate::tree::encode_tree(&tree))?;
        self.trees.insert(*id, new);
        Ok(new)
    }
}

impl Repository {
    /// Copies snapshots (all when `opts.snapshots` is empty) to `target`. Snapshots
    /// already copied (recorded in the copy's `info`) are skipped. When
    /// both repositories share the chunking secret (see
    /// `InitOptions::chunking_secret`), blob ids are the same and only
    /// blobs the target lacks are read; otherwise every chunk is read and
    /// renamed under the target's key, and only new ones are stored.
    ///
    /// ```
    /// # fn main() -> cairn::Result<()> {
    /// # use std::sync::Arc;
    /// # let opts = cairn::InitOptions::default().argon2(cairn::Argon2Params::insecure_for_tests());
    /// # let secret = cairn::Secret::passphrase("example");
    /// # let repo = cairn::Repository::init(Arc::new(cairn::ObjectBackend::memory()?), &secret, opts.clone())?;
    /// # let stream = cairn::StreamSource::from_reader("db/dump.sql", &b"CREATE TABLE t();"[..]);
    /// # let first = repo.backup(cairn::BackupOptions::default().streams(vec![stream]))?;
    /// let mirror = cairn::Repository::init(Arc::new(cairn::ObjectBackend::memory()?), &secret, opts)?;
    /// let report = repo.copy(&mirror, cairn::CopyOptions::default())?;
    /// assert_eq!(report.snapshots_copied, 1);
    /// // Copied snapshots are recorded: a second run copies nothing.
    /// assert_eq!(repo.copy(&mirror, cairn::CopyOptions::default())?.snapshots_copied, 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn copy(&self, target: &Repository, opts: CopyOptions) -> Result<CopyReport> {
        let only = &opts.snapshots[..];
        let mut report = CopyReport::default();
        let present: HashSet<String> = target
            .readable_snapshots()?
            .0
            .into_iter()
            .filter_map(|(_, s)| s.info.get(COPIED_FROM).cloned())
            .collect();
        let session = crate::gc::SessionGuard::start(target)?;
        target.prepare_to_write()?;
        let same_ids = self.config().chunking_secret == target.config().chunking_secret;
        let (snaps, damaged) = self.readable_snapshots()?;
        for e in damaged {
            tracing::warn!("{e}; not copied");
            report.snapshots_damaged += 1;
        }
        for (id, snap) in snaps {
            if (!only.is_empty() && !only.contains(&id)) || present.contains(&id.to_hex()) {
                if present.contains(&id.to_hex()) {
                    report.snapshots_skipped += 1;
                }
                continue;
            }
            let threads = std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2);
            let writer = Writer::start(target, threads, None);
            let mut c = Copier {
                src: self,
                writer: &writer,
                same_ids,
                trees: HashMap::new(),
                chunks: HashMap::new(),
                chunks_read: 0,
            };
            let tree = c.tree(&snap.tree);
            report.chunks_read += c.chunks_read;
            // The writer's own error is the cause; a failed send to it
            // only says that it stopped.
            let written = writer.finish()?;
            let tree = tree?;
            report.blobs_stored += written.blobs;
            report.bytes_stored += written.bytes;
            let mut copy = snap.clone();
            copy.tree = tree;
            copy.parent = None;
            copy.info.insert(COPIED_FROM.to_string(), id.to_hex());
            session.confirm_alive()?;
            target.save_snapshot(&copy)?;
            report.snapshots_copied += 1;
        }
        Ok(report)
    }
}
