//! What a backup of /etc and /home must keep, and what restore must never
//! do (docs/reliability.md, "Faithful files and safe restores"): full
//! metadata round trips, hostile trees, symlinks in the target.

mod common;
use cairn::{
    raw::{
        blob::BlobKind,
        index::{IndexFile, IndexPack},
        pack::PackWriter,
    },
    BackupOptions, BlobId, Content, FileKind, Meta, Node, NodeKind, Overwrite, Repository,
    RestoreOptions, Snapshot, Summary, Tree,
};
use common::*;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Stores `tree` as a tree blob the way any key holder could, bypassing
/// the backup's own checks.
fn store_tree(repo: &Repository, tree: &Tree) -> BlobId {
    let bytes = cairn::raw::tree::encode_tree(tree);
    let id = repo.keys().blob_id(&bytes);
    let sealed = cairn::raw::blob::encode(repo.keys(), BlobKind::Tree, &id, &bytes, 0);
    let mut w = PackWriter::new(BlobKind::Tree);
    w.add(id, bytes.len() as u32, sealed);
    let pack = w.finish(repo.keys().meta_key());
    let (pid, size) = (pack.id(), pack.len() as u64);
    repo.backend()
        .create_parts(FileKind::Pack, &pid.to_hex(), pack.parts)
        .expect("pack");
    repo.save_index_file(&IndexFile {
        supersedes: vec![],
        packs: vec![IndexPack {
            id: pid,
            kind: BlobKind::Tree,
            size,
            blobs: pack.blobs,
        }],
    })
    .expect("index");
    repo.reload_index().expect("reload");
    id
}

fn snapshot_of(repo: &Repository, root: BlobId) -> cairn::SnapshotId {
    repo.save_snapshot(&Snapshot {
        time_ns: cairn::now_ns(),
        host: "h".into(),
        username: String::new(),
        tags: vec![],
        paths: vec![],
        source: "crafted".into(),
        parent: None,
        tree: root,
        summary: Summary::default(),
        program: String::new(),
        info: BTreeMap::new(),
    })
    .expect("snapshot")
}

fn meta(mode: u32) -> Meta {
    Meta {
        mode,
        mtime_ns: 1_000_000_000,
        atime_ns: 1_000_000_000,
        ..Meta::default()
    }
}

fn symlink(name: &str, target: &Path) -> Node {
    Node {
        name: name.as_bytes().to_vec(),
        kind: NodeKind::Symlink {
            target: target.as_os_str().as_encoded_bytes().to_vec(),
        },
        meta: meta(0o120777),
    }
}

fn empty_file(name: &str, mode: u32) -> Node {
    Node {
        name: name.as_bytes().to_vec(),
        kind: NodeKind::File {
            size: 0,
            content: Content::Inline(vec![]),
            holes: vec![],
        },
        meta: meta(0o100000 | mode),
    }
}

fn dir(name: &str, subtree: BlobId) -> Node {
    Node {
        name: name.as_bytes().to_vec(),
        kind: NodeKind::Dir { subtree },
        meta: meta(0o040777),
    }
}

