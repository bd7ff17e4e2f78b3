//! Walking a file tree: one directory at a time, files in parallel. The
//! walker lists and starts directories ahead of their files' results and
//! collects the results when a directory's tree is needed (or when too many
//! are outstanding), so workers are not left idle at each directory's end.
//! Files go to the workers in batches, so a tree of small files costs one
//! hand-off per batch rather than several per file.

use super::content::{save_file, FileRead};
use super::meta::{full_meta, stat_meta, Names};
use crate::blob::BlobKind;
use crate::chunker::Chunker;
use crate::error::{Error, Result};
use crate::exclude::Excludes;
use crate::id::BlobId;
use crate::snapshot::Summary;
use crate::tree::{Content, Meta, Node, NodeKind, Tree, FLAG_CHANGED};
use crate::writer::make_content;
use crate::writer::{Held, Writer};
use crossbeam_channel::{bounded, Receiver, Sender};
use std::cell::RefCell;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Mutex;

type FileResult = Result<FileRead>;

/// Files in one batch at most.
const BATCH_FILES: usize = 64;
/// A batch is sent once its files add up to this many bytes.
const BATCH_BYTES: u64 = 4 << 20;

/// Files for a worker to chunk and store, with one reply for all.
pub(crate) struct FileJob {
    paths: Vec<PathBuf>,
    reply: Sender<Vec<FileResult>>,
}

/// The batch the walker is filling.
struct OpenBatch {
    paths: Vec<PathBuf>,
    bytes: u64,
    reply: Rc<BatchReply>,
    tx: Sender<Vec<FileResult>>,
}

/// The results of one batch, received when the first is needed.
struct BatchReply {
    rx: Receiver<Vec<FileResult>>,
    results: RefCell<Option<Vec<Option<FileResult>>>>,
}

/// Where one file's result will be: its batch and its place in it.
struct Ticket {
    batch: Rc<BatchReply>,
    index: usize,
}

impl Ticket {
    fn take(self) -> FileResult {
        let mut results = self.batch.results.borrow_mut();
        if results.is_none() {
            let got = self.batch.rx.recv();
            let got = got.map_err(|_| Error::internal("file worker stopped"))?;
            *results = Some(got.into_iter().map(Some).collect());
        }
        results
            .as_mut()
            .and_then(|r| r.get_mut(self.index))
            .and_then(Option::take)
            .ok_or_else(|| Error::internal("a file worker lost a result"))?
    }
}

/// Shared state of one tree walk.
pub(crate) struct Walker<'a> {
    pub writer: &'a Writer,
    pub excludes: &'a Excludes,
    pub jobs: Sender<FileJob>,
    pub summary: Mutex<Summary>,
    pub warnings: Mutex<Vec<String>>,
    /// Files that changed while they were read (stored as read).
    pub changed: Mutex<Vec<String>>,
    /// New, changed and unmodified files and directories.
    pub changes: Mutex<super::Changes>,
    pub progress: Option<&'a crate::Progress>,
    names: Names,
    batch: RefCell<Option<OpenBatch>>,
}

/// Body of a file worker thread.
pub(crate) fn file_worker(
    writer: &Writer,
    chunker: &Chunker,
    rx: &Receiver<FileJob>,
    progress: Option<&crate::Progress>,
) {
    for job in rx {
        let mut held = Held::default();
        let mut results: Vec<FileResult> = job
            .paths
            .iter()
            .map(|path| {
                if writer.failed() {
                    return Err(Error::invalid("backup aborted"));
                }
                writer.check_cancel()?;
                let _reading = progress.and_then(|p| p.file_started(path));
                save_file(writer, chunker, path, &mut held, progress)
            })
            .collect();
        // The ids go back only once their blobs are on their way to a pack.
        if writer.send_held(&mut held).is_err() {
            results = job.paths.iter().map(|_| Err(writer.error())).collect();
        }
        let _ = job.reply.send(results);
    }
}

