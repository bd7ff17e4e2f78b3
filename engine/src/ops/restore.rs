//! Restore to a directory, and dump of one file or stream to a writer.

use super::fetch::{fetch_blobs, for_each_blob};
use crate::error::{Error, Result};
use crate::id::{BlobId, SnapshotId};
use crate::repo::Repository;
use crate::tree::{Meta, Node, NodeKind, Tree};
use std::collections::HashMap;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Raw bytes fetched per batch (bounds restore memory).
const BATCH_BYTES: u64 = 64 << 20;

/// Raw bytes fetched per batch by `dump`, which holds a whole batch to
/// write it in order.
const DUMP_BATCH_BYTES: u64 = 32 << 20;

/// What to restore and where.
#[derive(Clone, Debug, Default)]
pub struct RestoreOptions {
    /// Directory to restore into (created if missing).
    pub target: PathBuf,
    /// Only these snapshot paths (and what is below them); empty = all.
    pub include: Vec<String>,
    /// Live counters.
    pub progress: Option<Arc<crate::Progress>>,
}

/// What a restore did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RestoreSummary {
    /// Files and streams written.
    pub files: u64,
    /// Directories created.
    pub dirs: u64,
    /// Symlinks created.
    pub symlinks: u64,
    /// Bytes written.
    pub bytes: u64,
}

struct Target {
    path: PathBuf,
    offset: u64,
    /// The file's only chunk: the file is created when it arrives, in
    /// one open, instead of created empty first and reopened to write.
    whole: bool,
}

struct Batch {
    wanted: HashMap<BlobId, Vec<Target>>,
    order: Vec<BlobId>,
    bytes: u64,
}

impl Batch {
    fn new() -> Self {
        Batch {
            wanted: HashMap::new(),
            order: Vec::new(),
            bytes: 0,
        }
    }
}

fn include_state(path: &str, include: &[String]) -> (bool, bool) {
    // (restore this node, descend into it)
    if include.is_empty() {
        return (true, true);
    }
    let mut this = false;
    let mut descend = false;
    for inc in include {
        let inc = inc.trim_end_matches('/');
        let inc = if inc.starts_with('/') {
            inc.to_string()
        } else {
            format!("/{inc}")
        };
        if path == inc || path.starts_with(&format!("{inc}/")) {
            this = true;
            descend = true;
        } else if inc.starts_with(&format!("{path}/")) {
            descend = true;
        }
    }
    (this, descend)
}

struct Restorer<'a> {
    repo: &'a Repository,
    opts: &'a RestoreOptions,
    batch: Batch,
    summary: RestoreSummary,
    metas: Vec<(PathBuf, Meta, bool)>,
}

