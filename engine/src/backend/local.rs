//! [`Backend`] over a local directory, with the durability the format's
//! ordering rules rely on.
//!
//! Every create writes a temporary `<name>#<random>` next to its target
//! (mode 0600), `fdatasync`s it, moves it into place without replacing
//! anything (`renameat2(RENAME_NOREPLACE)`, or `link` + `unlink` where the
//! file system lacks that flag), and `fsync`s the directory. So when
//! `create` returns, the object's bytes and its name survive a power cut,
//! and a later step (index after packs, snapshot after index) can never
//! outlive an earlier one. Deletes `fsync` the directory too. New
//! directories are created 0700 and made durable in their parent.
//!
//! A crash leaves at most a temporary, which [`Backend::list_leftovers`]
//! reports and prune removes; listings never show one.

use super::{Backend, FileKind, ObjectInfo};
use crate::error::{Error, Result};
use bytes::Bytes;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::ops::Range;
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Mode of repository files: key slots hold password-derived material,
/// so nothing is readable by other users.
const FILE_MODE: u32 = 0o600;
/// Mode of repository directories.
const DIR_MODE: u32 = 0o700;

/// A repository in a local directory.
#[derive(Debug)]
pub struct LocalBackend {
    root: PathBuf,
}

impl LocalBackend {
    /// Opens (and with `create`, makes) the repository directory.
    pub fn new(root: &Path, create: bool) -> Result<Self> {
        if create {
            make_dirs(root)?;
        } else if !root.is_dir() {
            return Err(Error::RepositoryNotFound(root.display().to_string()));
        }
        Ok(LocalBackend {
            root: root.to_path_buf(),
        })
    }

    fn path(&self, kind: FileKind, name: &str) -> PathBuf {
        self.root.join(kind.path(name))
    }
}

/// Object names are 64 hex digits (plus `config`, which is never listed).
pub(crate) fn is_object_name(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Creates `dir` and its missing parents (0700), each made durable in its
/// own parent before anything is created inside it.
fn make_dirs(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        make_dirs(parent)?;
    }
    match std::fs::DirBuilder::new().mode(DIR_MODE).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists && dir.is_dir() => return Ok(()),
        Err(e) => return Err(Error::io(dir, e)),
    }
    match dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => sync_dir(parent),
        None => Ok(()),
    }
}

/// Makes a directory's entries (creates, renames, unlinks) durable.
fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

/// A temporary name next to `target`: `<name>#<pid>-<16 hex digits>`.
/// The writer's pid lets a pruner on the same machine tell the temporary
/// of a killed writer from one being written right now.
fn temp_path(target: &Path) -> PathBuf {
    let r: [u8; 8] = crate::id::random_bytes();
    let mut s = target.as_os_str().to_os_string();
    s.push(format!("#{}-{}", std::process::id(), hex::encode(r)));
    PathBuf::from(s)
}

/// The writer's pid in a temporary's name (see `temp_path`), if any.
pub fn temporary_writer(name: &str) -> Option<u32> {
    let (_, tail) = name.split_once('#')?;
    tail.split_once('-')?.0.parse().ok()
}

fn write_temp(tmp: &Path, parts: &[Bytes]) -> std::io::Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(tmp)?;
    for p in parts {
        f.write_all(p)?;
    }
    f.sync_data()
}

/// Moves `tmp` to `target` unless `target` exists. `Ok(false)` when it does.
fn place_no_replace(tmp: &Path, target: &Path) -> std::io::Result<bool> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    match renameat_with(CWD, tmp, CWD, target, RenameFlags::NOREPLACE) {
        Ok(()) => return Ok(true),
        Err(rustix::io::Errno::EXIST) => return Ok(false),
        // The file system has no RENAME_NOREPLACE: a hard link is just as
        // exclusive.
        Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => {}
        Err(e) => return Err(e.into()),
    }
    match std::fs::hard_link(tmp, target) {
        Ok(()) => {
            std::fs::remove_file(tmp)?;
            Ok(true)
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

fn not_found(kind: FileKind, name: &str) -> Error {
    Error::NotFound {
        kind: kind.name().into(),
        name: name.into(),
    }
}

fn map_io(e: std::io::Error, kind: FileKind, name: &str, path: &Path) -> Error {
    match e.kind() {
        ErrorKind::NotFound => not_found(kind, name),
        _ => Error::io(path, e),
    }
}

fn modified_ns(m: &std::fs::Metadata) -> i64 {
    m.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i64)
}

/// Every file under `dir` (and its fan-out subdirectories), objects and
/// temporaries alike. A missing directory is an empty list.
fn walk_files(dir: &Path) -> Result<Vec<ObjectInfo>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(d, e)),
        };
        for e in entries {
            let e = e.map_err(|err| Error::io(&d, err))?;
            let meta = match e.metadata() {
                Ok(m) => m,
                // Renamed into place (or removed) since the listing.
                Err(err) if err.kind() == ErrorKind::NotFound => continue,
                Err(err) => return Err(Error::io(e.path(), err)),
            };
            if meta.is_dir() {
                stack.push(e.path());
                continue;
            }
            out.push(ObjectInfo {
                name: e.file_name().to_string_lossy().into_owned(),
                size: meta.len(),
                modified_ns: modified_ns(&meta),
            });
        }
    }
    Ok(out)
}

