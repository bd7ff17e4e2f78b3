//! Tampering with stored objects gives the right error, never a panic or
//! silently wrong data.

mod common;
use cairn::{BackupOptions, Error, Repository, RestoreOptions};
use common::*;
use std::path::{Path, PathBuf};

fn setup() -> (tempfile::TempDir, PathBuf, cairn::SnapshotId) {
    let tmp = tempfile::tempdir().expect("tmp");
    let src = tmp.path().join("src");
    std::fs::create_dir_all(&src).expect("mkdir");
    std::fs::write(src.join("a.bin"), noise(3 << 20, 1)).expect("write");
    std::fs::write(src.join("b.txt"), text(1 << 20, 2)).expect("write");
    let (_b, repo) = local_repo(&tmp.path().join("repo"));
    let res = repo
        .backup(BackupOptions::default().paths(vec![src]))
        .expect("backup");
    (tmp, PathBuf::from("repo"), res.id)
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("readdir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn reopen(tmp: &Path) -> cairn::Result<Repository> {
    let b = cairn::open_backend(
        tmp.join("repo").to_str().expect("utf8"),
        &cairn::BackendOptions::default(),
    )?;
    Repository::open(b, &secret())
}

fn restore_all(repo: &Repository, id: &cairn::SnapshotId, tmp: &Path) -> cairn::Result<()> {
    let target = tmp.join(format!("out-{}", rand_suffix()));
    repo.restore(id, RestoreOptions::default().target(target))
        .map(|_| ())
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// The largest pack holds the file data.
fn data_pack(tmp: &Path) -> PathBuf {
    files_under(&tmp.join("repo/data"))
        .into_iter()
        .max_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .expect("a pack")
}

#[test]
fn flipped_byte_in_a_pack_is_corrupt_and_names_the_pack_and_file() {
    let (tmp, _, id) = setup();
    let pack = data_pack(tmp.path());
    let mut bytes = std::fs::read(&pack).expect("read");
    bytes[100] ^= 0x40;
    std::fs::write(&pack, bytes).expect("write");
    let repo = reopen(tmp.path()).expect("index is intact");
    let err = restore_all(&repo, &id, tmp.path()).expect_err("must fail");
    let msg = err.to_string();
    assert!(matches!(err, Error::Corrupt { .. }), "{msg}");
    let pack_name = pack.file_name().and_then(|n| n.to_str()).expect("name");
    assert!(msg.contains(pack_name), "names the pack: {msg}");
    assert!(
        msg.contains("a.bin") || msg.contains("b.txt"),
        "names the file: {msg}"
    );
}

#[test]
fn truncated_pack_fails_cleanly() {
    let (tmp, _, id) = setup();
    let pack = data_pack(tmp.path());
    let bytes = std::fs::read(&pack).expect("read");
    std::fs::write(&pack, &bytes[..bytes.len() / 2]).expect("write");
    let repo = reopen(tmp.path()).expect("opens");
    let err = restore_all(&repo, &id, tmp.path()).expect_err("must fail");
    assert!(
        matches!(err, Error::Corrupt { .. } | Error::Backend { .. }),
        "{err}"
    );
}

#[test]
fn deleted_pack_is_not_found() {
    let (tmp, _, id) = setup();
    std::fs::remove_file(data_pack(tmp.path())).expect("rm");
    let repo = reopen(tmp.path()).expect("opens");
    let err = restore_all(&repo, &id, tmp.path()).expect_err("must fail");
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
}

#[test]
fn deleted_index_makes_blobs_unknown() {
    let (tmp, _, id) = setup();
    for f in files_under(&tmp.path().join("repo/index")) {
        std::fs::remove_file(f).expect("rm");
    }
    let repo = reopen(tmp.path()).expect("opens");
    let err = restore_all(&repo, &id, tmp.path()).expect_err("must fail");
    assert!(
        matches!(err, Error::NotFound { ref kind, .. } if kind == "blob"),
        "{err}"
    );
}

#[test]
fn tampered_index_and_snapshot_are_corrupt() {
    let (tmp, _, id) = setup();
    let idx = files_under(&tmp.path().join("repo/index")).remove(0);
    let mut bytes = std::fs::read(&idx).expect("read");
    let n = bytes.len();
    bytes[n - 3] ^= 1;
    std::fs::write(&idx, bytes).expect("write");
    // A damaged index file does not lock the repository: it is reported,
    // and the blobs it listed read as missing, naming the affected files.
    let repo = reopen(tmp.path()).expect("opens despite a damaged index file");
    let problems = repo.index_problems();
    assert!(
        problems.len() == 1 && problems[0].contains("corrupt index"),
        "{problems:?}"
    );
    let err = restore_all(&repo, &id, tmp.path()).expect_err("blobs are unknown");
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    assert!(repo
        .check(cairn::CheckOptions::default())
        .expect("check")
        .problems
        .iter()
        .any(|p| p.kind == "index-file"));
    std::fs::remove_file(&idx).expect("rm");
    let snap = tmp.path().join("repo/snapshots").join(id.to_hex());
    let mut bytes = std::fs::read(&snap).expect("read");
    bytes[20] ^= 1;
    std::fs::write(&snap, bytes).expect("write");
    let repo = reopen(tmp.path()).expect("opens");
    let err = repo.load_snapshot(&id).expect_err("snapshot damaged");
    assert!(matches!(err, Error::Corrupt { .. }), "{err}");
}
