//! The metadata a backup records for each entry: `lstat`, owner and group
//! names, extended attributes (and so POSIX ACLs), and the holes of sparse
//! files.

use crate::tree::{Hole, Meta, Node, Xattr};
use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Mutex;

/// Owner and group names by id, looked up once each.
#[derive(Default)]
pub(crate) struct Names {
    users: Mutex<HashMap<u32, String>>,
    groups: Mutex<HashMap<u32, String>>,
}

impl Names {
    fn user(&self, uid: u32) -> String {
        let mut map = self.users.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(uid)
            .or_insert_with(|| {
                nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
                    .ok()
                    .flatten()
                    .map(|u| u.name)
                    .unwrap_or_default()
            })
            .clone()
    }

    fn group(&self, gid: u32) -> String {
        let mut map = self.groups.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(gid)
            .or_insert_with(|| {
                nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(gid))
                    .ok()
                    .flatten()
                    .map(|g| g.name)
                    .unwrap_or_default()
            })
            .clone()
    }
}

fn ns(secs: i64, nsec: i64) -> i64 {
    secs.saturating_mul(1_000_000_000).saturating_add(nsec)
}

/// `lstat` fields alone (no names, no extended attributes).
pub(crate) fn stat_meta(m: &std::fs::Metadata) -> Meta {
    Meta {
        mode: m.mode(),
        uid: m.uid(),
        gid: m.gid(),
        mtime_ns: ns(m.mtime(), m.mtime_nsec()),
        atime_ns: ns(m.atime(), m.atime_nsec()),
        ctime_ns: ns(m.ctime(), m.ctime_nsec()),
        inode: m.ino(),
        dev: m.dev(),
        nlink: m.nlink(),
        ..Meta::default()
    }
}

/// Everything recorded for one entry. Extended attributes are reused from
/// the parent snapshot's node when the inode and ctime are unchanged (a
/// change of an attribute changes the ctime), so an unchanged tree costs
/// no attribute reads. A read error of the attributes is returned as a
/// warning; the entry is recorded without them.
pub(crate) fn full_meta(
    names: &Names,
    path: &Path,
    m: &std::fs::Metadata,
    parent: Option<&Node>,
) -> (Meta, Option<String>) {
    let mut meta = stat_meta(m);
    meta.user = names.user(meta.uid);
    meta.group = names.group(meta.gid);
    let same = parent.filter(|p| p.meta.inode == meta.inode && p.meta.ctime_ns == meta.ctime_ns);
    if let Some(p) = same {
        meta.xattrs = p.meta.xattrs.clone();
        return (meta, None);
    }
    match read_xattrs(path) {
        Ok(x) => {
            meta.xattrs = x;
            (meta, None)
        }
        Err(e) => (
            meta,
            Some(format!(
                "{}: extended attributes not read: {e}",
                path.display()
            )),
        ),
    }
}

/// The extended attributes of `path` (not following a symlink), sorted by
/// name. A file system without them has none.
pub(crate) fn read_xattrs(path: &Path) -> std::io::Result<Vec<Xattr>> {
    use rustix::io::Errno;
    let mut names = vec![0u8; 1024];
    let n = loop {
        match rustix::fs::llistxattr(path, &mut names[..]) {
            Ok(n) => break n,
            Err(Errno::RANGE) => {
                let need = rustix::fs::llistxattr_query(path)?;
                names.resize(need.max(names.len() * 2), 0);
            }
            Err(Errno::NOTSUP) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        }
    };
    let mut out = Vec::new();
    for name in names[..n].split(|b| *b == 0).filter(|s| !s.is_empty()) {
        let cname = std::ffi::CString::new(name).map_err(std::io::Error::other)?;
        let mut value = vec![0u8; 256];
        let len = loop {
            match rustix::fs::lgetxattr(path, cname.as_c_str(), &mut value[..]) {
                Ok(len) => break Some(len),
                Err(Errno::RANGE) => {
                    let need = rustix::fs::lgetxattr_query(path, cname.as_c_str())?;
                    value.resize(need.max(value.len() * 2), 0);
                }
                // Removed since the listing.
                Err(Errno::NODATA) => break None,
                Err(e) => return Err(e.into()),
            }
        };
        if let Some(len) = len {
            value.truncate(len);
            out.push(Xattr {
                name: name.to_vec(),
                value,
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The holes of an open regular file, when it has fewer blocks than its
/// size needs (a sparse file); empty otherwise.
pub(crate) fn holes(file: &std::fs::File, m: &std::fs::Metadata) -> Vec<Hole> {
    use rustix::fs::{seek, SeekFrom};
    let size = m.len();
    if size == 0 || m.blocks().saturating_mul(512) >= size {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut pos = 0u64;
    while pos < size {
        let Ok(hole) = seek(file, SeekFrom::Hole(pos)) else {
            break;
        };
        if hole >= size {
            break;
        }
        let data = seek(file, SeekFrom::Data(hole)).unwrap_or(size).min(size);
        if data > hole {
            out.push(Hole {
                offset: hole,
                len: data - hole,
            });
        }
        pos = data;
    }
    let _ = seek(file, SeekFrom::Start(0));
    out
}

/// The names in a directory, read without changing its atime where that
/// is allowed (O_NOATIME: the owner, or root), so an unchanged tree backs
/// up to the same tree blob.
pub(crate) fn list_dir(dir: &Path) -> std::io::Result<Vec<Vec<u8>>> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let fd = match rustix::fs::open(dir, flags | OFlags::NOATIME, Mode::empty()) {
        Err(rustix::io::Errno::PERM) => rustix::fs::open(dir, flags, Mode::empty())?,
        other => other?,
    };
    let mut out = Vec::new();
    for e in rustix::fs::Dir::read_from(&fd)? {
        let name = e?.file_name().to_bytes().to_vec();
        if name != b"." && name != b".." {
            out.push(name);
        }
    }
    Ok(out)
}