/// Node metadata from `lstat` alone (directories above the sources).
pub(crate) fn meta_of(m: &std::fs::Metadata) -> Meta {
    stat_meta(m)
}

/// Unresolved entries a directory's slot list may hold before the walker
/// waits for them. Below it, the walker goes on to the next directory while
/// the workers still chunk this one's files, so a tree of small
/// directories does not stall the workers at every directory's end.
const MAX_UNRESOLVED: usize = 1024;

enum Slot {
    Done(Node),
    Pending(Vec<u8>, Meta, Ticket, PathBuf),
    /// A directory whose entries are not all resolved yet, and the
    /// parent snapshot's subtree of the same name.
    Dir(Vec<u8>, Meta, Slots, Option<BlobId>),
}

impl Slot {
    fn unresolved(&self) -> usize {
        match self {
            Slot::Done(_) => 0,
            Slot::Pending(..) => 1,
            Slot::Dir(_, _, slots, _) => slots.unresolved + 1,
        }
    }
}

/// One directory's entries in name order, some perhaps still unresolved.
#[derive(Default)]
struct Slots {
    list: Vec<Slot>,
    unresolved: usize,
}

impl<'a> Walker<'a> {
    pub fn new(
        writer: &'a Writer,
        excludes: &'a Excludes,
        jobs: Sender<FileJob>,
        progress: Option<&'a crate::Progress>,
    ) -> Self {
        Walker {
            writer,
            excludes,
            jobs,
            summary: Mutex::new(Summary::default()),
            warnings: Mutex::new(Vec::new()),
            changed: Mutex::new(Vec::new()),
            changes: Mutex::new(super::Changes::default()),
            progress,
            names: Names::default(),
            batch: RefCell::new(None),
        }
    }

    /// Adds a file to the open batch, and sends the batch once full.
    fn enqueue(&self, path: &Path, len: u64) -> Result<Ticket> {
        let full = {
            let mut open = self.batch.borrow_mut();
            let b = open.get_or_insert_with(|| {
                let (tx, rx) = bounded(1);
                let reply = BatchReply {
                    rx,
                    results: RefCell::new(None),
                };
                OpenBatch {
                    paths: Vec::new(),
                    bytes: 0,
                    reply: Rc::new(reply),
                    tx,
                }
            });
            b.paths.push(path.to_path_buf());
            b.bytes += len;
            let ticket = Ticket {
                batch: b.reply.clone(),
                index: b.paths.len() - 1,
            };
            (
                b.paths.len() >= BATCH_FILES || b.bytes >= BATCH_BYTES,
                ticket,
            )
        };
        if full.0 {
            self.send_batch()?;
        }
        Ok(full.1)
    }

    /// Sends the open batch, if any, to the workers.
    fn send_batch(&self) -> Result<()> {
        let Some(b) = self.batch.borrow_mut().take() else {
            return Ok(());
        };
        let job = FileJob {
            paths: b.paths,
            reply: b.tx,
        };
        self.jobs
            .send(job)
            .map_err(|_| Error::internal("file workers stopped"))
    }

    fn warn(&self, path: &Path, e: &Error) {
        let msg = match e {
            Error::Io { source, .. } => format!("{}: {source}", path.display()),
            other => format!("{}: {other}", path.display()),
        };
        self.warn_text(msg);
    }

    fn warn_text(&self, msg: String) {
        self.warnings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(msg);
        self.summary
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .errors += 1;
        if let Some(p) = self.progress {
            crate::Progress::add(&p.errors, 1);
        }
    }

    fn count(&self, f: impl FnOnce(&mut Summary)) {
        f(&mut self.summary.lock().unwrap_or_else(|p| p.into_inner()));
    }

    fn count_change(&self, f: impl FnOnce(&mut super::Changes)) {
        f(&mut self.changes.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// Builds the node for one path. `None` when the entry is skipped
    /// (excluded or unreadable).
    pub fn node_for(
        &self,
        path: &Path,
        name: Vec<u8>,
        parent: Option<&Node>,
    ) -> Result<Option<Node>> {
        let m = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) => {
                self.warn(path, &Error::io(path, e));
                return Ok(None);
            }
        };
        match self.slot_for(path, name, &m, parent)? {
            Some(slot) => self.resolve_slot(slot),
            None => Ok(None),
        }
    }