fn restore(
    repo: &Repository,
    id: &cairn::SnapshotId,
    target: &Path,
    ow: Overwrite,
) -> cairn::RestoreReport {
    repo.restore(
        id,
        RestoreOptions::default()
            .target(target.to_path_buf())
            .overwrite(ow),
    )
    .expect("restore runs")
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("readdir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A tree with a symlink `x -> victim` and a directory `x`, or a symlink
/// `y` after a file `y`: none of its names is used, nothing lands in the
/// victim directory, and the restore says so.
#[test]
fn hostile_trees_with_duplicate_names_write_nothing_outside_the_target() {
    let tmp = tempfile::tempdir().expect("tmp");
    let victim = tmp.path().join("victim");
    std::fs::create_dir(&victim).expect("mkdir");
    std::fs::write(victim.join("secret"), b"keep").expect("write");
    let (_b, repo) = memory_repo();
    let inner = store_tree(
        &repo,
        &Tree {
            nodes: vec![empty_file("pwned", 0o777)],
        },
    );
    let evil_root = store_tree(
        &repo,
        &Tree {
            nodes: vec![symlink("x", &victim), dir("x", inner)],
        },
    );
    let nested = store_tree(
        &repo,
        &Tree {
            nodes: vec![symlink("y", &victim.join("secret")), empty_file("y", 0o777)],
        },
    );
    let evil_nested = store_tree(
        &repo,
        &Tree {
            nodes: vec![dir("d", nested)],
        },
    );
    for root in [evil_root, evil_nested] {
        let id = snapshot_of(&repo, root);
        let target = tmp.path().join(format!("t-{}", id.short()));
        let s = restore(&repo, &id, &target, Overwrite::Always);
        assert!(!s.complete(), "the damaged tree is reported: {s:?}");
        assert!(s.problems.iter().any(|p| p.contains("damaged")), "{s:?}");
        assert_eq!(entries(&victim), vec!["secret"]);
        assert_eq!(std::fs::read(victim.join("secret")).expect("read"), b"keep");
        let mode = std::fs::metadata(victim.join("secret"))
            .expect("stat")
            .permissions()
            .mode();
        assert_ne!(mode & 0o777, 0o777, "no chmod outside the target");
    }
}

/// Two legitimate snapshots restored one after the other into the same
/// target: the second never goes through the first one's symlink.
#[test]
fn a_symlink_restored_earlier_is_never_followed() {
    let tmp = tempfile::tempdir().expect("tmp");
    let victim = tmp.path().join("victim");
    std::fs::create_dir(&victim).expect("mkdir");
    let victim_file = victim.join("file");
    std::fs::write(&victim_file, b"keep").expect("write");
    std::fs::set_permissions(&victim_file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let (_b, repo) = memory_repo();
    let first = snapshot_of(
        &repo,
        store_tree(
            &repo,
            &Tree {
                nodes: vec![symlink("a", &victim_file), symlink("x", &victim)],
            },
        ),
    );
    let inner = store_tree(
        &repo,
        &Tree {
            nodes: vec![empty_file("f", 0o777)],
        },
    );
    let second = snapshot_of(
        &repo,
        store_tree(
            &repo,
            &Tree {
                nodes: vec![empty_file("a", 0o777), dir("x", inner)],
            },
        ),
    );
    for ow in [
        Overwrite::Never,
        Overwrite::IfNewer,
        Overwrite::IfChanged,
        Overwrite::Always,
    ] {
        let target = tmp.path().join(format!("t-{ow:?}"));
        restore(&repo, &first, &target, Overwrite::Always);
        restore(&repo, &second, &target, ow);
        assert_eq!(entries(&victim), vec!["file"], "{ow:?}");
        let m = std::fs::metadata(&victim_file).expect("stat");
        assert_eq!(
            m.permissions().mode() & 0o777,
            0o600,
            "{ow:?}: no chmod through a link"
        );
        assert_eq!(
            std::fs::read(&victim_file).expect("read"),
            b"keep",
            "{ow:?}"
        );
        let x = std::fs::symlink_metadata(target.join("x")).expect("x");
        match ow {
            Overwrite::Always | Overwrite::IfChanged => assert!(x.is_dir(), "{ow:?}: replaced"),
            _ => assert!(x.file_type().is_symlink(), "{ow:?}: kept"),
        }
    }
}

/// A symlink already in the target where a restored file goes: the file
/// replaces the link; what the link pointed to is untouched.
#[test]
fn an_existing_symlink_in_the_target_is_replaced_not_written_through() {
    let tmp = tempfile::tempdir().expect("tmp");
    let src = tmp.path().join("src");
    std::fs::create_dir_all(&src).expect("mkdir");
    std::fs::write(src.join("a.txt"), b"restored content").expect("write");
    let victim = tmp.path().join("victim-secret");
    std::fs::write(&victim, b"secret").expect("write");
    let (_b, repo) = memory_repo();
    let res = repo
        .backup(BackupOptions::default().paths(vec![src.clone()]))
        .expect("backup");
    let target = tmp.path().join("t");
    let at = restored(&target, &src.join("a.txt"));
    std::fs::create_dir_all(at.parent().expect("dir")).expect("mkdir");
    std::os::unix::fs::symlink(&victim, &at).expect("symlink");
    let s = restore(&repo, &res.id, &target, Overwrite::Always);
    assert!(s.complete(), "{s:?}");
    assert_eq!(std::fs::read(&victim).expect("read"), b"secret");
    assert!(std::fs::symlink_metadata(&at).expect("stat").is_file());
    assert_eq!(std::fs::read(&at).expect("read"), b"restored content");
}

/// One random entry of a source tree.
#[derive(Clone, Debug)]
enum Entry {
    File {
        size: usize,
        seed: u64,
        mode: u32,
    },
    Sparse {
        before: usize,
        hole: u64,
        after: usize,
    },
    Link(usize),
    Symlink(String),
    Fifo,
    Dir(Vec<Entry>),
    Xattr {
        value: Vec<u8>,
    },
}

fn arb_entry() -> impl Strategy<Value = Entry> {
    let modes = prop_oneof![
        Just(0o644u32),
        Just(0o600),
        Just(0o755),
        Just(0o4755),
        Just(0o000)
    ];
    let leaf = prop_oneof![
        (0usize..200_000, any::<u64>(), modes).prop_map(|(size, seed, mode)| Entry::File {
            size,
            seed,
            mode
        }),
        (1usize..10_000, 1u64..(4 << 20), 0usize..10_000).prop_map(|(before, hole, after)| {
            Entry::Sparse {
                before,
                hole,
                after,
            }
        }),
        (0usize..8).prop_map(Entry::Link),
        "[a-z./]{1,20}".prop_map(Entry::Symlink),
        Just(Entry::Fifo),
        prop::collection::vec(any::<u8>(), 0..64).prop_map(|value| Entry::Xattr { value }),
    ];
    leaf.prop_recursive(3, 40, 6, |inner| {
        prop::collection::vec(inner, 0..6).prop_map(Entry::Dir)
    })
}

fn arb_entries() -> impl Strategy<Value = Vec<Entry>> {
    prop::collection::vec(arb_entry(), 1..10)
}

/// Materialises entries under `dir`; hard links point at earlier files.
fn build(dir: &Path, entries: &[Entry], files: &mut Vec<PathBuf>) {
    std::fs::create_dir_all(dir).expect("mkdir");
    for (i, e) in entries.iter().enumerate() {
        let p = dir.join(format!("e{i}"));
        match e {
            Entry::File { size, seed, mode } => {
                std::fs::write(&p, noise(*size, *seed)).expect("write");
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(*mode))
                    .expect("chmod");
                files.push(p);
            }
            Entry::Sparse {
                before,
                hole,
                after,
            } => {
                use std::os::unix::fs::FileExt;
                let f = std::fs::File::create(&p).expect("create");
                f.write_all_at(&noise(*before, 3), 0).expect("write");
                let at = (*before as u64 + hole).div_ceil(4096) * 4096 + 4096;
                f.write_all_at(&noise(*after, 4), at).expect("write");
                files.push(p);
            }
            Entry::Link(k) if !files.is_empty() => {
                let src = files[k % files.len()].clone();
                std::fs::hard_link(&src, &p).expect("link");
            }
            Entry::Link(_) => std::fs::write(&p, b"no file to link to yet").expect("write"),
            Entry::Symlink(t) => std::os::unix::fs::symlink(t, &p).expect("symlink"),
            Entry::Fifo => {
                rustix::fs::mknodat(
                    rustix::fs::CWD,
                    &p,
                    rustix::fs::FileType::Fifo,
                    rustix::fs::Mode::from_raw_mode(0o640),
                    0,
                )
                .expect("mkfifo");
            }
            Entry::Dir(sub) => build(&p, sub, files),
            Entry::Xattr { value } => {
                std::fs::write(&p, b"with attributes").expect("write");
                rustix::fs::setxattr(
                    &p,
                    "user.cairn.test",
                    value,
                    rustix::fs::XattrFlags::empty(),
                )
                .expect("setxattr (the test file system must support user xattrs)");
            }
        }
    }
}

/// Everything compared between source and restored entry.
#[derive(Clone, Debug, PartialEq)]
struct Seen {
    kind: &'static str,
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: (i64, i64),
    atime: Option<(i64, i64)>,
    content: Vec<u8>,
    link: Option<PathBuf>,
    xattrs: Vec<(Vec<u8>, Vec<u8>)>,
    links: u64,
    holes: Vec<(u64, u64)>,
}

/// Reads a file without moving its atime (which another name of the same
/// inode would then show).
fn read_noatime(p: &Path) -> Vec<u8> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut out = Vec::new();
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOATIME)
        .open(p)
        .or_else(|_| std::fs::File::open(p))
        .and_then(|mut f| f.read_to_end(&mut out))
        .expect("read");
    out
}

