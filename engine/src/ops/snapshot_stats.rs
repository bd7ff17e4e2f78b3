//! Statistics of chosen snapshots: what a restore writes, which contents
//! are distinct, and which stored blobs they need.

use crate::error::Result;
use crate::id::{BlobId, SnapshotId};
use crate::repo::Repository;
use crate::tree::{Content, NodeKind};
use std::collections::{HashMap, HashSet};

/// Sizes and counts of a set of snapshots (`cairn stats ID...`).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct SnapshotStats {
    /// Snapshots counted.
    pub snapshots: u64,
    /// restore-size: files and streams, every snapshot counted in full.
    pub files: u64,
    /// restore-size: directories (below each snapshot's root).
    pub dirs: u64,
    /// restore-size: symlinks, FIFOs, devices and sockets.
    pub others: u64,
    /// restore-size: bytes a restore of every snapshot writes.
    pub restore_bytes: u64,
    /// files-by-contents: distinct file and stream contents.
    pub unique_files: u64,
    /// files-by-contents: bytes of the distinct contents.
    pub unique_file_bytes: u64,
    /// raw-data: distinct blobs the snapshots need (data, trees, chunk lists).
    pub blobs: u64,
    /// raw-data: their plaintext bytes.
    pub raw_bytes: u64,
    /// raw-data: their stored (compressed, sealed) bytes.
    pub stored_bytes: u64,
    /// raw-data: blobs the snapshots name that no index lists (damage).
    pub missing_blobs: u64,
}

#[derive(Clone, Copy, Default)]
struct Totals {
    files: u64,
    dirs: u64,
    others: u64,
    bytes: u64,
}

impl Totals {
    fn add(&mut self, o: Totals) {
        self.files += o.files;
        self.dirs += o.dirs;
        self.others += o.others;
        self.bytes += o.bytes;
    }
}

#[derive(Default)]
struct Walk {
    subtrees: HashMap<BlobId, Totals>,
    blobs: HashSet<BlobId>,
    contents: HashSet<Vec<BlobId>>,
    unique: Totals,
}

impl Walk {
    /// Totals of tree `id`; a tree seen before (in this or another
    /// snapshot) is not loaded again, its blobs are already counted.
    fn tree(&mut self, repo: &Repository, id: &BlobId) -> Result<Totals> {
        if let Some(t) = self.subtrees.get(id) {
            return Ok(*t);
        }
        self.blobs.insert(*id);
        let mut t = Totals::default();
        for node in repo.load_tree(id)?.nodes {
            match &node.kind {
                NodeKind::Dir { subtree } => {
                    t.dirs += 1;
                    t.add(self.tree(repo, subtree)?);
                }
                NodeKind::File { size, content, .. } | NodeKind::Stream { size, content, .. } => {
                    t.files += 1;
                    t.bytes += size;
                    self.content(repo, content, *size)?;
                }
                _ => t.others += 1,
            }
        }
        self.subtrees.insert(*id, t);
        Ok(t)
    }

    fn content(&mut self, repo: &Repository, content: &Content, size: u64) -> Result<()> {
        if let Content::Indirect(lists) = content {
            self.blobs.extend(lists.iter().copied());
        }
        let ids = repo.chunk_list(content)?;
        self.blobs.extend(ids.iter().copied());
        if self.contents.insert(ids) {
            self.unique.files += 1;
            self.unique.bytes += size;
        }
        Ok(())
    }
}

impl Repository {
    /// Statistics of the snapshots `ids`, in one walk of their trees
    /// (a subtree shared between snapshots is read once).
    ///
    /// ```
    /// # fn main() -> cairn::Result<()> {
    /// # use std::sync::Arc;
    /// # let opts = cairn::InitOptions::default().argon2(cairn::Argon2Params::insecure_for_tests());
    /// # let secret = cairn::Secret::passphrase("example");
    /// # let repo = cairn::Repository::init(Arc::new(cairn::ObjectBackend::memory()?), &secret, opts.clone())?;
    /// # let stream = cairn::StreamSource::from_reader("db/dump.sql", &b"CREATE TABLE t();"[..]);
    /// let first = repo.backup(cairn::BackupOptions::default().streams(vec![stream]))?;
    /// let s = repo.snapshot_stats(&[first.id])?;
    /// assert_eq!((s.files, s.restore_bytes), (1, 17));
    /// # Ok(())
    /// # }
    /// ```
    pub fn snapshot_stats(&self, ids: &[SnapshotId]) -> Result<SnapshotStats> {
        let mut w = Walk::default();
        let mut total = Totals::default();
        for id in ids {
            let snap = self.load_snapshot(id)?;
            total.add(w.tree(self, &snap.tree)?);
        }
        let mut s = SnapshotStats {
            snapshots: ids.len() as u64,
            files: total.files,
            dirs: total.dirs,
            others: total.others,
            restore_bytes: total.bytes,
            unique_files: w.unique.files,
            unique_file_bytes: w.unique.bytes,
            blobs: w.blobs.len() as u64,
            ..Default::default()
        };
        let index = self.index();
        for b in &w.blobs {
            match index.get(b) {
                Some(l) => {
                    s.raw_bytes += u64::from(l.raw_len);
                    s.stored_bytes += u64::from(l.length);
                }
                None => s.missing_blobs += 1,
            }
        }
        Ok(s)
    }
}