impl Backend for LocalBackend {
    fn location(&self) -> String {
        self.root.display().to_string()
    }

    fn create(&self, kind: FileKind, name: &str, data: Bytes) -> Result<()> {
        self.create_parts(kind, name, vec![data])
    }

    fn create_parts(&self, kind: FileKind, name: &str, parts: Vec<Bytes>) -> Result<()> {
        let target = self.path(kind, name);
        let dir = target.parent().unwrap_or(&self.root).to_path_buf();
        make_dirs(&dir)?;
        let tmp = temp_path(&target);
        let placed = write_temp(&tmp, &parts).and_then(|()| place_no_replace(&tmp, &target));
        match placed {
            Ok(true) => sync_dir(&dir),
            Ok(false) => {
                let _ = std::fs::remove_file(&tmp);
                Err(Error::AlreadyExists {
                    kind: kind.name().into(),
                    name: name.into(),
                })
            }
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                Err(Error::io(&target, e))
            }
        }
    }

    fn read(&self, kind: FileKind, name: &str) -> Result<Bytes> {
        let p = self.path(kind, name);
        std::fs::read(&p)
            .map(Bytes::from)
            .map_err(|e| map_io(e, kind, name, &p))
    }

    fn read_range(&self, kind: FileKind, name: &str, range: Range<u64>) -> Result<Bytes> {
        let p = self.path(kind, name);
        let f = File::open(&p).map_err(|e| map_io(e, kind, name, &p))?;
        let want = range.end.saturating_sub(range.start);
        let mut buf = vec![0u8; want as usize];
        match f.read_exact_at(&mut buf, range.start) {
            Ok(()) => Ok(Bytes::from(buf)),
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => Err(Error::corrupt(
                format!("{} {name}", kind.name()),
                format!(
                    "short read: wanted {want} bytes at {}, the file is shorter",
                    range.start
                ),
            )),
            Err(e) => Err(Error::io(&p, e)),
        }
    }

    fn list_info(&self, kind: FileKind) -> Result<Vec<ObjectInfo>> {
        Ok(walk_files(&self.root.join(kind.dir()))?
            .into_iter()
            .filter(|o| is_object_name(&o.name))
            .collect())
    }

    fn list_leftovers(&self, kind: FileKind) -> Result<Vec<ObjectInfo>> {
        Ok(walk_files(&self.root.join(kind.dir()))?
            .into_iter()
            .filter(|o| !is_object_name(&o.name))
            .collect())
    }

    fn size(&self, kind: FileKind, name: &str) -> Result<u64> {
        let p = self.path(kind, name);
        std::fs::metadata(&p)
            .map(|m| m.len())
            .map_err(|e| map_io(e, kind, name, &p))
    }

    fn delete(&self, kind: FileKind, name: &str) -> Result<()> {
        let p = self.path(kind, name);
        match std::fs::remove_file(&p) {
            Ok(()) => sync_dir(p.parent().unwrap_or(&self.root)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(&p, e)),
        }
    }

    fn concurrency(&self) -> usize {
        // One uploader: a local disk gains nothing from more, and each
        // holds a pack in memory.
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn files_and_directories_are_private() {
        let tmp = tempfile::tempdir().expect("tmp");
        let root = tmp.path().join("repo");
        let b = LocalBackend::new(&root, true).expect("backend");
        let name = "ab".repeat(32);
        b.create(FileKind::Pack, &name, Bytes::from_static(b"x"))
            .expect("create");
        let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode(&root.join(FileKind::Pack.path(&name))), 0o600);
        assert_eq!(mode(&root.join("data/ab")), 0o700);
        assert_eq!(mode(&root.join("data")), 0o700);
        assert_eq!(mode(&root), 0o700);
    }

    #[test]
    fn a_crashed_write_is_a_leftover_never_an_object() {
        let tmp = tempfile::tempdir().expect("tmp");
        let b = LocalBackend::new(tmp.path(), true).expect("backend");
        let name = "cd".repeat(32);
        let target = tmp.path().join(FileKind::Index.path(&name));
        make_dirs(target.parent().expect("dir")).expect("dirs");
        std::fs::write(temp_path(&target), b"half").expect("write");
        assert!(b.list(FileKind::Index).expect("list").is_empty());
        let left = b.list_leftovers(FileKind::Index).expect("leftovers");
        assert_eq!(left.len(), 1);
        assert_eq!(temporary_writer(&left[0].name), Some(std::process::id()));
        b.delete(FileKind::Index, &left[0].name).expect("delete");
        assert!(b.list_leftovers(FileKind::Index).expect("list").is_empty());
    }

    #[test]
    fn opening_a_missing_directory_creates_nothing() {
        let tmp = tempfile::tempdir().expect("tmp");
        let err = LocalBackend::new(&tmp.path().join("none"), false).expect_err("missing");
        assert!(matches!(err, Error::RepositoryNotFound(_)), "{err}");
        assert!(!tmp.path().join("none").exists());
    }
}