fn holes_of(p: &Path) -> Vec<(u64, u64)> {
    let f = std::fs::File::open(p).expect("open");
    let m = f.metadata().expect("stat");
    if m.blocks() * 512 >= m.len() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < m.len() {
        let Ok(h) = rustix::fs::seek(&f, rustix::fs::SeekFrom::Hole(pos)) else {
            break;
        };
        if h >= m.len() {
            break;
        }
        let d = rustix::fs::seek(&f, rustix::fs::SeekFrom::Data(h)).unwrap_or(m.len());
        out.push((h, d - h));
        pos = d;
    }
    out
}

fn xattrs_of(p: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut names = vec![0u8; 4096];
    let n = rustix::fs::llistxattr(p, &mut names[..]).unwrap_or(0);
    let mut out: Vec<(Vec<u8>, Vec<u8>)> = names[..n]
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty() && s.starts_with(b"user."))
        .map(|name| {
            let mut v = vec![0u8; 4096];
            let cname = std::ffi::CString::new(name).expect("name");
            let len = rustix::fs::lgetxattr(p, cname.as_c_str(), &mut v[..]).expect("getxattr");
            v.truncate(len);
            (name.to_vec(), v)
        })
        .collect();
    out.sort();
    out
}

fn seen(p: &Path) -> Seen {
    let m = std::fs::symlink_metadata(p).expect("lstat");
    let ft = m.file_type();
    let kind = if ft.is_dir() {
        "dir"
    } else if ft.is_symlink() {
        "symlink"
    } else if ft.is_fifo() {
        "fifo"
    } else {
        "file"
    };
    Seen {
        kind,
        mode: m.mode(),
        uid: m.uid(),
        gid: m.gid(),
        mtime: (m.mtime(), m.mtime_nsec()),
        atime: (kind == "file" || kind == "fifo").then(|| (m.atime(), m.atime_nsec())),
        content: if kind == "file" {
            read_noatime(p)
        } else {
            Vec::new()
        },
        link: ft
            .is_symlink()
            .then(|| std::fs::read_link(p).expect("readlink")),
        xattrs: if ft.is_symlink() {
            Vec::new()
        } else {
            xattrs_of(p)
        },
        links: if ft.is_dir() { 0 } else { m.nlink() },
        holes: if kind == "file" {
            holes_of(p)
        } else {
            Vec::new()
        },
    }
}

