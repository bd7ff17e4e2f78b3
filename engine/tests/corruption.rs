//! The corruption matrix: each kind of repository file (config, key slot,
//! index file, data pack, tree pack, snapshot) flipped, truncated or
//! deleted in turn. Every case must end in a specific error naming the
//! object, never a panic or wrong data; `check` must point at the damage;
//! and what the damage does not touch must still restore. The table this
//! prints is recorded in docs/reliability.md:
//! `cargo test -p cairn --test corruption -- --nocapture`.

mod common;
use cairn::{BackupOptions, FileKind, PackId, Repository, Secret, SnapshotId};
use common::*;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug)]
enum Damage {
    Flip,
    Truncate,
    Delete,
}

struct Fixture {
    dir: tempfile::TempDir,
    /// Source paths as stored in the snapshots.
    big: String,
    small: String,
    /// Older and newer snapshot.
    a: SnapshotId,
    b: SnapshotId,
    /// A pack holding part of `big`, and the pack holding the trees.
    data_pack: PackId,
    tree_pack: PackId,
    /// The index file listing `data_pack`.
    index: String,
    /// The original bytes of `big` and `small`.
    big_bytes: Vec<u8>,
    small_bytes: Vec<u8>,
}

fn repo_dir(f: &Fixture) -> PathBuf {
    f.dir.path().join("repo")
}

fn open(f: &Fixture) -> cairn::Result<Repository> {
    let b = cairn::open_backend(
        repo_dir(f).to_str().expect("utf8"),
        &cairn::BackendOptions::default(),
    )?;
    Repository::open(b, &secret())
}

fn node_path(repo: &Repository, snap: &SnapshotId, suffix: &str) -> String {
    let s = repo.load_snapshot(snap).expect("snapshot");
    let mut found = None;
    repo.walk_tree(&s.tree, "", &mut |p, _| {
        if p.ends_with(suffix) {
            found = Some(p.to_string());
        }
        Ok(())
    })
    .expect("walk");
    found.expect("path in snapshot")
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tmp");
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("small")).expect("mkdir");
    let big_bytes = noise(6 << 20, 11);
    std::fs::write(src.join("big.bin"), &big_bytes).expect("write");
    for i in 0..20 {
        std::fs::write(src.join(format!("small/{i}.txt")), text(4000, i)).expect("write");
    }
    let (_b, repo) = local_repo(&dir.path().join("repo"));
    let backup = |repo: &Repository| {
        repo.backup(BackupOptions::default().paths(vec![src.clone()]))
            .expect("backup")
            .id
    };
    let a = backup(&repo);
    std::fs::write(src.join("small/0.txt"), "changed").expect("write");
    let b = backup(&repo);
    let big = node_path(&repo, &a, "/big.bin");
    let packs_of = |path: &str| -> Vec<PackId> {
        let node = repo.find_path(&a, path).expect("node");
        let chunks = repo
            .chunk_list(node.content().expect("file"))
            .expect("chunks");
        chunks
            .iter()
            .map(|c| repo.blob_location(c).expect("indexed").pack)
            .collect()
    };
    let (small, small_seed) = (node_path(&repo, &a, "/small/1.txt"), 1);
    // A pack holding part of `big` but nothing of `small`.
    let data_pack = packs_of(&big)
        .into_iter()
        .find(|p| !packs_of(&small).contains(p))
        .expect("big.bin spans a pack of its own");
    let tree = repo.load_snapshot(&a).expect("snap").tree;
    let tree_pack = repo.blob_location(&tree).expect("indexed").pack;
    let index = repo
        .backend()
        .list(FileKind::Index)
        .expect("list")
        .into_iter()
        .map(|(n, _)| n)
        .find(|n| {
            let id = cairn::IndexId::from_hex(n).expect("id");
            let file = repo.load_index_file(&id).expect("index file");
            file.packs.iter().any(|p| p.id == data_pack)
        })
        .expect("an index file lists the data pack");
    Fixture {
        index,
        dir,
        big,
        small,
        a,
        b,
        data_pack,
        tree_pack,
        big_bytes,
        small_bytes: text(4000, small_seed),
    }
}

