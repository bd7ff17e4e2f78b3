//! Applying recorded metadata to restored entries: owner and group,
//! extended attributes (and ACLs), permission bits, access and modification
//! times. Files and directories are changed through a descriptor opened
//! without following symlinks; symlinks and special files through their
//! directory with `AT_SYMLINK_NOFOLLOW`. What cannot be applied (not root,
//! a file system without extended attributes) is reported once per kind.

use super::target::Target;
use super::Owners;
use crate::tree::Meta;
use rustix::fs::{AtFlags, Mode, OFlags, Timespec, Timestamps, XattrFlags};
use rustix::fs::{Gid, Uid};
use rustix::io::Errno;
use std::collections::BTreeSet;
use std::os::fd::AsRawFd;
use std::path::Path;

/// What was restored at a path, for applying its metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    FileOrDir,
    Symlink,
    Special,
}

/// Metadata that could not be applied, by kind (each reported once), and
/// per-entry failures.
#[derive(Default)]
pub(crate) struct Outcome {
    pub not_applied: BTreeSet<&'static str>,
    pub problems: Vec<String>,
}

const OWNERS: &str = "owners: restoring another user's ownership needs root";
const XATTR_UNSUPPORTED: &str = "extended attributes: the target file system does not support them";
const XATTR_DENIED: &str = "extended attributes in the trusted. and security. namespaces need root";

fn timespec(ns: i64) -> Timespec {
    Timespec {
        tv_sec: ns.div_euclid(1_000_000_000),
        tv_nsec: ns.rem_euclid(1_000_000_000),
    }
}

fn times(meta: &Meta) -> Timestamps {
    Timestamps {
        last_access: timespec(meta.atime_ns),
        last_modification: timespec(meta.mtime_ns),
    }
}

/// The owner to set: by id, or by the recorded name where it exists here.
fn owner(meta: &Meta, owners: Owners) -> (Uid, Gid) {
    let (mut uid, mut gid) = (meta.uid, meta.gid);
    if owners == Owners::Names {
        if let Ok(Some(u)) = nix::unistd::User::from_name(&meta.user) {
            uid = u.uid.as_raw();
        }
        if let Ok(Some(g)) = nix::unistd::Group::from_name(&meta.group) {
            gid = g.gid.as_raw();
        }
    }
    (Uid::from_raw(uid), Gid::from_raw(gid))
}

impl Outcome {
    fn fail(&mut self, target: &Target, rel: &Path, what: &str, e: impl std::fmt::Display) {
        self.problems
            .push(format!("{}: {what}: {e}", target.display(rel)));
    }

    fn chown_result(&mut self, target: &Target, rel: &Path, r: rustix::io::Result<()>) {
        match r {
            Ok(()) => {}
            Err(Errno::PERM) => {
                self.not_applied.insert(OWNERS);
            }
            Err(e) => self.fail(target, rel, "owner", e),
        }
    }

    fn xattr_result(&mut self, target: &Target, rel: &Path, r: rustix::io::Result<()>) {
        match r {
            Ok(()) => {}
            Err(Errno::NOTSUP) => {
                self.not_applied.insert(XATTR_UNSUPPORTED);
            }
            Err(Errno::PERM | Errno::ACCESS) => {
                self.not_applied.insert(XATTR_DENIED);
            }
            Err(e) => self.fail(target, rel, "extended attribute", e),
        }
    }

    /// Applies `meta` to the entry at `rel`.
    pub fn apply(
        &mut self,
        target: &Target,
        rel: &Path,
        shape: Shape,
        meta: &Meta,
        owners: Owners,
    ) {
        match shape {
            Shape::FileOrDir => self.apply_fd(target, rel, meta, owners),
            Shape::Symlink | Shape::Special => self.apply_at(target, rel, shape, meta, owners),
        }
    }

    fn apply_fd(&mut self, target: &Target, rel: &Path, meta: &Meta, owners: Owners) {
        let fd = match target.open(rel, OFlags::RDONLY | OFlags::NONBLOCK, Mode::empty()) {
            Ok(fd) => fd,
            Err(e) => return self.fail(target, rel, "metadata not applied", e),
        };
        if owners != Owners::Skip {
            let (u, g) = owner(meta, owners);
            self.chown_result(target, rel, rustix::fs::fchown(&fd, Some(u), Some(g)));
        }
        for x in &meta.xattrs {
            let r = rustix::fs::fsetxattr(&fd, x.name.as_slice(), &x.value, XattrFlags::empty());
            self.xattr_result(target, rel, r);
        }
        // After chown, which clears set-id bits.
        if meta.mode != 0 {
            if let Err(e) = rustix::fs::fchmod(&fd, Mode::from_raw_mode(meta.mode & 0o7777)) {
                self.fail(target, rel, "permissions", e);
            }
        }
        if let Err(e) = rustix::fs::futimens(&fd, &times(meta)) {
            self.fail(target, rel, "times", e);
        }
    }

    fn apply_at(&mut self, target: &Target, rel: &Path, shape: Shape, meta: &Meta, owners: Owners) {
        let (dir, name) = match target.parent(rel) {
            Ok(p) => p,
            Err(e) => return self.fail(target, rel, "metadata not applied", e),
        };
        if owners != Owners::Skip {
            let (u, g) = owner(meta, owners);
            let r = rustix::fs::chownat(&dir, name, Some(u), Some(g), AtFlags::SYMLINK_NOFOLLOW);
            self.chown_result(target, rel, r);
        }
        // No descriptor can be opened on a symlink or a device without
        // side effects: the attribute calls go through the directory.
        let via_dir = format!("/proc/self/fd/{}/", dir.as_raw_fd());
        let mut path = std::ffi::OsString::from(via_dir);
        path.push(name);
        for x in &meta.xattrs {
            let r = rustix::fs::lsetxattr(&path, x.name.as_slice(), &x.value, XattrFlags::empty());
            self.xattr_result(target, rel, r);
        }
        if shape == Shape::Special {
            // The node was created here a moment ago; chmod cannot be told
            // not to follow symlinks on Linux, so check it still is one.
            let still = rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW).is_ok_and(|st| {
                rustix::fs::FileType::from_raw_mode(st.st_mode) != rustix::fs::FileType::Symlink
            });
            if still {
                let mode = Mode::from_raw_mode(meta.mode & 0o7777);
                if let Err(e) = rustix::fs::chmodat(&dir, name, mode, AtFlags::empty()) {
                    self.fail(target, rel, "permissions", e);
                }
            }
        }
        if let Err(e) = rustix::fs::utimensat(&dir, name, &times(meta), AtFlags::SYMLINK_NOFOLLOW) {
            self.fail(target, rel, "times", e);
        }
    }
}
