//! Which blobs the snapshots reference.

use crate::error::Result;
use crate::id::{BlobId, SnapshotId};
use crate::repo::Repository;
use crate::snapshot::Snapshot;
use crate::tree::{Content, NodeKind};
use std::collections::HashSet;

/// Referenced blobs: tree and chunk-list ids in a set, data ids in a
/// sorted vector (32 bytes each), so memory stays near the index's.
#[derive(Default)]
pub struct Refs {
    trees: HashSet<BlobId>,
    data: Vec<BlobId>,
    sorted_len: usize,
}

impl Refs {
    /// Collects every blob reachable from `snaps`. A blob that cannot be
    /// loaded fails the walk (callers that must not guess abort on it).
    pub fn collect(repo: &Repository, snaps: &[(SnapshotId, Snapshot)]) -> Result<Refs> {
        let mut r = Refs::default();
        for (_, s) in snaps {
            r.walk(repo, &s.tree)?;
        }
        r.compact();
        Ok(r)
    }

    fn walk(&mut self, repo: &Repository, tree: &BlobId) -> Result<()> {
        if !self.trees.insert(*tree) {
            return Ok(());
        }
        for node in repo.load_tree(tree)?.nodes {
            match &node.kind {
                NodeKind::Dir { subtree } => self.walk(repo, subtree)?,
                NodeKind::File { content, .. } | NodeKind::Stream { content, .. } => {
                    self.content(repo, content)?
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn content(&mut self, repo: &Repository, content: &Content) -> Result<()> {
        if let Content::Indirect(lists) = content {
            for l in lists {
                self.trees.insert(*l);
            }
        }
        self.data.extend(repo.chunk_list(content)?);
        if self.data.len() > 2 * self.sorted_len.max(1 << 16) {
            self.compact();
        }
        Ok(())
    }

    fn compact(&mut self) {
        self.data.sort_unstable();
        self.data.dedup();
        self.sorted_len = self.data.len();
    }

    /// True when `id` is referenced.
    pub fn contains(&self, id: &BlobId) -> bool {
        self.trees.contains(id) || self.data[..self.sorted_len].binary_search(id).is_ok()
    }

    /// Number of referenced blobs.
    pub fn len(&self) -> usize {
        self.trees.len() + self.sorted_len
    }

    /// True when nothing is referenced.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
