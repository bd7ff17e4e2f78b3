//! What only some snapshots hold: the blobs and stored bytes that no
//! other snapshot of the repository needs, so roughly what `forget` of
//! those snapshots and a `prune` would free (per-tenant accounting).

use crate::error::{Error, Result};
use crate::id::{BlobId, SnapshotId};
use crate::repo::Repository;
use crate::tree::{Content, NodeKind};
use std::collections::{HashMap, HashSet};

/// Blobs that only one group of snapshots needs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Exclusive {
    /// Blobs (data, trees, chunk lists) no snapshot outside the group names.
    pub blobs: u64,
    /// Their stored (compressed, sealed) bytes, as the index lists them.
    pub stored_bytes: u64,
}

/// Who needs a blob or a tree: one group only, or several.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Owner {
    One(usize),
    Shared,
}

#[derive(Default)]
struct Owners {
    blobs: HashMap<BlobId, Owner>,
    trees: HashMap<BlobId, Owner>,
}

impl Owners {
    fn mark(&mut self, id: BlobId, who: usize) {
        let e = self.blobs.entry(id).or_insert(Owner::One(who));
        if *e != Owner::One(who) {
            *e = Owner::Shared;
        }
    }

    /// Marks every blob below tree `id` as needed by `who`. A tree is read
    /// at most twice: once by its first group and once more when a second
    /// group reaches it, which makes everything below it shared.
    fn tree(&mut self, repo: &Repository, id: &BlobId, who: usize) -> Result<()> {
        let next = match self.trees.get(id) {
            None => Owner::One(who),
            Some(Owner::One(o)) if *o != who => Owner::Shared,
            Some(_) => return Ok(()),
        };
        self.trees.insert(*id, next);
        self.mark(*id, who);
        for node in repo.load_tree(id)?.nodes {
            match &node.kind {
                NodeKind::Dir { subtree } => self.tree(repo, subtree, who)?,
                NodeKind::File { content, .. } | NodeKind::Stream { content, .. } => {
                    self.content(repo, content, who)?
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn content(&mut self, repo: &Repository, content: &Content, who: usize) -> Result<()> {
        if let Content::Indirect(lists) = content {
            for l in lists {
                self.mark(*l, who);
            }
        }
        for c in repo.chunk_list(content)? {
            self.mark(c, who);
        }
        Ok(())
    }
}

impl Repository {
    /// For each group of snapshots, the blobs that no snapshot outside
    /// that group needs, with their stored bytes. Every snapshot of the
    /// repository is walked; the snapshots in no group count as one more
    /// group, so what they share with a group is not the group's alone.
    /// A snapshot in two groups makes what it holds shared by both; one
    /// the repository does not hold is `InvalidInput`, not a zero.
    ///
    /// This is what `forget` of the group and `prune` would free, before
    /// pack granularity: prune repacks or keeps partly used packs by its
    /// own thresholds.
    ///
    /// ```
    /// # fn main() -> cairn::Result<()> {
    /// # use std::sync::Arc;
    /// # let opts = cairn::InitOptions::default().argon2(cairn::Argon2Params::insecure_for_tests());
    /// # let secret = cairn::Secret::passphrase("example");
    /// # let repo = cairn::Repository::init(Arc::new(cairn::ObjectBackend::memory()?), &secret, opts.clone())?;
    /// let s = |b: &'static [u8]| cairn::StreamSource::from_reader("db/dump.sql", b);
    /// let a = repo.backup(cairn::BackupOptions::default().streams(vec![s(b"same")]))?;
    /// let b = repo.backup(cairn::BackupOptions::default().streams(vec![s(b"same")]))?;
    /// let each = repo.exclusive_usage(&[vec![a.id], vec![b.id]])?;
    /// let together = repo.exclusive_usage(&[vec![a.id, b.id]])?;
    /// // Each holds its own trees; the one data blob is neither's alone.
    /// assert_eq!(together[0].blobs, each[0].blobs + each[1].blobs + 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn exclusive_usage(&self, groups: &[Vec<SnapshotId>]) -> Result<Vec<Exclusive>> {
        let mut group_of: HashMap<SnapshotId, Vec<usize>> = HashMap::new();
        for (g, ids) in groups.iter().enumerate() {
            for id in ids {
                group_of.entry(*id).or_default().push(g);
            }
        }
        let others = groups.len();
        let all = self.snapshots()?;
        let held: HashSet<SnapshotId> = all.iter().map(|(id, _)| *id).collect();
        if let Some(id) = group_of.keys().find(|id| !held.contains(*id)) {
            return Err(Error::invalid(format!(
                "snapshot {id} is not in the repository"
            )));
        }
        let mut owners = Owners::default();
        for (id, snap) in all {
            for who in group_of.get(&id).cloned().unwrap_or_else(|| vec![others]) {
                owners.tree(self, &snap.tree, who)?;
            }
        }
        let index = self.index();
        let mut out = vec![Exclusive::default(); groups.len()];
        for (id, owner) in &owners.blobs {
            if let Owner::One(g) = owner {
                if let Some(e) = out.get_mut(*g) {
                    e.blobs += 1;
                    e.stored_bytes += index.get(id).map_or(0, |l| u64::from(l.length));
                }
            }
        }
        Ok(out)
    }
}
