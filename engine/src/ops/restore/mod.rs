//! Restore to a directory, and dump of one file or stream to a writer.
//!
//! Restore never follows a symlink it meets in the target and never writes
//! outside it ([`target`]); every tree is checked (safe, unique, sorted
//! names) before any of its names is used. Existing entries are handled by
//! the [`Overwrite`] policy; an entry that cannot be restored is reported
//! and the rest of the restore goes on.

mod apply;
mod dump;
mod select;
pub use dump::DumpReport;
mod tar;
pub use tar::TarReport;
mod target;
mod verify;
mod write;

use crate::error::{Error, Result};
use crate::id::{BlobId, SnapshotId};
use crate::repo::Repository;
use crate::tree::{Hole, Meta, Node, NodeKind, Tree};
use apply::{Outcome, Shape};
use std::collections::{BTreeSet, HashMap};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use target::{Existing, Target};
use write::Batch;

/// What to do with an entry that already exists in the target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Overwrite {
    /// Replace it (restic's default).
    #[default]
    Always,
    /// Keep a file whose size and modification time match the snapshot's
    /// (its metadata is still applied); replace it otherwise.
    IfChanged,
    /// Replace a file only when the snapshot's is newer (by mtime).
    IfNewer,
    /// Never touch an existing entry.
    Never,
}

impl Overwrite {
    /// Parses `always`, `if-changed`, `if-newer` or `never`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "always" => Ok(Overwrite::Always),
            "if-changed" => Ok(Overwrite::IfChanged),
            "if-newer" => Ok(Overwrite::IfNewer),
            "never" => Ok(Overwrite::Never),
            other => Err(Error::invalid(format!(
                "unknown overwrite policy {other:?}: use always, if-changed, if-newer or never"
            ))),
        }
    }
}

/// How owners are restored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Owners {
    /// By the recorded user and group ids (`tar --numeric-owner`; restic's
    /// behaviour). Needs root for ids other than one's own.
    #[default]
    Ids,
    /// By the recorded names where this system knows them, else by id.
    Names,
    /// Not at all: entries belong to whoever restores.
    Skip,
}

/// What to restore and where.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct RestoreOptions {
    /// Directory to restore into (created if missing).
    pub target: PathBuf,
    /// Only these snapshot paths (and what is below them), or entries
    /// matching these patterns (with `*`, `?` or `[`; as for backup's
    /// excludes) and what is below them; empty = all. An include that
    /// matches nothing is an error.
    pub include: Vec<String>,
    /// Leave out entries matching these patterns (as for backup's
    /// excludes), and what is below them.
    pub exclude: Vec<String>,
    /// What to do with entries that already exist.
    pub overwrite: Overwrite,
    /// Remove entries of restored directories that the snapshot does not
    /// have (only within what is included).
    pub delete: bool,
    /// Read every restored file back and check it against the snapshot.
    pub verify: bool,
    /// How owners are restored.
    pub owners: Owners,
    /// Live counters.
    pub progress: Option<Arc<crate::Progress>>,
}

crate::ops::setters!(RestoreOptions {
    target: PathBuf,
    include: Vec<String>,
    exclude: Vec<String>,
    overwrite: Overwrite,
    delete: bool,
    verify: bool,
    owners: Owners,
    progress: Option<Arc<crate::Progress>>,
});

impl RestoreOptions {
    /// Options that restore into `target`, everything else default.
    pub fn new(target: impl Into<PathBuf>) -> Self {
        Self::default().target(target.into())
    }
}

/// What a restore did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct RestoreReport {
    /// Files and streams written.
    pub files: u64,
    /// Directories created or reused.
    pub dirs: u64,
    /// Symlinks created.
    pub symlinks: u64,
    /// FIFOs and device nodes created.
    pub specials: u64,
    /// Files restored as hard links to an earlier one.
    pub hardlinks: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Existing entries left as they were (by the overwrite policy).
    pub unchanged: u64,
    /// Entries removed by `delete`, or replaced.
    pub removed: u64,
    /// Files read back and found identical (with `verify`).
    pub verified: u64,
    /// Sockets, which are not restored.
    pub sockets_skipped: u64,
    /// Entries that could not be restored, one line each.
    pub problems: Vec<String>,
    /// Kinds of metadata that could not be applied, once each.
    pub not_applied: Vec<String>,
}

impl RestoreReport {
    /// True when everything was restored with all its metadata.
    pub fn complete(&self) -> bool {
        self.problems.is_empty() && self.not_applied.is_empty()
    }
}

/// One entry whose metadata is applied after all content is written.
struct Record {
    rel: PathBuf,
    shape: Shape,
    meta: Meta,
}