    fn slot_for(
        &self,
        path: &Path,
        name: Vec<u8>,
        m: &std::fs::Metadata,
        parent: Option<&Node>,
    ) -> Result<Option<Slot>> {
        let ft = m.file_type();
        if self.excludes.excludes(path, m) {
            return Ok(None);
        }
        let (meta, warning) = full_meta(&self.names, path, m, parent);
        if let Some(w) = warning {
            self.warn_text(w);
        }
        if ft.is_dir() {
            let parent_subtree = match parent.map(|n| &n.kind) {
                Some(NodeKind::Dir { subtree }) => Some(*subtree),
                _ => None,
            };
            let parent_tree = parent_subtree.and_then(|t| self.writer.repo().load_tree(&t).ok());
            let slots = self.dir_slots(path, parent_tree.as_ref())?;
            self.count(|s| s.dirs += 1);
            return Ok(Some(Slot::Dir(name, meta, slots, parent_subtree)));
        }
        let special = |kind| {
            Ok(Some(Slot::Done(Node {
                name: name.clone(),
                kind,
                meta: meta.clone(),
            })))
        };
        if ft.is_symlink() {
            // Reading a link sets its atime, and nothing can read it
            // without: a link's atime is not recorded (its mtime stands in).
            let mut meta = meta.clone();
            meta.atime_ns = meta.mtime_ns;
            let special = |kind| {
                Ok(Some(Slot::Done(Node {
                    name: name.clone(),
                    kind,
                    meta: meta.clone(),
                })))
            };
            return match std::fs::read_link(path) {
                Ok(t) => special(NodeKind::Symlink {
                    target: t.as_os_str().as_bytes().to_vec(),
                }),
                Err(e) => {
                    self.warn(path, &Error::io(path, e));
                    Ok(None)
                }
            };
        }
        if ft.is_fifo() {
            return special(NodeKind::Fifo);
        }
        if ft.is_char_device() {
            return special(NodeKind::CharDevice { rdev: m.rdev() });
        }
        if ft.is_block_device() {
            return special(NodeKind::BlockDevice { rdev: m.rdev() });
        }
        if ft.is_socket() {
            return special(NodeKind::Socket);
        }
        if let Some((content, holes)) = self.unchanged(parent, &meta, m.len()) {
            self.count_change(|c| c.files_unmodified += 1);
            self.count(|s| {
                s.files += 1;
                s.total_bytes += m.len();
                s.unchanged_files += 1;
            });
            if let Some(p) = self.progress {
                crate::Progress::add(&p.files, 1);
                p.notify();
            }
            let kind = NodeKind::File {
                size: m.len(),
                content,
                holes,
            };
            return Ok(Some(Slot::Done(Node { name, kind, meta })));
        }
        let ticket = self.enqueue(path, m.len())?;
        match parent {
            Some(_) => self.count_change(|c| c.files_changed += 1),
            None => self.count_change(|c| c.files_new += 1),
        }
        Ok(Some(Slot::Pending(name, meta, ticket, path.to_path_buf())))
    }

    /// The parent's content (and holes) when size, mtime, ctime and inode
    /// all match, it did not change while it was read, and its chunks are
    /// still indexed.
    fn unchanged(
        &self,
        parent: Option<&Node>,
        meta: &Meta,
        size: u64,
    ) -> Option<(Content, Vec<crate::tree::Hole>)> {
        let p = parent?;
        let NodeKind::File {
            size: psize,
            content,
            holes,
        } = &p.kind
        else {
            return None;
        };
        let same = *psize == size
            && p.meta.mtime_ns == meta.mtime_ns
            && p.meta.ctime_ns == meta.ctime_ns
            && p.meta.inode == meta.inode
            && p.meta.flags & FLAG_CHANGED == 0;
        if !same {
            return None;
        }
        let repo = self.writer.repo();
        let ids = match content {
            Content::Inline(ids) => ids.clone(),
            Content::Indirect(_) => repo.chunk_list(content).ok()?,
        };
        let index = repo.index();
        ids.iter()
            .all(|id| index.contains(id))
            .then(|| (content.clone(), holes.clone()))
    }

