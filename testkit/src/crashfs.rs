//! A FUSE file system that forgets what was not synced: a power cut you
//! can trigger from a test.
//!
//! It keeps every file in memory twice: as written, and as of its last
//! `fsync`/`fdatasync`. Each directory likewise keeps its entries as
//! changed and as of its last directory `fsync`. [`CrashFs::power_cut`]
//! unmounts, throws away everything not synced (file bytes written since
//! the file's last sync, entries created, renamed or removed since the
//! directory's last sync, and whatever only those entries reached), and
//! mounts the survivor again. That is the weakest behaviour POSIX allows a
//! file system after a crash, so software that survives it survives the
//! real ones.
//!
//! Needs `/dev/fuse` and root (it mounts with mount(2) directly).

use fuser::{
    Config, Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo,
    LockOwner, MountOption, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData,
    ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite, Request, TimeOrNow,
    WriteFlags,
};
use std::collections::{BTreeMap, HashMap};
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

const ROOT: u64 = 1;

#[derive(Clone, Debug)]
enum Body {
    File {
        data: Vec<u8>,
        synced: Vec<u8>,
    },
    Dir {
        entries: BTreeMap<OsString, u64>,
        synced: BTreeMap<OsString, u64>,
    },
    Symlink(PathBuf),
}

#[derive(Clone, Debug)]
struct Node {
    body: Body,
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: SystemTime,
}

/// The whole file system state.
#[derive(Debug)]
struct State {
    nodes: HashMap<u64, Node>,
    next: u64,
}

impl State {
    fn new() -> Self {
        let root = Node {
            body: Body::Dir {
                entries: BTreeMap::new(),
                synced: BTreeMap::new(),
            },
            mode: 0o755,
            uid: 0,
            gid: 0,
            mtime: SystemTime::now(),
        };
        State {
            nodes: HashMap::from([(ROOT, root)]),
            next: ROOT + 1,
        }
    }

    /// What a crash leaves: synced entries of reachable directories and
    /// synced bytes of reachable files.
    fn survivor(&self) -> State {
        let mut out = HashMap::new();
        let mut stack = vec![ROOT];
        while let Some(ino) = stack.pop() {
            if out.contains_key(&ino) {
                continue;
            }
            let Some(n) = self.nodes.get(&ino) else {
                continue;
            };
            let body = match &n.body {
                Body::File { synced, .. } => Body::File {
                    data: synced.clone(),
                    synced: synced.clone(),
                },
                Body::Dir { synced, .. } => {
                    stack.extend(synced.values().copied());
                    Body::Dir {
                        entries: synced.clone(),
                        synced: synced.clone(),
                    }
                }
                Body::Symlink(t) => Body::Symlink(t.clone()),
            };
            out.insert(ino, Node { body, ..n.clone() });
        }
        State {
            nodes: out,
            next: self.next,
        }
    }

    fn attr(&self, ino: u64) -> Option<FileAttr> {
        let n = self.nodes.get(&ino)?;
        let (kind, size) = match &n.body {
            Body::File { data, .. } => (FileType::RegularFile, data.len() as u64),
            Body::Dir { .. } => (FileType::Directory, 0),
            Body::Symlink(t) => (FileType::Symlink, t.as_os_str().len() as u64),
        };
        let nlink = self
            .nodes
            .values()
            .map(|m| match &m.body {
                Body::Dir { entries, .. } => entries.values().filter(|&&i| i == ino).count(),
                _ => 0,
            })
            .sum::<usize>()
            .max(1) as u32;
        Some(FileAttr {
            ino: INodeNo(ino),
            size,
            blocks: size.div_ceil(512),
            atime: n.mtime,
            mtime: n.mtime,
            ctime: n.mtime,
            crtime: n.mtime,
            kind,
            perm: (n.mode & 0o7777) as u16,
            nlink,
            uid: n.uid,
            gid: n.gid,
            rdev: 0,
            blksize: 4096,
            flags: 0,
        })
    }

    fn entries_mut(&mut self, dir: u64) -> Result<&mut BTreeMap<OsString, u64>, Errno> {
        match self.nodes.get_mut(&dir).map(|n| &mut n.body) {
            Some(Body::Dir { entries, .. }) => Ok(entries),
            Some(_) => Err(Errno::ENOTDIR),
            None => Err(Errno::ENOENT),
        }
    }

    fn child(&self, dir: u64, name: &OsStr) -> Option<u64> {
        match &self.nodes.get(&dir)?.body {
            Body::Dir { entries, .. } => entries.get(name).copied(),
            _ => None,
        }
    }

    fn add(&mut self, parent: u64, name: &OsStr, node: Node) -> Result<u64, Errno> {
        if self.child(parent, name).is_some() {
            return Err(Errno::EEXIST);
        }
        let ino = self.next;
        self.next += 1;
        self.entries_mut(parent)?.insert(name.to_os_string(), ino);
        self.nodes.insert(ino, node);
        Ok(ino)
    }