fn damage(path: &Path, how: Damage) {
    match how {
        Damage::Flip => {
            let mut bytes = std::fs::read(path).expect("read");
            let i = bytes.len() / 2;
            bytes[i] ^= 0x20;
            std::fs::write(path, bytes).expect("write");
        }
        Damage::Truncate => {
            let bytes = std::fs::read(path).expect("read");
            std::fs::write(path, &bytes[..bytes.len() / 2]).expect("write");
        }
        Damage::Delete => std::fs::remove_file(path).expect("delete"),
    }
}

fn object_path(f: &Fixture, kind: FileKind, name: &str) -> PathBuf {
    repo_dir(f).join(kind.path(name))
}

fn only_object(f: &Fixture, kind: FileKind) -> String {
    let dir = repo_dir(f).join(kind.dir());
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names.remove(0)
}

fn dump(repo: &Repository, snap: &SnapshotId, path: &str) -> cairn::Result<Vec<u8>> {
    let mut out = Vec::new();
    repo.dump(snap, path, &mut out)?;
    Ok(out)
}

#[track_caller]
fn assert_names(err: &cairn::Error, what: &str) {
    let msg = err.to_string();
    assert!(msg.contains(what), "error does not name {what}: {msg}");
}

/// config and key slots: opening fails with an error naming the object.
fn damaged_open(f: &Fixture, names: &str) -> String {
    let err = open(f).expect_err("opening must fail");
    assert_names(&err, names);
    format!("open fails: {err}")
}

fn damaged_index(f: &Fixture, index: &str, how: Damage) -> String {
    let repo = open(f).expect("a damaged index does not block opening");
    let report = repo
        .check(cairn::CheckOptions::default())
        .expect("check runs");
    assert!(!report.is_clean(), "check must report the damaged index");
    let all = format!("{:?}", report.problems);
    match how {
        Damage::Delete => assert!(all.contains("missing-blob"), "{all}"),
        _ => assert!(all.contains(index), "check must name index {index}: {all}"),
    }
    // The trees are in that index too, so whole snapshots are affected.
    assert!(
        report.affected.iter().any(|a| a.snapshot == f.a.to_hex()),
        "check must name snapshot {} as affected: {:?}",
        f.a,
        report.affected
    );
    let err = dump(&repo, &f.a, &f.big).expect_err("blobs are unknown");
    assert_names(&err, "blob");
    repo.repair_index(cairn::RepairOptions::default())
        .expect("repair index");
    let repo = open(f).expect("open");
    assert!(
        repo.check(cairn::CheckOptions::default())
            .expect("check")
            .is_clean(),
        "repair must heal"
    );
    assert_eq!(dump(&repo, &f.a, &f.big).expect("restores"), f.big_bytes);
    format!(
        "check names it; restore fails naming the blob; `repair index` heals: {} problems",
        report.problems.len()
    )
}

/// `check --read-data` on the damaged repository; it must name `pack`.
fn check_names_pack(f: &Fixture, pack: &str) -> (Repository, cairn::CheckReport) {
    let repo = open(f).expect("open");
    let report = repo
        .check(cairn::CheckOptions::default().read_data(Some(cairn::Subset::All)))
        .expect("check");
    let all = format!("{:?}", report.problems);
    assert!(all.contains(pack), "check must name pack {pack}: {all}");
    (repo, report)
}

fn damaged_data_pack(f: &Fixture) -> String {
    let pack = f.data_pack.to_hex();
    let (repo, report) = check_names_pack(f, &pack);
    for s in [f.a, f.b] {
        assert!(
            report
                .affected
                .iter()
                .any(|a| a.path == f.big && a.snapshot == s.to_hex()),
            "check must name {} in snapshot {s} as affected: {:?}",
            f.big,
            report.affected
        );
    }
    assert!(
        !report.affected.iter().any(|a| a.path == f.small),
        "{} is not affected",
        f.small
    );
    let err = dump(&repo, &f.a, &f.big).expect_err("damaged data");
    assert_names(&err, &pack);
    assert_eq!(
        dump(&repo, &f.a, &f.small).expect("unaffected file restores"),
        f.small_bytes
    );
    format!("check names the pack and {}; other files restore", f.big)
}

fn damaged_tree_pack(f: &Fixture) -> String {
    let pack = f.tree_pack.to_hex();
    let (repo, report) = check_names_pack(f, &pack);
    assert!(
        !report.affected.is_empty(),
        "check must name affected snapshots"
    );
    let err = dump(&repo, &f.a, &f.small).expect_err("trees are damaged");
    assert_names(&err, &pack);
    "check names the pack and the snapshots; restore fails naming the pack".to_string()
}

