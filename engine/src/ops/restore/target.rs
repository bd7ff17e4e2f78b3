//! The restore target as a directory handle: every path is resolved below
//! it without following any symlink, so neither a hostile snapshot nor a
//! symlink already in the target can make restore write outside it.
//!
//! Paths are relative to the target and built only from names that passed
//! [`crate::tree::check_name`]. Each is opened with `openat2` and
//! `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS` (Linux 5.6+), or, on older
//! kernels, one component at a time with `O_NOFOLLOW`.

use rustix::fs::{AtFlags, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;
use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// What is at a path in the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Existing {
    Nothing,
    Dir,
    File { size: u64, mtime_ns: i64 },
    Symlink,
    Other,
}

/// The open target directory.
pub(crate) struct Target {
    root: OwnedFd,
    path: PathBuf,
}

fn no_follow() -> ResolveFlags {
    ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS
}

impl Target {
    /// Creates (if missing) and opens the target directory.
    pub fn open_root(path: &Path) -> io::Result<Self> {
        std::fs::create_dir_all(path)?;
        let root = rustix::fs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Target {
            root,
            path: path.to_path_buf(),
        })
    }

    /// The target's path on disk, for messages.
    pub fn display(&self, rel: &Path) -> String {
        self.path.join(rel).display().to_string()
    }

    /// Opens `rel` below the target, following no symlink.
    pub fn open(&self, rel: &Path, flags: OFlags, mode: Mode) -> io::Result<OwnedFd> {
        let flags = flags | OFlags::CLOEXEC | OFlags::NOFOLLOW;
        // openat2 refuses a mode without O_CREAT.
        let mode = match flags.contains(OFlags::CREATE) {
            true => mode,
            false => Mode::empty(),
        };
        if rel.as_os_str().is_empty() {
            return Ok(rustix::fs::openat(&self.root, ".", flags, mode)?);
        }
        match rustix::fs::openat2(&self.root, rel, flags, mode, no_follow()) {
            Err(Errno::NOSYS) => self.open_by_components(rel, flags, mode),
            // A symlink on the way (RESOLVE_NO_SYMLINKS) is reported as
            // ELOOP like a final one; both mean "not below the target".
            other => Ok(other?),
        }
    }

    fn open_by_components(&self, rel: &Path, flags: OFlags, mode: Mode) -> io::Result<OwnedFd> {
        let comps: Vec<&OsStr> = rel
            .components()
            .map(|c| match c {
                Component::Normal(n) => Ok(n),
                _ => Err(io::Error::other("unsafe path component")),
            })
            .collect::<io::Result<_>>()?;
        let Some((last, dirs)) = comps.split_last() else {
            return Ok(rustix::fs::openat(&self.root, ".", flags, mode)?);
        };
        let mut dir = rustix::fs::openat(
            &self.root,
            ".",
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        for d in dirs {
            dir = rustix::fs::openat(
                &dir,
                *d,
                OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )?;
        }
        Ok(rustix::fs::openat(&dir, *last, flags, mode)?)
    }

    /// The directory holding `rel` (as an `O_PATH` handle) and `rel`'s name.
    pub fn parent<'a>(&self, rel: &'a Path) -> io::Result<(OwnedFd, &'a OsStr)> {
        let name = rel
            .file_name()
            .ok_or_else(|| io::Error::other("no file name"))?;
        let dir = rel.parent().unwrap_or(Path::new(""));
        let fd = self.open(dir, OFlags::PATH | OFlags::DIRECTORY, Mode::empty())?;
        Ok((fd, name))
    }

    /// What is at `rel` now (symlinks not followed).
    pub fn existing(&self, rel: &Path) -> io::Result<Existing> {
        let (dir, name) = self.parent(rel)?;
        match rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(match rustix::fs::FileType::from_raw_mode(st.st_mode) {
                rustix::fs::FileType::Directory => Existing::Dir,
                rustix::fs::FileType::RegularFile => Existing::File {
                    size: st.st_size as u64,
                    mtime_ns: st
                        .st_mtime
                        .saturating_mul(1_000_000_000)
                        .saturating_add(st.st_mtime_nsec as i64),
                },
                rustix::fs::FileType::Symlink => Existing::Symlink,
                _ => Existing::Other,
            }),
            Err(Errno::NOENT) => Ok(Existing::Nothing),
            Err(e) => Err(e.into()),
        }
    }

    /// Creates directory `rel` (0700 until its metadata is applied).
    pub fn mkdir(&self, rel: &Path) -> io::Result<()> {
        let (dir, name) = self.parent(rel)?;
        Ok(rustix::fs::mkdirat(&dir, name, Mode::from_raw_mode(0o700))?)
    }

    /// Removes `rel`: a file, symlink or special file, or a directory with
    /// everything in it. Nothing is followed.
    pub fn remove(&self, rel: &Path) -> io::Result<()> {
        let (dir, name) = self.parent(rel)?;
        remove_at(&dir, name)
    }

    /// Creates a symlink at `rel` pointing to `target` (never followed).
    pub fn symlink(&self, target: &[u8], rel: &Path) -> io::Result<()> {
        let (dir, name) = self.parent(rel)?;
        Ok(rustix::fs::symlinkat(
            OsStr::from_bytes(target),
            &dir,
            name,
        )?)
    }

    /// Creates a FIFO or device node at `rel`.
    pub fn mknod(&self, rel: &Path, kind: rustix::fs::FileType, rdev: u64) -> io::Result<()> {
        let (dir, name) = self.parent(rel)?;
        Ok(rustix::fs::mknodat(
            &dir,
            name,
            kind,
            Mode::from_raw_mode(0o600),
            rdev,
        )?)
    }

    /// Makes `rel` a hard link to `existing` (both below the target).
    pub fn link(&self, existing: &Path, rel: &Path) -> io::Result<()> {
        let (from_dir, from) = self.parent(existing)?;
        let (to_dir, to) = self.parent(rel)?;
        Ok(rustix::fs::linkat(
            &from_dir,
            from,
            &to_dir,
            to,
            AtFlags::empty(),
        )?)
    }

    /// The names in directory `rel`.
    pub fn list(&self, rel: &Path) -> io::Result<Vec<Vec<u8>>> {
        let fd = self.open(rel, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty())?;
        let mut out = Vec::new();
        for e in rustix::fs::Dir::read_from(&fd)? {
            let name = e?.file_name().to_bytes().to_vec();
            if name != b"." && name != b".." {
                out.push(name);
            }
        }
        Ok(out)
    }
}

/// Removes `name` in `dir`, recursively for a directory, following nothing.
fn remove_at(dir: &impl AsFd, name: &OsStr) -> io::Result<()> {
    match rustix::fs::unlinkat(dir, name, AtFlags::empty()) {
        Ok(()) => return Ok(()),
        Err(Errno::ISDIR | Errno::PERM) => {}
        Err(e) => return Err(e.into()),
    }
    let sub = rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let names: Vec<Vec<u8>> = rustix::fs::Dir::read_from(&sub)?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_bytes().to_vec()))
        .filter(|n| n != b"." && n != b"..")
        .collect();
    for n in names {
        remove_at(&sub, OsStr::from_bytes(&n))?;
    }
    Ok(rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR)?)
}