struct Restorer<'a> {
    repo: &'a Repository,
    opts: &'a RestoreOptions,
    target: Target,
    batch: Batch,
    summary: RestoreReport,
    records: Vec<Record>,
    outcome: Outcome,
    /// First restored path of each (device, inode) with more than one link.
    links: HashMap<(u64, u64), PathBuf>,
    /// Restored files and their chunks, for `verify`.
    written: Vec<(PathBuf, BlobList)>,
    matched: bool,
    select: select::Selection,
}

/// A file's chunk ids, kept for verification.
type BlobList = Arc<Vec<BlobId>>;

impl Repository {
    /// Restores a snapshot (or the included part of it) under `opts.target`.
    ///
    /// Entries that cannot be restored, and metadata that cannot be applied,
    /// are reported in the summary ([`RestoreReport::complete`] is false)
    /// while the rest goes on. Damaged data stops the restore with an error
    /// that names the files it affects.
    ///
    /// ```
    /// # fn main() -> cairn::Result<()> {
    /// # use std::sync::Arc;
    /// # let opts = cairn::InitOptions::default().argon2(cairn::Argon2Params::insecure_for_tests());
    /// # let secret = cairn::Secret::passphrase("example");
    /// # let repo = cairn::Repository::init(Arc::new(cairn::ObjectBackend::memory()?), &secret, opts.clone())?;
    /// # let stream = cairn::StreamSource::from_reader("db/dump.sql", &b"CREATE TABLE t();"[..]);
    /// # let first = repo.backup(cairn::BackupOptions::default().streams(vec![stream]))?;
    /// let target = std::env::temp_dir().join(format!("cairn-restore-doc-{}", std::process::id()));
    /// let report = repo.restore(&first.id, cairn::RestoreOptions::new(&target).verify(true))?;
    /// assert_eq!(std::fs::read(target.join("db/dump.sql"))?, b"CREATE TABLE t();");
    /// assert!(report.problems.is_empty());
    /// # std::fs::remove_dir_all(&target)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn restore(&self, snapshot: &SnapshotId, opts: RestoreOptions) -> Result<RestoreReport> {
        let snap = self.load_snapshot(snapshot)?;
        let root = self.load_tree(&snap.tree)?;
        let target = Target::open_root(&opts.target).map_err(|e| Error::io(&opts.target, e))?;
        let mut r = Restorer {
            repo: self,
            opts: &opts,
            target,
            batch: Batch::new(),
            summary: RestoreReport::default(),
            records: Vec::new(),
            outcome: Outcome::default(),
            links: HashMap::new(),
            written: Vec::new(),
            matched: opts.include.is_empty(),
            select: select::Selection::new(&opts.include, &opts.exclude)?,
        };
        let all = r.select.includes_all();
        r.dir(&root, Path::new(""), "", all)?;
        if !r.matched {
            return Err(Error::NotFound {
                kind: "path".into(),
                name: format!(
                    "{} in snapshot {} (--include matches nothing)",
                    opts.include.join(", "),
                    snapshot.short()
                ),
            });
        }
        r.flush()?;
        // Verified before the metadata is applied: files are still ours and
        // readable (mode 0600), and reading them cannot move the atimes
        // restored next.
        if opts.verify {
            r.verify();
        }
        r.apply_metadata();
        let mut summary = r.summary;
        summary.problems.extend(r.outcome.problems);
        summary.not_applied = r
            .outcome
            .not_applied
            .into_iter()
            .map(String::from)
            .collect();
        Ok(summary)
    }

    /// Finds the node at `path` ("/a/b" or "a/b") in a snapshot.
    pub fn find_path(&self, snapshot: &SnapshotId, path: &str) -> Result<Node> {
        let snap = self.load_snapshot(snapshot)?;
        let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
        let not_found = || Error::NotFound {
            kind: "path".into(),
            name: format!("{path} in snapshot {}", snapshot.short()),
        };
        let (last, dirs) = comps.split_last().ok_or_else(not_found)?;
        let mut tree = self.load_tree(&snap.tree)?;
        for c in dirs {
            match tree.find(c.as_bytes()).map(|n| &n.kind) {
                Some(NodeKind::Dir { subtree }) => tree = self.load_tree(subtree)?,
                _ => return Err(not_found()),
            }
        }
        tree.find(last.as_bytes()).cloned().ok_or_else(not_found)
    }
}