    fn file_mut(&mut self, ino: u64) -> Result<&mut Vec<u8>, Errno> {
        match self.nodes.get_mut(&ino).map(|n| &mut n.body) {
            Some(Body::File { data, .. }) => Ok(data),
            Some(_) => Err(Errno::EISDIR),
            None => Err(Errno::ENOENT),
        }
    }
}

/// The FUSE side: every request works on the shared state.
struct Fs {
    state: Arc<Mutex<State>>,
}

const TTL: Duration = Duration::ZERO;

impl Fs {
    fn st(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn new_node(req: &Request, body: Body, mode: u32, umask: u32) -> Node {
        Node {
            body,
            mode: mode & !umask,
            uid: req.uid(),
            gid: req.gid(),
            mtime: SystemTime::now(),
        }
    }

    fn reply_new(&self, r: Result<u64, Errno>, reply: ReplyEntry) {
        let st = self.st();
        match r.and_then(|ino| st.attr(ino).ok_or(Errno::ENOENT)) {
            Ok(a) => reply.entry(&TTL, &a, Generation(0)),
            Err(e) => reply.error(e),
        }
    }
}

fn to_time(t: TimeOrNow) -> SystemTime {
    match t {
        TimeOrNow::SpecificTime(t) => t,
        TimeOrNow::Now => SystemTime::now(),
    }
}

impl Filesystem for Fs {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let st = self.st();
        match st.child(parent.0, name).and_then(|i| st.attr(i)) {
            Some(a) => reply.entry(&TTL, &a, Generation(0)),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.st().attr(ino.0) {
            Some(a) => reply.attr(&TTL, &a),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let mut st = self.st();
        if let Some(size) = size {
            match st.file_mut(ino.0) {
                Ok(d) => d.resize(size as usize, 0),
                Err(e) => return reply.error(e),
            }
        }
        let Some(n) = st.nodes.get_mut(&ino.0) else {
            return reply.error(Errno::ENOENT);
        };
        if let Some(m) = mode {
            n.mode = m;
        }
        if let Some(u) = uid {
            n.uid = u;
        }
        if let Some(g) = gid {
            n.gid = g;
        }
        if let Some(t) = mtime {
            n.mtime = to_time(t);
        }
        match st.attr(ino.0) {
            Some(a) => reply.attr(&TTL, &a),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        match self.st().nodes.get(&ino.0).map(|n| &n.body) {
            Some(Body::Symlink(t)) => {
                use std::os::unix::ffi::OsStrExt;
                reply.data(t.as_os_str().as_bytes())
            }
            _ => reply.error(Errno::EINVAL),
        }
    }

    fn mkdir(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        reply: ReplyEntry,
    ) {
        let body = Body::Dir {
            entries: BTreeMap::new(),
            synced: BTreeMap::new(),
        };
        let r = self
            .st()
            .add(parent.0, name, Self::new_node(req, body, mode, umask));
        self.reply_new(r, reply);
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        match self.st().entries_mut(parent.0).map(|e| e.remove(name)) {
            Ok(Some(_)) => reply.ok(),
            Ok(None) => reply.error(Errno::ENOENT),
            Err(e) => reply.error(e),
        }
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let mut st = self.st();
        let Some(ino) = st.child(parent.0, name) else {
            return reply.error(Errno::ENOENT);
        };
        match st.nodes.get(&ino).map(|n| &n.body) {
            Some(Body::Dir { entries, .. }) if entries.is_empty() => {}
            Some(Body::Dir { .. }) => return reply.error(Errno::ENOTEMPTY),
            _ => return reply.error(Errno::ENOTDIR),
        }
        if let Ok(e) = st.entries_mut(parent.0) {
            e.remove(name);
        }
        reply.ok()
    }

    fn symlink(
        &self,
        req: &Request,
        parent: INodeNo,
        link_name: &OsStr,
        target: &Path,
        reply: ReplyEntry,
    ) {
        let node = Self::new_node(req, Body::Symlink(target.to_path_buf()), 0o777, 0);
        let r = self.st().add(parent.0, link_name, node);
        self.reply_new(r, reply);
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        let mut st = self.st();
        let Some(ino) = st.child(parent.0, name) else {
            return reply.error(Errno::ENOENT);
        };
        if flags.contains(RenameFlags::RENAME_NOREPLACE) && st.child(newparent.0, newname).is_some()
        {
            return reply.error(Errno::EEXIST);
        }
        if let Err(e) = st.entries_mut(newparent.0) {
            return reply.error(e);
        }
        if let Ok(e) = st.entries_mut(parent.0) {
            e.remove(name);
        }
        if let Ok(e) = st.entries_mut(newparent.0) {
            e.insert(newname.to_os_string(), ino);
        }
        reply.ok()
    }

    fn link(
        &self,
        _req: &Request,
        ino: INodeNo,
        newparent: INodeNo,
        newname: &OsStr,
        reply: ReplyEntry,
    ) {
        let r = {
            let mut st = self.st();
            match st.child(newparent.0, newname) {
                Some(_) => Err(Errno::EEXIST),
                None => st
                    .entries_mut(newparent.0)
                    .map(|e| {
                        e.insert(newname.to_os_string(), ino.0);
                    })
                    .map(|()| ino.0),
            }
        };
        self.reply_new(r, reply);
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let mut st = self.st();
        if flags.0 & libc::O_TRUNC != 0 {
            if let Ok(d) = st.file_mut(ino.0) {
                d.clear();
            }
        }
        match st.nodes.contains_key(&ino.0) {
            true => reply.opened(FileHandle(ino.0), FopenFlags::empty()),
            false => reply.error(Errno::ENOENT),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        match self.st().file_mut(ino.0) {
            Ok(d) => {
                let start = (offset as usize).min(d.len());
                let end = (start + size as usize).min(d.len());
                reply.data(&d[start..end])
            }
            Err(e) => reply.error(e),
        }
    }

    fn write(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        match self.st().file_mut(ino.0) {
            Ok(d) => {
                let end = offset as usize + data.len();
                if d.len() < end {
                    d.resize(end, 0);
                }
                d[offset as usize..end].copy_from_slice(data);
                reply.written(data.len() as u32)
            }
            Err(e) => reply.error(e),
        }
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        reply.ok()
    }

    fn fsync(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        let mut st = self.st();
        if let Some(Body::File { data, synced }) = st.nodes.get_mut(&ino.0).map(|n| &mut n.body) {
            *synced = data.clone();
        }
        reply.ok()
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let st = self.st();
        let Some(Body::Dir { entries, .. }) = st.nodes.get(&ino.0).map(|n| &n.body) else {
            return reply.error(Errno::ENOTDIR);
        };
        let mut all: Vec<(u64, FileType, OsString)> = vec![
            (ino.0, FileType::Directory, ".".into()),
            (ino.0, FileType::Directory, "..".into()),
        ];
        for (name, &child) in entries {
            let kind = st.attr(child).map_or(FileType::RegularFile, |a| a.kind);
            all.push((child, kind, name.clone()));
        }
        for (i, (child, kind, name)) in all.into_iter().enumerate().skip(offset as usize) {
            if reply.add(INodeNo(child), (i + 1) as u64, kind, &name) {
                break;
            }
        }
        reply.ok()
    }

    fn fsyncdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        let mut st = self.st();
        if let Some(Body::Dir { entries, synced }) = st.nodes.get_mut(&ino.0).map(|n| &mut n.body) {
            *synced = entries.clone();
        }
        reply.ok()
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        reply.statfs(1 << 24, 1 << 23, 1 << 23, 1 << 20, 1 << 19, 4096, 255, 4096)
    }

    fn create(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        _flags: i32,
        reply: ReplyCreate,
    ) {
        let body = Body::File {
            data: Vec::new(),
            synced: Vec::new(),
        };
        let mut st = self.st();
        let r = st.add(parent.0, name, Self::new_node(req, body, mode, umask));
        match r.and_then(|ino| st.attr(ino).ok_or(Errno::ENOENT)) {
            Ok(a) => reply.created(
                &TTL,
                &a,
                Generation(0),
                FileHandle(a.ino.0),
                FopenFlags::empty(),
            ),
            Err(e) => reply.error(e),
        }
    }
}

/// A mounted crash-simulating file system.
pub struct CrashFs {
    mountpoint: PathBuf,
    state: Arc<Mutex<State>>,
    session: Option<fuser::BackgroundSession>,
}

impl CrashFs {
    /// Mounts an empty file system at `mountpoint` (an existing, empty
    /// directory).
    pub fn mount(mountpoint: &Path) -> std::io::Result<Self> {
        let state = Arc::new(Mutex::new(State::new()));
        let mut fs = CrashFs {
            mountpoint: mountpoint.to_path_buf(),
            state,
            session: None,
        };
        fs.attach()?;
        Ok(fs)
    }

    fn attach(&mut self) -> std::io::Result<()> {
        let mut cfg = Config::default();
        cfg.mount_options = vec![
            MountOption::FSName("cairn-crashfs".into()),
            MountOption::DefaultPermissions,
        ];
        let fs = Fs {
            state: self.state.clone(),
        };
        self.session = Some(fuser::spawn_mount(fs, &self.mountpoint, &cfg)?);
        Ok(())
    }

    /// Where it is mounted.
    pub fn path(&self) -> &Path {
        &self.mountpoint
    }

    /// Unmounts, drops everything not synced, and mounts what survived.
    /// Processes using the file system must be gone first.
    pub fn power_cut(&mut self) -> std::io::Result<()> {
        self.detach()?;
        {
            let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            let survivor = st.survivor();
            *st = survivor;
        }
        self.attach()
    }

    fn detach(&mut self) -> std::io::Result<()> {
        match self.session.take() {
            Some(s) => s.umount_and_join(),
            None => Ok(()),
        }
    }
}

impl Drop for CrashFs {
    fn drop(&mut self) {
        let _ = self.detach();
    }
}