fn damaged_snapshot(f: &Fixture, how: Damage) -> String {
    let repo = open(f).expect("open");
    let (good, bad) = repo.readable_snapshots().expect("list");
    assert_eq!(good.len(), 1, "the other snapshot stays readable");
    assert_eq!(good[0].0, f.b);
    assert_eq!(
        dump(&repo, &f.b, &f.small).expect("restores"),
        f.small_bytes
    );
    if let Damage::Delete = how {
        assert!(bad.is_empty());
        return "not detectable (same as `forget`); the other snapshot restores".into();
    }
    assert_eq!(bad.len(), 1);
    assert_names(&bad[0], &f.a.to_hex());
    let err = repo.snapshots().expect_err("strict listing refuses");
    assert_names(&err, &f.a.to_hex());
    let report = repo.check(cairn::CheckOptions::default()).expect("check");
    assert!(format!("{:?}", report.problems).contains(&f.a.to_hex()));
    "listing names it; check names it; the other snapshot restores".into()
}

#[test]
fn every_kind_of_damage_is_reported_and_contained() {
    let kinds = [
        "config",
        "key",
        "index",
        "data pack",
        "tree pack",
        "snapshot",
    ];
    let mut rows = Vec::new();
    let (mut injected, mut detected) = (0, 0);
    for kind in kinds {
        for how in [Damage::Flip, Damage::Truncate, Damage::Delete] {
            let f = fixture();
            let (path, name) = match kind {
                "config" => (repo_dir(&f).join("config"), "config".to_string()),
                "key" => {
                    let k = only_object(&f, FileKind::Key);
                    (object_path(&f, FileKind::Key, &k), k)
                }
                "index" => (object_path(&f, FileKind::Index, &f.index), f.index.clone()),
                "data pack" => (
                    object_path(&f, FileKind::Pack, &f.data_pack.to_hex()),
                    f.data_pack.to_hex(),
                ),
                "tree pack" => (
                    object_path(&f, FileKind::Pack, &f.tree_pack.to_hex()),
                    f.tree_pack.to_hex(),
                ),
                _ => (
                    object_path(&f, FileKind::Snapshot, &f.a.to_hex()),
                    f.a.to_hex(),
                ),
            };
            damage(&path, how);
            let outcome = match kind {
                "config" => damaged_open(&f, "config"),
                "key" => damaged_open(
                    &f,
                    if let Damage::Delete = how {
                        "no key slot"
                    } else {
                        &name
                    },
                ),
                "index" => damaged_index(&f, &name, how),
                "data pack" => damaged_data_pack(&f),
                "tree pack" => damaged_tree_pack(&f),
                _ => damaged_snapshot(&f, how),
            };
            injected += 1;
            if !outcome.starts_with("not detectable") {
                detected += 1;
            }
            rows.push(format!("| {kind} | {how:?} | {outcome} |"));
        }
    }
    eprintln!("| file | damage | outcome |\n|---|---|---|");
    for r in &rows {
        eprintln!("{r}");
    }
    eprintln!("detected {detected} of {injected} injected corruptions");
    assert_eq!(
        detected,
        injected - 1,
        "only a deleted snapshot goes unnoticed"
    );
}

#[test]
fn a_damaged_key_slot_does_not_lock_out_the_other_slots() {
    let f = fixture();
    let repo = open(&f).expect("open");
    let other = Secret::passphrase("second");
    let id = repo
        .add_key(
            &other,
            cairn::KeyOptions::default()
                .argon2(cairn::Argon2Params::insecure_for_tests())
                .label("second".into()),
        )
        .expect("add key");
    drop(repo);
    let first = std::fs::read_dir(repo_dir(&f).join("keys"))
        .expect("keys")
        .map(|e| e.expect("entry").path())
        .find(|p| !p.ends_with(id.to_hex()))
        .expect("first slot");
    damage(&first, Damage::Flip);
    let b = cairn::open_backend(
        repo_dir(&f).to_str().expect("utf8"),
        &cairn::BackendOptions::default(),
    )
    .expect("backend");
    let repo = Repository::open(b.clone(), &other).expect("the intact slot opens");
    assert_eq!(
        dump(&repo, &f.a, &f.small).expect("restores"),
        f.small_bytes
    );
    let err = Repository::open(b, &secret()).expect_err("the damaged slot cannot");
    assert_names(&err, "key slot");
}