    fn resolve(
        &self,
        name: Vec<u8>,
        meta: Meta,
        ticket: Ticket,
        path: &Path,
    ) -> Result<Option<Node>> {
        let waits_on_open = self
            .batch
            .borrow()
            .as_ref()
            .is_some_and(|b| Rc::ptr_eq(&b.reply, &ticket.batch));
        if waits_on_open {
            self.send_batch()?;
        }
        let res = ticket.take();
        if let Some(p) = self.progress {
            crate::Progress::add(&p.files, 1);
            p.notify();
        }
        match res {
            Ok(read) => {
                let mut meta = meta;
                if read.changed {
                    meta.flags |= FLAG_CHANGED;
                    self.changed
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(path.display().to_string());
                }
                self.count(|s| {
                    s.files += 1;
                    s.total_bytes += read.size;
                    s.bytes_read += read.size;
                });
                let content = make_content(self.writer, read.ids)?;
                Ok(Some(Node {
                    name,
                    kind: NodeKind::File {
                        size: read.size,
                        content,
                        holes: read.holes,
                    },
                    meta,
                }))
            }
            Err(e @ (Error::Io { .. } | Error::Source { .. })) => {
                self.warn(path, &e);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Builds one directory level, storing everything below it.
    pub fn dir_tree(&self, dir: &Path, parent: Option<&Tree>) -> Result<Tree> {
        let slots = self.dir_slots(dir, parent)?;
        self.resolve_slots(slots)
    }

    /// Lists one directory and starts its entries: files go to the workers,
    /// subdirectories are walked at once. Waits for the entries only when
    /// more than [`MAX_UNRESOLVED`] are outstanding.
    fn dir_slots(&self, dir: &Path, parent: Option<&Tree>) -> Result<Slots> {
        let mut names: Vec<Vec<u8>> = match super::meta::list_dir(dir) {
            Ok(names) => names,
            Err(e) => {
                self.warn(dir, &Error::io(dir, e));
                Vec::new()
            }
        };
        names.sort();
        let mut slots = Slots::default();
        for name in names {
            if self.writer.failed() {
                break;
            }
            self.writer.check_cancel()?;
            let path = dir.join(std::ffi::OsStr::from_bytes(&name));
            let pnode = parent.and_then(|t| t.find(&name));
            let m = match std::fs::symlink_metadata(&path) {
                Ok(m) => m,
                Err(e) => {
                    self.warn(&path, &Error::io(&path, e));
                    continue;
                }
            };
            if let Some(s) = self.slot_for(&path, name, &m, pnode)? {
                slots.unresolved += s.unresolved();
                slots.list.push(s);
                if slots.unresolved > MAX_UNRESOLVED {
                    slots = self.settle(slots)?;
                }
            }
        }
        Ok(slots)
    }

    /// Waits for every entry of `slots`.
    fn settle(&self, slots: Slots) -> Result<Slots> {
        let list = self
            .resolve_nodes(slots)?
            .into_iter()
            .map(Slot::Done)
            .collect();
        Ok(Slots {
            list,
            unresolved: 0,
        })
    }

    /// Waits for the entries and returns the directory's tree.
    fn resolve_slots(&self, slots: Slots) -> Result<Tree> {
        Ok(Tree {
            nodes: self.resolve_nodes(slots)?,
        })
    }

    /// The nodes of the entries in order, skipping those that became warnings.
    fn resolve_nodes(&self, slots: Slots) -> Result<Vec<Node>> {
        let mut nodes = Vec::with_capacity(slots.list.len());
        for s in slots.list {
            nodes.extend(self.resolve_slot(s)?);
        }
        Ok(nodes)
    }

    /// The node of one entry, once its content (or subtree) is stored.
    fn resolve_slot(&self, slot: Slot) -> Result<Option<Node>> {
        match slot {
            Slot::Done(n) => Ok(Some(n)),
            Slot::Pending(name, meta, ticket, path) => self.resolve(name, meta, ticket, &path),
            Slot::Dir(name, meta, slots, parent) => {
                let tree = self.resolve_slots(slots)?;
                let subtree = save_tree(self.writer, &tree)?;
                self.count_change(|c| match parent {
                    None => c.dirs_new += 1,
                    Some(p) if p == subtree => c.dirs_unmodified += 1,
                    Some(_) => c.dirs_changed += 1,
                });
                Ok(Some(Node {
                    name,
                    kind: NodeKind::Dir { subtree },
                    meta,
                }))
            }
        }
    }
}

/// Stores a tree blob.
pub(crate) fn save_tree(writer: &Writer, tree: &Tree) -> Result<BlobId> {
    writer.save(BlobKind::Tree, crate::tree::encode_tree(tree))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::backup::test_repo as repo;

    /// Results come back to the right entries across several batches, and
    /// a file that fails in the middle of a batch is a warning that leaves
    /// its neighbours alone.
    #[test]
    fn batched_results_reach_their_own_entries() {
        let tmp = tempfile::tempdir().expect("tmp");
        let files: Vec<(PathBuf, Option<Vec<u8>>)> = (0..150)
            .map(|i| {
                let path = tmp.path().join(format!("f{i:03}"));
                // Two paths are missing: one in the first batch, one in the second.
                if i == 10 || i == 70 {
                    return (path, None);
                }
                let body = format!("file {i} ").repeat(i + 1).into_bytes();
                std::fs::write(&path, &body).expect("write");
                (path, Some(body))
            })
            .collect();
        let repo = repo();
        let writer = Writer::start(&repo, 2, None);
        let chunker = Chunker::new(
            repo.config()
                .profile(crate::config::PROFILE_FILES)
                .expect("profile"),
            repo.keys().chunker_seed(),
        )
        .expect("chunker");
        let excludes = Excludes::default();
        let (tx, rx) = bounded(4);
        let nodes: Vec<Option<Node>> = std::thread::scope(|scope| {
            for _ in 0..2 {
                let (rx, writer, chunker) = (rx.clone(), &writer, &chunker);
                scope.spawn(move || file_worker(writer, chunker, &rx, None));
            }
            let walker = Walker::new(&writer, &excludes, tx, None);
            let slots: Vec<Slot> = files
                .iter()
                .map(|(path, body)| {
                    let len = body.as_ref().map_or(0, |b| b.len() as u64);
                    let ticket = walker.enqueue(path, len).expect("enqueue");
                    let name = path.file_name().expect("name").as_bytes().to_vec();
                    Slot::Pending(name, Meta::default(), ticket, path.clone())
                })
                .collect();
            let nodes = slots
                .into_iter()
                .map(|s| walker.resolve_slot(s).expect("resolve"))
                .collect();
            let warnings = walker.warnings.lock().expect("lock").clone();
            assert_eq!(warnings.len(), 2, "{warnings:?}");
            assert!(warnings[0].contains("f010") && warnings[1].contains("f070"));
            nodes
        });
        writer.finish().expect("finish");
        for ((path, body), node) in files.iter().zip(&nodes) {
            let Some(body) = body else {
                assert!(node.is_none(), "{path:?} is missing yet got a node");
                continue;
            };
            let node = node.as_ref().expect("node");
            assert_eq!(node.name, path.file_name().expect("name").as_bytes());
            let NodeKind::File { size, content, .. } = &node.kind else {
                panic!("not a file node");
            };
            assert_eq!(*size, body.len() as u64);
            let ids = repo.chunk_list(content).expect("ids");
            assert_eq!(ids, vec![repo.keys().blob_id(body)]);
            assert_eq!(&repo.read_blob(&ids[0]).expect("stored"), body);
        }
    }
}
