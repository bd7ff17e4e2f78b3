//! The FUSE side: a read-only file system over [`Inodes`].

use super::file::{ChunkCache, OpenFile};
use super::layout::{Entry, Inodes};
use cairn::{BlobId, Node, NodeKind, Repository, Tree};
use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, LockOwner,
    OpenFlags, ReplyAttr, ReplyData, ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyOpen,
    ReplyStatfs, Request,
};
use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Snapshots never change: the kernel may cache what it was told.
const TTL: Duration = Duration::from_secs(60);

/// The mounted repository.
pub struct SnapshotFs {
    repo: Repository,
    inodes: Mutex<Inodes>,
    cache: ChunkCache,
    open: Mutex<HashMap<u64, Arc<OpenFile>>>,
    next_fh: AtomicU64,
    /// Recently listed trees: a lookup of each entry of a directory must
    /// not decode the directory again.
    trees: Mutex<HashMap<BlobId, Arc<Tree>>>,
}

/// Trees kept before the cache starts over.
const CACHED_TREES: usize = 256;

impl SnapshotFs {
    /// A file system over `repo` with the fixed levels in `inodes`.
    pub fn new(repo: Repository, inodes: Inodes) -> Self {
        SnapshotFs {
            cache: ChunkCache::new(repo.clone()),
            repo,
            inodes: Mutex::new(inodes),
            open: Mutex::new(HashMap::new()),
            next_fh: AtomicU64::new(1),
            trees: Mutex::new(HashMap::new()),
        }
    }

    fn tree(&self, id: &BlobId) -> Result<Arc<Tree>, Errno> {
        let lock = || self.trees.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = lock().get(id) {
            return Ok(t.clone());
        }
        let tree = Arc::new(self.repo.load_tree(id).map_err(|e| {
            tracing::warn!("mount: tree {id}: {e}");
            Errno::EIO
        })?);
        if let Err(e) = tree.check_names() {
            // A damaged or hostile tree: none of its names is shown. It is
            // checked once, here, so lookups can search it by name.
            tracing::warn!("mount: tree {id}: {e}");
            return Err(Errno::EIO);
        }
        let mut cache = lock();
        if cache.len() >= CACHED_TREES {
            cache.clear();
        }
        cache.insert(*id, tree.clone());
        Ok(tree)
    }

    fn inodes(&self) -> MutexGuard<'_, Inodes> {
        self.inodes.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn attr(&self, ino: u64) -> Option<FileAttr> {
        let t = self.inodes();
        let top = t.top_time_ns;
        Some(match t.get(ino)? {
            Entry::Dir(c) => fixed_attr(ino, FileType::Directory, 0o555, 0, top, c.len()),
            Entry::Link(target) => {
                fixed_attr(ino, FileType::Symlink, 0o777, target.len() as u64, top, 0)
            }
            Entry::Snap(node) => node_attr(ino, node),
        })
    }

    /// The inode of `name` in directory `parent`, if it has one: a map
    /// lookup or a binary search, so looking up every entry of a large
    /// directory costs no more than listing it.
    fn child(&self, parent: u64, name: &[u8]) -> Result<Option<u64>, Errno> {
        let subtree = {
            let t = self.inodes();
            match t.get(parent).ok_or(Errno::ENOENT)? {
                Entry::Dir(c) => return Ok(c.get(OsStr::from_bytes(name)).copied()),
                Entry::Snap(node) => match &node.kind {
                    NodeKind::Dir { subtree } => *subtree,
                    _ => return Err(Errno::ENOTDIR),
                },
                _ => return Err(Errno::ENOTDIR),
            }
        };
        let tree = self.tree(&subtree)?;
        Ok(tree.find(name).map(|n| self.inodes().child(parent, n)))
    }

