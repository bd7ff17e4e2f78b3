//! Helpers shared by the integration tests.
#![allow(dead_code)]

use cairn::{Argon2Params, Backend, InitOptions, LocalBackend, ObjectBackend, Repository, Secret};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub fn secret() -> Secret {
    Secret::passphrase("test passphrase")
}

pub fn fast_init() -> InitOptions {
    InitOptions::default()
        .argon2(Argon2Params::insecure_for_tests())
        .pack_size(1 << 20)
}

pub fn memory_repo() -> (Arc<dyn Backend>, Repository) {
    let b: Arc<dyn Backend> = Arc::new(ObjectBackend::memory().expect("memory backend"));
    let r = Repository::init(b.clone(), &secret(), fast_init()).expect("init");
    (b, r)
}

pub fn local_repo(dir: &Path) -> (Arc<dyn Backend>, Repository) {
    let b: Arc<dyn Backend> = Arc::new(LocalBackend::new(dir, true).expect("local backend"));
    let r = Repository::init(b.clone(), &secret(), fast_init()).expect("init");
    (b, r)
}

/// Deterministic pseudo-random bytes.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    // Distinct seeds give distinct streams (xorshift needs a non-zero state).
    let mut seed = (seed << 1) | 1;
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

/// SQL-like text.
pub fn text(len: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 100);
    let mut i = seed;
    while out.len() < len {
        out.extend_from_slice(
            format!(
                "INSERT INTO users VALUES ({i}, 'user{i}', 'user{i}@example.com', {});\n",
                i * 7 % 1000
            )
            .as_bytes(),
        );
        i += 1;
    }
    out.truncate(len);
    out
}

/// A tree with random and text files, empty files, deep dirs, symlinks and
/// unicode names.
pub fn make_tree(root: &Path) {
    std::fs::create_dir_all(root).expect("mkdir");
    std::fs::write(root.join("empty"), b"").expect("write");
    std::fs::write(root.join("random.bin"), noise(3 << 20, 1)).expect("write");
    std::fs::write(root.join("dump.sql"), text(2 << 20, 5)).expect("write");
    std::fs::write(root.join("small.txt"), b"hello\n").expect("write");
    let mut deep = root.to_path_buf();
    for i in 0..12 {
        deep = deep.join(format!("d{i}"));
    }
    std::fs::create_dir_all(&deep).expect("mkdir");
    std::fs::write(deep.join("leaf.txt"), b"deep leaf").expect("write");
    let uni = root.join("ünïcødé 日本語 🚀");
    std::fs::create_dir_all(&uni).expect("mkdir");
    std::fs::write(uni.join("файл.txt"), text(5000, 9)).expect("write");
    for i in 0..50 {
        std::fs::write(uni.join(format!("f{i}")), noise(i * 997, i as u64)).expect("write");
    }
    std::os::unix::fs::symlink("small.txt", root.join("link")).expect("symlink");
    std::os::unix::fs::symlink("/nonexistent/target", root.join("dangling")).expect("symlink");
    let exe = root.join("script.sh");
    std::fs::write(&exe, b"#!/bin/sh\necho hi\n").expect("write");
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o750)).expect("chmod");
    std::fs::create_dir_all(root.join("emptydir")).expect("mkdir");
}

/// Asserts two trees are identical: names, types, contents, modes, mtimes
/// and symlink targets.
pub fn assert_same_tree(a: &Path, b: &Path) {
    let mut left = list(a);
    let mut right = list(b);
    left.sort();
    right.sort();
    let ln: Vec<_> = left.iter().map(|e| &e.0).collect();
    let rn: Vec<_> = right.iter().map(|e| &e.0).collect();
    assert_eq!(ln, rn, "same entries");
    for (l, r) in left.iter().zip(&right) {
        assert_eq!(l, r, "entry {:?} differs", l.0);
    }
}

type EntryInfo = (PathBuf, char, u32, i64, Vec<u8>);

fn list(root: &Path) -> Vec<EntryInfo> {
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<EntryInfo>) {
    for e in std::fs::read_dir(dir).expect("readdir") {
        let p = e.expect("entry").path();
        let m = std::fs::symlink_metadata(&p).expect("lstat");
        let rel = p.strip_prefix(root).expect("prefix").to_path_buf();
        let ft = m.file_type();
        if ft.is_symlink() {
            let t = std::fs::read_link(&p).expect("readlink");
            out.push((
                rel,
                'l',
                0,
                m.mtime(),
                t.into_os_string().into_encoded_bytes(),
            ));
        } else if ft.is_dir() {
            out.push((rel, 'd', m.mode() & 0o7777, m.mtime(), Vec::new()));
            walk(root, &p, out);
        } else {
            let data = std::fs::read(&p).expect("read");
            out.push((rel, 'f', m.mode() & 0o7777, m.mtime(), data));
        }
    }
}

/// Where a restored source path ends up under the target.
pub fn restored(target: &Path, source: &Path) -> PathBuf {
    target.join(source.strip_prefix("/").expect("absolute"))
}

/// Sum of pack file sizes.
pub fn pack_bytes(b: &dyn Backend) -> u64 {
    b.list(cairn::FileKind::Pack)
        .expect("list")
        .iter()
        .map(|(_, s)| s)
        .sum()
}