impl Restorer<'_> {
    fn problem(&mut self, rel: &Path, what: impl std::fmt::Display) {
        self.summary
            .problems
            .push(format!("{}: {what}", self.target.display(rel)));
    }

    /// Restores the entries of one directory level (already created) at
    /// `rel`. `whole`: this directory is included as a whole (so are its
    /// entries, and `delete` applies to it).
    fn dir(&mut self, tree: &Tree, rel: &Path, prefix: &str, whole: bool) -> Result<()> {
        if let Err(e) = tree.check_names() {
            // A damaged or hostile tree: none of its names is used.
            self.problem(rel, format!("not restored, its tree is damaged: {e}"));
            return Ok(());
        }
        if self.opts.delete && whole {
            self.delete_extra(tree, rel);
        }
        for node in &tree.nodes {
            let name = std::ffi::OsStr::from_bytes(&node.name);
            let snap_path = format!("{prefix}/{}", node.name_lossy());
            let (this, descend) = self.select.state(self.repo, &snap_path, node, whole)?;
            if !this && !descend {
                continue;
            }
            self.matched |= this;
            let path = rel.join(name);
            if let Err(e) = self.node(node, &path, &snap_path, this) {
                match e {
                    Error::Io { source, .. } if source.raw_os_error() != Some(libc::ENOSPC) => {
                        self.problem(&path, source)
                    }
                    other => return Err(other),
                }
            }
        }
        Ok(())
    }

    fn node(&mut self, node: &Node, rel: &Path, snap_path: &str, this: bool) -> Result<()> {
        let io = |e: std::io::Error| Error::io(rel, e);
        if let NodeKind::Dir { subtree } = &node.kind {
            if !self.prepare(rel, true, node)? {
                return Ok(());
            }
            self.summary.dirs += 1;
            let sub = self.repo.load_tree(subtree)?;
            self.dir(&sub, rel, snap_path, this)?;
            if this {
                self.record(rel, Shape::FileOrDir, node);
            }
            return Ok(());
        }
        if !this {
            return Ok(());
        }
        if let NodeKind::Socket = node.kind {
            self.summary.sockets_skipped += 1;
            return Ok(());
        }
        if !self.prepare(rel, false, node)? {
            return Ok(());
        }
        match &node.kind {
            NodeKind::Symlink { target } => {
                self.target.symlink(target, rel).map_err(io)?;
                self.summary.symlinks += 1;
                self.record(rel, Shape::Symlink, node);
            }
            NodeKind::Fifo | NodeKind::CharDevice { .. } | NodeKind::BlockDevice { .. } => {
                self.special(node, rel)?
            }
            NodeKind::File { .. } | NodeKind::Stream { .. } => self.file(node, rel)?,
            NodeKind::Dir { .. } | NodeKind::Socket => {}
        }
        Ok(())
    }

    fn record(&mut self, rel: &Path, shape: Shape, node: &Node) {
        self.records.push(Record {
            rel: rel.to_path_buf(),
            shape,
            meta: node.meta.clone(),
        });
    }

    fn special(&mut self, node: &Node, rel: &Path) -> Result<()> {
        let (kind, rdev) = match node.kind {
            NodeKind::Fifo => (rustix::fs::FileType::Fifo, 0),
            NodeKind::CharDevice { rdev } => (rustix::fs::FileType::CharacterDevice, rdev),
            NodeKind::BlockDevice { rdev } => (rustix::fs::FileType::BlockDevice, rdev),
            _ => return Ok(()),
        };
        match self.target.mknod(rel, kind, rdev) {
            Ok(()) => {
                self.summary.specials += 1;
                self.record(rel, Shape::Special, node);
                Ok(())
            }
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
                self.outcome
                    .not_applied
                    .insert("device nodes: creating them needs root");
                Ok(())
            }
            Err(e) => Err(Error::io(rel, e)),
        }
    }

    /// Makes room for the entry at `rel` by the overwrite policy. Returns
    /// false when the entry is to be left as it is (or reported).
    fn prepare(&mut self, rel: &Path, is_dir: bool, node: &Node) -> Result<bool> {
        let existing = self.target.existing(rel).map_err(|e| Error::io(rel, e))?;
        let policy = self.opts.overwrite;
        let replace = match (existing, is_dir) {
            (Existing::Nothing, true) => {
                self.target.mkdir(rel).map_err(|e| Error::io(rel, e))?;
                return Ok(true);
            }
            (Existing::Nothing, false) => return Ok(true),
            (Existing::Dir, true) => return Ok(true),
            (Existing::File { size, mtime_ns }, false) => match policy {
                Overwrite::Always => true,
                Overwrite::Never => false,
                Overwrite::IfNewer => node.meta.mtime_ns > mtime_ns,
                Overwrite::IfChanged => {
                    let same = size == node.size() && mtime_ns == node.meta.mtime_ns;
                    if same && matches!(node.kind, NodeKind::File { .. } | NodeKind::Stream { .. })
                    {
                        // Content kept; its metadata is still applied.
                        self.summary.unchanged += 1;
                        self.record(rel, Shape::FileOrDir, node);
                        return Ok(false);
                    }
                    true
                }
            },
            // A different kind of entry, or a symlink: replaced only when
            // the policy allows it; a non-empty directory in the way only
            // with `delete`.
            (Existing::Dir, false) => {
                if policy != Overwrite::Always {
                    self.problem(rel, "a directory is in the way (overwrite policy keeps it)");
                    return Ok(false);
                }
                let empty = self.target.list(rel).map(|l| l.is_empty()).unwrap_or(false);
                if !empty && !self.opts.delete {
                    self.problem(
                        rel,
                        "a non-empty directory is in the way (use --delete to replace it)",
                    );
                    return Ok(false);
                }
                true
            }
            (_, _) => policy == Overwrite::Always || policy == Overwrite::IfChanged,
        };
        if !replace {
            self.summary.unchanged += 1;
            return Ok(false);
        }
        self.target.remove(rel).map_err(|e| Error::io(rel, e))?;
        self.summary.removed += 1;
        if is_dir {
            self.target.mkdir(rel).map_err(|e| Error::io(rel, e))?;
        }
        Ok(true)
    }

    /// Removes entries of `rel` that `tree` does not have.
    fn delete_extra(&mut self, tree: &Tree, rel: &Path) {
        let keep: BTreeSet<&[u8]> = tree.nodes.iter().map(|n| n.name.as_slice()).collect();
        let names = match self.target.list(rel) {
            Ok(n) => n,
            Err(e) => return self.problem(rel, format!("not listed for --delete: {e}")),
        };
        for name in names.iter().filter(|n| !keep.contains(n.as_slice())) {
            let p = rel.join(std::ffi::OsStr::from_bytes(name));
            match self.target.remove(&p) {
                Ok(()) => self.summary.removed += 1,
                Err(e) => self.problem(&p, format!("not deleted: {e}")),
            }
        }
    }

    fn file(&mut self, node: &Node, rel: &Path) -> Result<()> {
        let content = node.content().ok_or_else(|| Error::invalid("no content"))?;
        let ids = Arc::new(self.repo.chunk_list(content)?);
        let linked = node.meta.nlink > 1 && matches!(node.kind, NodeKind::File { .. });
        if linked {
            let key = (node.meta.dev, node.meta.inode);
            if let Some(first) = self.links.get(&key).cloned() {
                self.target
                    .link(&first, rel)
                    .map_err(|e| Error::io(rel, e))?;
                self.summary.hardlinks += 1;
                return Ok(());
            }
            self.links.insert(key, rel.to_path_buf());
        }
        let holes: Vec<Hole> = match &node.kind {
            NodeKind::File { holes, .. } => holes.clone(),
            _ => Vec::new(),
        };
        // A file with one chunk is created when that chunk arrives (one
        // open instead of two), unless something must find it sooner.
        let whole = ids.len() == 1 && !linked && holes.is_empty();
        if !whole {
            write::create(&self.target, rel, node.size()).map_err(|e| Error::io(rel, e))?;
        }
        let holes = (!holes.is_empty()).then(|| Arc::new(holes));
        let rel_arc: Arc<Path> = Arc::from(rel);
        let mut offset = 0u64;
        for id in ids.iter() {
            let len = self
                .repo
                .blob_location(id)
                .map(|l| u64::from(l.raw_len))
                .ok_or_else(|| match self.repo.blob_not_found(id) {
                    Error::NotFound { kind, name } => Error::NotFound {
                        kind,
                        name: format!("{name}, needed by {}", self.target.display(rel)),
                    },
                    e => e,
                })?;
            self.batch
                .add(*id, len, rel_arc.clone(), offset, whole, holes.clone());
            offset += len;
            if self.batch.full() {
                self.flush()?;
            }
        }
        if offset != node.size() {
            return Err(Error::corrupt(
                format!("file {}", self.target.display(rel)),
                format!("chunks hold {offset} bytes, node says {}", node.size()),
            ));
        }
        self.summary.files += 1;
        self.summary.bytes += offset;
        if let Some(p) = &self.opts.progress {
            crate::Progress::add(&p.files, 1);
            p.notify();
        }
        if self.opts.verify {
            self.written.push((rel.to_path_buf(), ids));
        }
        self.record(rel, Shape::FileOrDir, node);
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        let batch = std::mem::replace(&mut self.batch, Batch::new());
        let failed = write::flush(
            self.repo,
            &self.target,
            batch,
            self.opts.progress.as_deref(),
        )?;
        for (rel, e) in failed {
            self.problem(&rel, e);
        }
        Ok(())
    }

    fn apply_metadata(&mut self) {
        // Recorded children before their directory, so a directory's mode
        // and times are set after everything inside it.
        for r in std::mem::take(&mut self.records) {
            self.outcome
                .apply(&self.target, &r.rel, r.shape, &r.meta, self.opts.owners);
        }
    }

    fn verify(&mut self) {
        let written = std::mem::take(&mut self.written);
        let (ok, bad) = verify::verify(self.repo, &self.target, &written);
        self.summary.verified = ok;
        for (rel, why) in bad {
            self.problem(&rel, format!("verification failed: {why}"));
        }
    }
}