fn walk(
    root: &Path,
    dir: &Path,
    out: &mut BTreeMap<PathBuf, Seen>,
    inodes: &mut BTreeMap<PathBuf, u64>,
) {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .expect("readdir")
        .map(|e| e.expect("e").path())
        .collect();
    names.sort();
    for p in names {
        let rel = p.strip_prefix(root).expect("prefix").to_path_buf();
        let m = std::fs::symlink_metadata(&p).expect("lstat");
        inodes.insert(rel.clone(), m.ino());
        out.insert(rel, seen(&p));
        if m.is_dir() {
            walk(root, &p, out, inodes);
        }
    }
}

/// Which relative paths share an inode (hard-link groups).
fn link_groups(inodes: &BTreeMap<PathBuf, u64>) -> Vec<Vec<PathBuf>> {
    let mut by: BTreeMap<u64, Vec<PathBuf>> = BTreeMap::new();
    for (p, i) in inodes {
        by.entry(*i).or_default().push(p.clone());
    }
    let mut groups: Vec<Vec<PathBuf>> = by.into_values().filter(|v| v.len() > 1).collect();
    groups.sort();
    groups
}

/// 12 random trees per run; PROPTEST_CASES=N for a longer campaign.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]
    /// Random trees of files (with set-id and zero modes), sparse files,
    /// hard links, symlinks, FIFOs, extended attributes and nested
    /// directories restore with the same types, modes, owners, times,
    /// contents, attributes, holes and hard-link groups.
    #[test]
    fn random_trees_restore_with_all_their_metadata(entries in arb_entries()) {
        let tmp = tempfile::tempdir().expect("tmp");
        let src = tmp.path().join("src");
        let mut files = Vec::new();
        build(&src, &entries, &mut files);
        let (_b, repo) = memory_repo();
        let res = repo.backup(BackupOptions::default().paths(vec![src.clone()])).expect("backup");
        prop_assert!(res.complete(), "{:?}", res.warnings);
        let target = tmp.path().join("t");
        let s = repo.restore(&res.id, RestoreOptions::default().target(target.clone()).verify(true)).expect("restore");
        prop_assert!(s.complete(), "{:?}", s);
        let (mut a, mut b) = (BTreeMap::new(), BTreeMap::new());
        let (mut ia, mut ib) = (BTreeMap::new(), BTreeMap::new());
        walk(&src, &src, &mut a, &mut ia);
        let dst = restored(&target, &src);
        walk(&dst, &dst, &mut b, &mut ib);
        prop_assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
        for (k, va) in &a {
            let mut va = va.clone();
            if !is_root() {
                va.uid = b[k].uid;
                va.gid = b[k].gid;
            }
            prop_assert_eq!(&va, &b[k], "entry {:?}", k);
        }
        prop_assert_eq!(link_groups(&ia), link_groups(&ib));
    }
}