    /// The entries of directory `ino`: (inode, kind, name).
    fn entries(&self, ino: u64) -> Result<Vec<(u64, FileType, Vec<u8>)>, Errno> {
        let entry = self.inodes().get(ino).cloned().ok_or(Errno::ENOENT)?;
        match entry {
            Entry::Dir(c) => {
                let t = self.inodes();
                Ok(c.iter()
                    .map(|(name, &i)| {
                        let kind = match t.get(i) {
                            Some(Entry::Link(_)) => FileType::Symlink,
                            _ => FileType::Directory,
                        };
                        (i, kind, name.as_bytes().to_vec())
                    })
                    .collect())
            }
            Entry::Snap(node) if matches!(node.kind, NodeKind::Dir { .. }) => {
                let NodeKind::Dir { subtree } = node.kind else {
                    return Err(Errno::ENOTDIR);
                };
                let tree = self.tree(&subtree)?;
                let mut t = self.inodes();
                Ok(tree
                    .nodes
                    .iter()
                    .map(|n| (t.child(ino, n), file_type(&n.kind), n.name.clone()))
                    .collect())
            }
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn open_file(&self, ino: u64) -> Result<OpenFile, Errno> {
        let node = match self.inodes().get(ino) {
            Some(Entry::Snap(n)) => (**n).clone(),
            Some(_) => return Err(Errno::EISDIR),
            None => return Err(Errno::ENOENT),
        };
        let content = node.content().ok_or(Errno::EINVAL)?;
        let fail = |e: String| {
            tracing::warn!("mount: {}: {e}", node.name_lossy());
            Errno::EIO
        };
        let chunks = self
            .repo
            .chunk_list(content)
            .map_err(|e| fail(e.to_string()))?;
        OpenFile::new(&self.repo, chunks).map_err(fail)
    }
}

fn file_type(kind: &NodeKind) -> FileType {
    match kind {
        NodeKind::File { .. } | NodeKind::Stream { .. } => FileType::RegularFile,
        NodeKind::Dir { .. } => FileType::Directory,
        NodeKind::Symlink { .. } => FileType::Symlink,
        NodeKind::Fifo => FileType::NamedPipe,
        NodeKind::CharDevice { .. } => FileType::CharDevice,
        NodeKind::BlockDevice { .. } => FileType::BlockDevice,
        NodeKind::Socket => FileType::Socket,
    }
}

fn time(ns: i64) -> SystemTime {
    if ns >= 0 {
        UNIX_EPOCH + Duration::from_nanos(ns as u64)
    } else {
        UNIX_EPOCH - Duration::from_nanos(ns.unsigned_abs())
    }
}

fn fixed_attr(ino: u64, kind: FileType, perm: u16, size: u64, ns: i64, subdirs: usize) -> FileAttr {
    let t = time(ns);
    FileAttr {
        ino: INodeNo(ino),
        size,
        blocks: 0,
        atime: t,
        mtime: t,
        ctime: t,
        crtime: t,
        kind,
        perm,
        nlink: 2 + subdirs as u32,
        uid: 0,
        gid: 0,
        rdev: 0,
        blksize: 4096,
        flags: 0,
    }
}

fn node_attr(ino: u64, n: &Node) -> FileAttr {
    let m = &n.meta;
    let kind = file_type(&n.kind);
    let (size, rdev) = match &n.kind {
        NodeKind::Symlink { target } => (target.len() as u64, 0),
        NodeKind::CharDevice { rdev } | NodeKind::BlockDevice { rdev } => (0, *rdev as u32),
        other => (
            match other {
                NodeKind::File { size, .. } | NodeKind::Stream { size, .. } => *size,
                _ => 0,
            },
            0,
        ),
    };
    let perm = match (m.mode & 0o7777, kind) {
        // Streams (and nodes without recorded modes) read as 0644 / 0755.
        (0, FileType::Directory) => 0o755,
        (0, _) => 0o644,
        (p, _) => p as u16,
    };
    FileAttr {
        ino: INodeNo(ino),
        size,
        blocks: size.div_ceil(512),
        atime: time(m.atime_ns),
        mtime: time(m.mtime_ns),
        ctime: time(m.ctime_ns),
        crtime: time(m.mtime_ns),
        kind,
        perm,
        nlink: m.nlink.clamp(1, u64::from(u32::MAX)) as u32,
        uid: m.uid,
        gid: m.gid,
        rdev,
        blksize: 4096,
        flags: 0,
    }
}

impl Filesystem for SnapshotFs {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let found = self
            .child(parent.0, name.as_bytes())
            .map(|i| i.and_then(|i| self.attr(i)));
        match found {
            Ok(Some(a)) => reply.entry(&TTL, &a, Generation(0)),
            Ok(None) => reply.error(Errno::ENOENT),
            Err(e) => reply.error(e),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.attr(ino.0) {
            Some(a) => reply.attr(&TTL, &a),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        match self.inodes().get(ino.0) {
            Some(Entry::Link(t)) => reply.data(t),
            Some(Entry::Snap(n)) => match &n.kind {
                NodeKind::Symlink { target } => reply.data(target),
                _ => reply.error(Errno::EINVAL),
            },
            _ => reply.error(Errno::EINVAL),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        if flags.0 & libc::O_ACCMODE != libc::O_RDONLY {
            return reply.error(Errno::EROFS);
        }
        match self.open_file(ino.0) {
            Ok(f) => {
                let fh = self.next_fh.fetch_add(1, Ordering::Relaxed);
                self.open
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(fh, Arc::new(f));
                reply.opened(FileHandle(fh), FopenFlags::FOPEN_KEEP_CACHE)
            }
            Err(e) => reply.error(e),
        }
    }

    fn read(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let file = self
            .open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&fh.0)
            .cloned();
        let Some(file) = file else {
            return reply.error(Errno::EBADF);
        };
        match file.read(&self.cache, offset, size) {
            Ok(data) => reply.data(&data),
            Err(e) => {
                tracing::warn!("mount: read failed: {e}");
                reply.error(Errno::EIO)
            }
        }
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        self.open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&fh.0);
        reply.ok();
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let entries = match self.entries(ino.0) {
            Ok(e) => e,
            Err(e) => return reply.error(e),
        };
        let dots = [
            (ino.0, FileType::Directory, b".".to_vec()),
            (ino.0, FileType::Directory, b"..".to_vec()),
        ];
        for (i, (child, kind, name)) in dots
            .into_iter()
            .chain(entries)
            .enumerate()
            .skip(offset as usize)
        {
            if reply.add(
                INodeNo(child),
                (i + 1) as u64,
                kind,
                OsStr::from_bytes(&name),
            ) {
                break;
            }
        }
        reply.ok()
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        reply.statfs(0, 0, 0, 0, 0, 4096, 255, 4096)
    }
}