impl Repository {
    /// Restores a snapshot (or the included part of it) under `opts.target`.
    pub fn restore(&self, snapshot: &SnapshotId, opts: RestoreOptions) -> Result<RestoreSummary> {
        let snap = self.load_snapshot(snapshot)?;
        let root = self.load_tree(&snap.tree)?;
        std::fs::create_dir_all(&opts.target).map_err(|e| Error::io(&opts.target, e))?;
        let mut r = Restorer {
            repo: self,
            opts: &opts,
            batch: Batch::new(),
            summary: RestoreSummary::default(),
            metas: Vec::new(),
        };
        r.tree(&root, &opts.target, "")?;
        r.flush()?;
        r.apply_metadata()?;
        Ok(r.summary)
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

    /// Writes a file's or stream's content to `out`, in order, fetching
    /// chunks pack by pack in parallel. Returns the bytes written.
    pub fn dump(&self, snapshot: &SnapshotId, path: &str, out: &mut dyn Write) -> Result<u64> {
        let node = self.find_path(snapshot, path)?;
        self.dump_node(&node, out)
    }

    /// As [`Repository::dump`], for a node already at hand (adapters that
    /// walk a snapshot themselves).
    pub fn dump_node(&self, node: &Node, out: &mut dyn Write) -> Result<u64> {
        let name = node.name_lossy();
        let content = node
            .content()
            .ok_or_else(|| Error::invalid(format!("{name} is not a file or stream")))?;
        let ids = self.chunk_list(content)?;
        let mut written = 0u64;
        let mut start = 0;
        while start < ids.len() {
            let mut end = start;
            let mut bytes = 0u64;
            while end < ids.len() && (bytes < DUMP_BATCH_BYTES || end == start) {
                bytes += self
                    .blob_location(&ids[end])
                    .map(|l| u64::from(l.raw_len))
                    .unwrap_or(0);
                end += 1;
            }
            let got = fetch_blobs(self, &ids[start..end])?;
            for id in &ids[start..end] {
                let data = got.get(id).ok_or_else(|| Error::NotFound {
                    kind: "blob".into(),
                    name: id.to_hex(),
                })?;
                out.write_all(data).map_err(|e| Error::io("<output>", e))?;
                written += data.len() as u64;
            }
            start = end;
        }
        out.flush().map_err(|e| Error::io("<output>", e))?;
        Ok(written)
    }
}

impl Restorer<'_> {
    fn tree(&mut self, tree: &Tree, dir: &Path, prefix: &str) -> Result<()> {
        for node in &tree.nodes {
            let name = std::ffi::OsStr::from_bytes(&node.name);
            let name_s = node.name_lossy();
            if name_s.contains('/') || name_s == ".." || name_s == "." || name_s.is_empty() {
                return Err(Error::corrupt(
                    "tree",
                    format!("unsafe file name {name_s:?}"),
                ));
            }
            let snap_path = format!("{prefix}/{name_s}");
            let (this, descend) = include_state(&snap_path, &self.opts.include);
            if !this && !descend {
                continue;
            }
            let path = dir.join(name);
            match &node.kind {
                NodeKind::Dir { subtree } => {
                    std::fs::create_dir_all(&path).map_err(|e| Error::io(&path, e))?;
                    self.summary.dirs += 1;
                    let sub = self.repo.load_tree(subtree)?;
                    self.tree(&sub, &path, &snap_path)?;
                    self.metas.push((path, node.meta, false));
                }
                _ if !this => {}
                NodeKind::Symlink { target } => {
                    let _ = std::fs::remove_file(&path);
                    std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(target), &path)
                        .map_err(|e| Error::io(&path, e))?;
                    self.summary.symlinks += 1;
                    self.metas.push((path, node.meta, true));
                }
                NodeKind::File { .. } | NodeKind::Stream { .. } => self.file(node, path)?,
            }
        }
        Ok(())
    }

    fn file(&mut self, node: &Node, path: PathBuf) -> Result<()> {
        let ids = self
            .repo
            .chunk_list(node.content().ok_or_else(|| Error::invalid("no content"))?)?;
        let whole = ids.len() == 1;
        if !whole {
            let f = std::fs::File::create(&path).map_err(|e| Error::io(&path, e))?;
            f.set_len(node.size()).map_err(|e| Error::io(&path, e))?;
        }
        let mut offset = 0u64;
        for id in ids {
            let len = self
                .repo
                .blob_location(&id)
                .map(|l| u64::from(l.raw_len))
                .ok_or_else(|| match self.repo.blob_not_found(&id) {
                    Error::NotFound { kind, name } => Error::NotFound {
                        kind,
                        name: format!("{name}, needed by {}", path.display()),
                    },
                    e => e,
                })?;
            let entry = self.batch.wanted.entry(id).or_default();
            if entry.is_empty() {
                self.batch.order.push(id);
                self.batch.bytes += len;
            }
            entry.push(Target {
                path: path.clone(),
                offset,
                whole,
            });
            offset += len;
            if self.batch.bytes >= BATCH_BYTES {
                self.flush()?;
            }
        }
        if offset != node.size() {
            return Err(Error::corrupt(
                format!("file {}", path.display()),
                format!("chunks hold {offset} bytes, node says {}", node.size()),
            ));
        }
        self.summary.files += 1;
        self.summary.bytes += offset;
        if let Some(p) = &self.opts.progress {
            crate::Progress::add(&p.files, 1);
            p.notify();
        }
        self.metas.push((path, node.meta, false));
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        let batch = std::mem::replace(&mut self.batch, Batch::new());
        if batch.order.is_empty() {
            return Ok(());
        }
        let progress = self.opts.progress.as_deref();
        // Writers of one file take turns: concurrent pwrite on one inode
        // made the kernel spin on its lock (measured, docs/performance.md).
        let stripes: Vec<std::sync::Mutex<()>> =
            (0..16).map(|_| std::sync::Mutex::new(())).collect();
        let write = |id: &BlobId, data: crate::pool::Pooled| -> Result<()> {
            let targets = batch.wanted.get(id).ok_or_else(|| Error::NotFound {
                kind: "blob".into(),
                name: id.to_hex(),
            })?;
            for t in targets {
                let stripe = {
                    use std::hash::{Hash, Hasher};
                    let mut h = std::collections::hash_map::DefaultHasher::new();
                    t.path.hash(&mut h);
                    (h.finish() % 16) as usize
                };
                let _turn = stripes[stripe].lock().unwrap_or_else(|p| p.into_inner());
                let f = match t.whole {
                    true => std::fs::File::create(&t.path),
                    false => std::fs::OpenOptions::new().write(true).open(&t.path),
                }
                .map_err(|e| Error::io(&t.path, e))?;
                f.write_all_at(&data, t.offset)
                    .map_err(|e| Error::io(&t.path, e))?;
                if let Some(p) = progress {
                    crate::Progress::add(&p.bytes, data.len() as u64);
                }
            }
            Ok(())
        };
        for_each_blob(self.repo, &batch.order, &write).map_err(|e| name_files(e, &batch))
    }

    fn apply_metadata(&mut self) -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        // Recorded children before their directory, so a directory's mode
        // and times are set after everything inside it.
        for (path, meta, is_link) in self.metas.drain(..) {
            let t = filetime::FileTime::from_unix_time(
                meta.mtime_ns.div_euclid(1_000_000_000),
                meta.mtime_ns.rem_euclid(1_000_000_000) as u32,
            );
            if is_link {
                filetime::set_symlink_file_times(&path, t, t).map_err(|e| Error::io(&path, e))?;
                continue;
            }
            let mode = meta.mode & 0o7777;
            if mode != 0 {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
                    .map_err(|e| Error::io(&path, e))?;
            }
            filetime::set_file_times(&path, t, t).map_err(|e| Error::io(&path, e))?;
        }
        Ok(())
    }
}

/// Adds the affected files to a corruption or missing-blob error.
fn name_files(e: Error, batch: &Batch) -> Error {
    let blob_hex = match &e {
        Error::Corrupt { detail, what } => format!("{what} {detail}"),
        Error::NotFound { name, .. } => name.clone(),
        _ => return e,
    };
    let files: Vec<String> = batch
        .wanted
        .iter()
        .filter(|(id, _)| blob_hex.contains(&id.to_hex()))
        .flat_map(|(_, ts)| ts.iter().map(|t| t.path.display().to_string()))
        .collect();
    if files.is_empty() {
        return e;
    }
    match e {
        Error::Corrupt { what, detail } => Error::Corrupt {
            what,
            detail: format!("{detail}; affected files: {}", files.join(", ")),
        },
        Error::NotFound { kind, name } => Error::NotFound {
            kind,
            name: format!("{name} (needed by {})", files.join(", ")),
        },
        other => other,
    }
}
