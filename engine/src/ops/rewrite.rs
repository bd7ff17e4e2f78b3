//! `rewrite`: remove paths from existing snapshots (data that must be
//! erased, or that should never have been backed up).
//!
//! The trees above a removed entry are stored again without it; every
//! other tree and chunk is reused as it is. The new snapshot is stored
//! before the old one is (optionally) deleted, so a failure in between
//! leaves both, never neither. The bytes themselves stay in their packs
//! until `prune` finds nothing references them.

use crate::blob::BlobKind;
use crate::error::{Error, Result};
use crate::exclude::Excludes;
use crate::id::{BlobId, SnapshotId};
use crate::repo::Repository;
use crate::tree::{NodeKind, Tree};
use crate::writer::Writer;

/// Info key of the id a rewritten snapshot had first.
pub const INFO_REWRITTEN_FROM: &str = "rewrite.original";

/// What to remove, and what to do with the old snapshot.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct RewriteOptions {
    /// Patterns, as for backup's excludes, of the entries to remove.
    pub exclude: Vec<String>,
    /// Delete the old snapshot once the new one is stored.
    pub forget: bool,
    /// Only report what would be removed.
    pub dry_run: bool,
}

super::setters!(RewriteOptions {
    exclude: Vec<String>,
    forget: bool,
    dry_run: bool,
});

/// What a rewrite did to one snapshot.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct RewriteReport {
    /// The snapshot rewritten.
    pub snapshot: SnapshotId,
    /// The new snapshot (`None`: nothing matched, or a dry run).
    pub new: Option<SnapshotId>,
    /// Paths removed (a directory once, with what is below it).
    pub removed: Vec<String>,
    /// Files and streams removed (below removed directories too).
    pub files_removed: u64,
    /// Their bytes.
    pub bytes_removed: u64,
    /// The old snapshot was deleted.
    pub forgotten: bool,
}

struct Rewriter<'a> {
    repo: &'a Repository,
    exclude: Excludes,
    writer: Option<&'a Writer>,
    report: RewriteReport,
}

impl Rewriter<'_> {
    /// The tree `id` at `prefix` without the excluded entries: `None` when
    /// nothing below it is excluded.
    fn tree(&mut self, id: &BlobId, prefix: &str) -> Result<Option<BlobId>> {
        let mut tree: Tree = self.repo.load_tree(id)?;
        let mut changed = false;
        let mut kept = Vec::with_capacity(tree.nodes.len());
        for mut node in std::mem::take(&mut tree.nodes) {
            let path = format!("{prefix}/{}", node.name_lossy());
            let is_dir = matches!(node.kind, NodeKind::Dir { .. });
            if self
                .exclude
                .is_excluded(std::path::Path::new(&path), is_dir)
            {
                self.count_removed(&node.kind)?;
                self.report.removed.push(path);
                changed = true;
                continue;
            }
            if let NodeKind::Dir { subtree } = &mut node.kind {
                if let Some(new) = self.tree(subtree, &path)? {
                    *subtree = new;
                    changed = true;
                }
            }
            kept.push(node);
        }
        if !changed {
            return Ok(None);
        }
        tree.nodes = kept;
        match self.writer {
            Some(w) => Ok(Some(
                w.save(BlobKind::Tree, crate::tree::encode_tree(&tree))?,
            )),
            None => Ok(Some(*id)),
        }
    }

    fn count_removed(&mut self, kind: &NodeKind) -> Result<()> {
        match kind {
            NodeKind::File { size, .. } | NodeKind::Stream { size, .. } => {
                self.report.files_removed += 1;
                self.report.bytes_removed += size;
            }
            NodeKind::Dir { subtree } => {
                let (mut files, mut bytes) = (0, 0);
                self.repo.walk_tree(subtree, "", &mut |_, n| {
                    if let NodeKind::File { size, .. } | NodeKind::Stream { size, .. } = &n.kind {
                        files += 1;
                        bytes += size;
                    }
                    Ok(())
                })?;
                self.report.files_removed += files;
                self.report.bytes_removed += bytes;
            }
            _ => {}
        }
        Ok(())
    }
}

impl Repository {
    /// Stores snapshot `id` again without the entries `opts.exclude`
    /// matches. A snapshot where nothing matches is left alone.
    ///
    /// ```
    /// # fn main() -> cairn::Result<()> {
    /// # use std::sync::Arc;
    /// # let opts = cairn::InitOptions::default().argon2(cairn::Argon2Params::insecure_for_tests());
    /// # let secret = cairn::Secret::passphrase("example");
    /// # let repo = cairn::Repository::init(Arc::new(cairn::ObjectBackend::memory()?), &secret, opts.clone())?;
    /// let streams = vec![
    ///     cairn::StreamSource::from_reader("keep.sql", &b"ok"[..]),
    ///     cairn::StreamSource::from_reader("secret.key", &b"erase me"[..]),
    /// ];
    /// let first = repo.backup(cairn::BackupOptions::default().streams(streams))?;
    /// let opts = cairn::RewriteOptions::default().exclude(vec!["*.key".into()]).forget(true);
    /// let r = repo.rewrite(&first.id, &opts)?;
    /// assert_eq!((r.files_removed, r.bytes_removed), (1, 8));
    /// let new = r.new.expect("rewritten");
    /// assert!(repo.find_path(&new, "secret.key").is_err());
    /// assert!(repo.load_snapshot(&first.id).is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn rewrite(&self, id: &SnapshotId, opts: &RewriteOptions) -> Result<RewriteReport> {
        if opts.exclude.is_empty() {
            return Err(Error::invalid(
                "rewrite: give at least one --exclude pattern",
            ));
        }
        if opts.forget && !opts.dry_run {
            self.ensure_may_delete("rewrite --forget")?;
        }
        let snap = self.load_snapshot(id)?;
        let exclude = Excludes::new(&opts.exclude)?;
        if opts.dry_run {
            let mut r = Rewriter {
                repo: self,
                exclude,
                writer: None,
                report: RewriteReport::default(),
            };
            r.tree(&snap.tree, "")?;
            r.report.snapshot = *id;
            return Ok(r.report);
        }
        let session = crate::gc::SessionGuard::start(self)?;
        self.prepare_to_write()?;
        let writer = Writer::start(self, 1, None);
        let mut r = Rewriter {
            repo: self,
            exclude,
            writer: Some(&writer),
            report: RewriteReport::default(),
        };
        let tree = r.tree(&snap.tree, "");
        let mut report = r.report;
        report.snapshot = *id;
        writer.finish()?;
        let Some(tree) = tree? else {
            return Ok(report);
        };
        let mut new = snap.clone();
        new.tree = tree;
        new.summary.files = new.summary.files.saturating_sub(report.files_removed);
        new.summary.total_bytes = new.summary.total_bytes.saturating_sub(report.bytes_removed);
        new.info
            .entry(INFO_REWRITTEN_FROM.to_string())
            .or_insert_with(|| id.to_hex());
        session.confirm_alive()?;
        let new_id = self.save_snapshot(&new)?;
        drop(session);
        report.new = Some(new_id);
        if opts.forget {
            self.backend()
                .delete(crate::backend::FileKind::Snapshot, &id.to_hex())?;
            report.forgotten = true;
        }
        Ok(report)
    }
}
