//! forget, prune, check, copy, repair and append-only mode.

mod common;
use cairn::{
    Backend, BackupOptions, Error, FileKind, ForgetOptions, GroupBy, ObjectBackend, PruneOptions,
    Repository, RestoreOptions, RetentionPolicy, StreamSource, Subset,
};
use common::*;
use std::sync::Arc;

fn prune_now() -> PruneOptions {
    PruneOptions::default().grace_secs(0)
}

fn stream_backup(repo: &Repository, name: &str, data: Vec<u8>, t: i64) -> cairn::SnapshotId {
    repo.backup(
        BackupOptions::default()
            .streams(vec![StreamSource::from_reader(
                name,
                std::io::Cursor::new(data),
            )])
            .time_ns(Some(t)),
    )
    .expect("backup")
    .id
}

fn dump(repo: &Repository, id: &cairn::SnapshotId, name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    repo.dump(id, name, &mut out).expect("dump");
    out
}

#[test]
fn prune_frees_what_forget_released_and_nothing_else() {
    let (b, repo) = memory_repo();
    let days: Vec<Vec<u8>> = (0..4).map(|d| noise(3 << 20, 10 + d)).collect();
    let ids: Vec<_> = days
        .iter()
        .enumerate()
        .map(|(i, d)| stream_backup(&repo, "db.dump", d.clone(), 1_000 + i as i64))
        .collect();
    let before = pack_bytes(b.as_ref());
    let policy = RetentionPolicy {
        last: Some(2),
        ..Default::default()
    };
    let decisions = repo
        .forget(
            ForgetOptions::default()
                .policy(policy)
                .group_by(GroupBy::default())
                .dry_run(false),
        )
        .expect("forget")
        .decisions;
    assert_eq!(decisions.iter().filter(|d| !d.keep).count(), 2);
    assert_eq!(repo.snapshots().expect("list").len(), 2);
    let report = repo.prune(prune_now()).expect("prune");
    assert!(report.packs_deleted > 0, "{report:?}");
    let after = pack_bytes(b.as_ref());
    assert!(
        after < before - (5 << 20),
        "freed the two forgotten days: {before} -> {after}"
    );
    assert!(after > 6 << 20, "kept the two remaining days: {after}");
    for (i, id) in ids.iter().enumerate().skip(2) {
        assert!(
            dump(&repo, id, "db.dump") == days[i],
            "day {i} restores byte-identical"
        );
    }
    let check = repo
        .check(cairn::CheckOptions::default().read_data(Some(Subset::All)))
        .expect("check");
    assert!(check.is_clean(), "{:?}", check.problems);
    assert!(check.warnings.is_empty(), "{:?}", check.warnings);
    let again = repo.prune(prune_now()).expect("second prune");
    assert_eq!(
        (again.packs_planned, again.packs_deleted),
        (0, 0),
        "nothing left to free: {again:?}"
    );
}

#[test]
fn prune_repacks_mostly_unused_packs() {
    let (b, repo) = memory_repo();
    // Two snapshots sharing one pack-sized stream: each 256 KiB piece is
    // one chunk; forgetting one leaves its packs half used.
    let a = noise(6 << 20, 1);
    let bb = noise(6 << 20, 2);
    let mut both = a.clone();
    both.extend_from_slice(&bb);
    let s1 = stream_backup(&repo, "x", both, 1);
    let s2 = stream_backup(&repo, "x", a.clone(), 2);
    repo.forget(ForgetOptions::default().policy(RetentionPolicy {
        last: Some(1),
        ..Default::default()
    }))
    .expect("forget");
    let before = pack_bytes(b.as_ref());
    let report = repo
        .prune(PruneOptions::default().grace_secs(0).repack_threshold(0.3))
        .expect("prune");
    assert!(
        report.packs_repacked > 0 || report.packs_deleted > 0,
        "{report:?}"
    );
    assert!(pack_bytes(b.as_ref()) < before, "space was freed");
    assert!(dump(&repo, &s2, "x") == a);
    assert!(matches!(
        repo.load_snapshot(&s1),
        Err(Error::NotFound { .. })
    ));
    assert!(repo
        .check(cairn::CheckOptions::default().read_data(Some(Subset::All)))
        .expect("check")
        .is_clean());
}

#[test]
fn prune_waits_for_grace_period_and_running_backups() {
    let (b, repo) = memory_repo();
    stream_backup(&repo, "x", noise(2 << 20, 1), 1);
    repo.forget(ForgetOptions::default().policy(RetentionPolicy {
        tags: vec![vec!["none".into()]],
        ..Default::default()
    }))
    .expect("forget all");
    let before = pack_bytes(b.as_ref());
    let r = repo
        .prune(PruneOptions::default().grace_secs(3600))
        .expect("prune");
    assert!(r.packs_planned > 0 && r.packs_deleted == 0, "{r:?}");
    assert_eq!(
        pack_bytes(b.as_ref()),
        before,
        "nothing deleted inside the grace period"
    );
    assert_eq!(b.list(FileKind::Plan).expect("plans").len(), 1);
    // A session that started after the plan does not hold it back (that
    // backup saw the plan): the sweep deletes.
    let late = cairn::raw::gc::SessionGuard::start(&repo).expect("session");
    let r = repo.prune(prune_now()).expect("prune");
    assert!(r.packs_deleted > 0 && r.plans_waiting == 0, "{r:?}");
    drop(late);
    // A backup that started before a plan holds its sweep back.
    stream_backup(&repo, "y", noise(2 << 20, 2), 2);
    repo.forget(ForgetOptions::default().policy(RetentionPolicy {
        tags: vec![vec!["none".into()]],
        ..Default::default()
    }))
    .expect("forget all");
    let early = cairn::raw::gc::SessionGuard::start(&repo).expect("session");
    std::thread::sleep(std::time::Duration::from_millis(5));
    let r = repo.prune(prune_now()).expect("prune");
    assert!(
        r.packs_planned > 0 && r.packs_deleted == 0 && r.plans_waiting >= 1,
        "{r:?}"
    );
    drop(early);
    let r = repo.prune(prune_now()).expect("prune");
    assert!(r.packs_deleted > 0, "{r:?}");
    assert!(b.list(FileKind::Plan).expect("plans").is_empty());
}

#[test]
fn concurrent_backups_and_prunes_never_lose_a_blob() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (b, _repo) = local_repo(&tmp.path().join("repo"));
    let shared = noise(1 << 20, 99);
    for round in 0..6u64 {
        std::thread::scope(|s| {
            for w in 0..3u64 {
                let b = b.clone();
                let shared = shared.clone();
                s.spawn(move || {
                    let r = Repository::open(b, &secret()).expect("open");
                    for k in 0..3u64 {
                        // Shared content dedups against packs prune may be
                        // planning at the same moment.
                        let mut data = shared.clone();
                        data.extend_from_slice(&noise(300_000, round * 100 + w * 10 + k));
                        stream_backup(&r, "s", data, (round * 1000 + w * 10 + k) as i64);
                    }
                });
            }
            let b = b.clone();
            s.spawn(move || {
                let r = Repository::open(b, &secret()).expect("open");
                for _ in 0..4 {
                    r.forget(
                        ForgetOptions::default()
                            .policy(RetentionPolicy {
                                last: Some(4),
                                ..Default::default()
                            })
                            .group_by(GroupBy::parse("none").expect("none"))
                            .dry_run(false),
                    )
                    .expect("forget");
                    r.prune(prune_now()).expect("prune");
                }
            });
        });
    }
    let r = Repository::open(b.clone(), &secret()).expect("open");
    r.prune(prune_now()).expect("final prune");
    let check = r
        .check(cairn::CheckOptions::default().read_data(Some(Subset::All)))
        .expect("check");
    assert!(check.is_clean(), "{:?}", check.problems);
    for (id, _) in r.snapshots().expect("list") {
        let data = dump(&r, &id, "s");
        assert!(
            data.starts_with(&shared) && data.len() == (1 << 20) + 300_000,
            "snapshot {id} restores"
        );
    }
}

#[test]
fn check_reports_missing_pack_corrupt_blob_and_missing_index_entry() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("repo");
    let (b, repo) = local_repo(&dir);
    let src = tmp.path().join("src");
    std::fs::create_dir_all(&src).expect("mkdir");
    for i in 0..3 {
        std::fs::write(src.join(format!("f{i}")), noise(1 << 20, 40 + i)).expect("write");
    }
    let id = repo
        .backup(BackupOptions::default().paths(vec![src.clone()]))
        .expect("backup")
        .id;
    assert!(repo
        .check(cairn::CheckOptions::default().read_data(Some(Subset::All)))
        .expect("check")
        .is_clean());

    // Corrupt one byte inside the first data blob of f0.
    let node = repo
        .find_path(&id, &format!("{}/f0", src.display()))
        .expect("node");
    let first = repo
        .chunk_list(node.content().expect("content"))
        .expect("ids")[0];
    let loc = repo.blob_location(&first).expect("indexed");
    let pack_path = dir
        .join("data")
        .join(&loc.pack.to_hex()[..2])
        .join(loc.pack.to_hex());
    let mut bytes = std::fs::read(&pack_path).expect("read");
    bytes[loc.offset as usize + 40] ^= 0x10;
    std::fs::write(&pack_path, &bytes).expect("write");
    let r = Repository::open(b.clone(), &secret())
        .expect("open")
        .check(cairn::CheckOptions::default().read_data(Some(Subset::All)))
        .expect("check");
    assert!(
        r.problems
            .iter()
            .any(|p| p.kind == "corrupt-blob" && p.object.contains(&first.to_hex())),
        "{:?}",
        r.problems
    );
    assert!(
        r.affected
            .iter()
            .any(|a| a.path.ends_with("/f0") && a.snapshot == id.to_hex()),
        "{:?}",
        r.affected
    );
    assert!(
        !r.affected.iter().any(|a| a.path.ends_with("/f1")),
        "f1 is unaffected: {:?}",
        r.affected
    );
    // Structure-only check does not read data, so it misses the flip.
    assert!(Repository::open(b.clone(), &secret())
        .expect("open")
        .check(cairn::CheckOptions::default())
        .expect("check")
        .is_clean());
    bytes[loc.offset as usize + 40] ^= 0x10;
    std::fs::write(&pack_path, &bytes).expect("restore byte");

    // Delete the pack: missing pack, and the files in it are affected.
    let saved = std::fs::read(&pack_path).expect("read");
    std::fs::remove_file(&pack_path).expect("rm");
    let r = Repository::open(b.clone(), &secret())
        .expect("open")
        .check(cairn::CheckOptions::default())
        .expect("check");
    assert!(
        r.problems
            .iter()
            .any(|p| p.kind == "missing-pack" && p.object.contains(&loc.pack.to_hex())),
        "{:?}",
        r.problems
    );
    std::fs::write(&pack_path, saved).expect("put back");

    // Drop the index entry of f1's chunks: rewrite the index without it.
    let node = repo
        .find_path(&id, &format!("{}/f1", src.display()))
        .expect("node");
    let gone = repo
        .chunk_list(node.content().expect("content"))
        .expect("ids")[0];
    let names = b.list(FileKind::Index).expect("list");
    for (n, _) in &names {
        let mut f = repo
            .load_index_file(&cairn::IndexId::from_hex(n).expect("id"))
            .expect("load");
        for p in &mut f.packs {
            p.blobs.retain(|bl| bl.id != gone);
        }
        repo.save_index_file(&f).expect("save");
        b.delete(FileKind::Index, n).expect("delete");
    }
    let r = Repository::open(b.clone(), &secret())
        .expect("open")
        .check(cairn::CheckOptions::default())
        .expect("check");
    assert!(
        r.problems
            .iter()
            .any(|p| p.kind == "missing-blob" && p.object.contains(&gone.to_hex())),
        "{:?}",
        r.problems
    );
    assert!(
        r.affected.iter().any(|a| a.path.ends_with("/f1")),
        "{:?}",
        r.affected
    );
    // repair index rebuilds it from the pack headers.
    let fixed = Repository::open(b.clone(), &secret()).expect("open");
    let rep = fixed
        .repair_index(cairn::RepairOptions::default())
        .expect("repair");
    assert!(
        rep.packs_indexed >= 1 && rep.packs_unreadable.is_empty(),
        "{rep:?}"
    );
    let r = fixed
        .check(cairn::CheckOptions::default().read_data(Some(Subset::All)))
        .expect("check");
    assert!(r.is_clean(), "{:?}", r.problems);
    let target = tmp.path().join("out");
    fixed
        .restore(&id, RestoreOptions::default().target(target.clone()))
        .expect("restore");
    assert_same_tree(&src, &restored(&target, &src));
}

#[test]
fn check_subsets_split_the_packs() {
    let (_b, repo) = memory_repo();
    for i in 0..6 {
        stream_backup(&repo, "x", noise(1 << 20, i), i as i64);
    }
    let total = repo
        .check(cairn::CheckOptions::default().read_data(Some(Subset::All)))
        .expect("check")
        .packs_read;
    let parts: u64 = (1..=3)
        .map(|n| {
            repo.check(cairn::CheckOptions::default().read_data(Some(Subset::Part(n, 3))))
                .expect("check")
                .packs_read
        })
        .sum();
    assert_eq!(parts, total, "parts 1..=3 of 3 read every pack once");
    let some = repo
        .check(
            cairn::CheckOptions::default().read_data(Some(Subset::parse("50%").expect("subset"))),
        )
        .expect("check")
        .packs_read;
    assert!(some >= total / 2 && some < total, "{some} of {total}");
    assert!(Subset::parse("0/3").is_err() && Subset::parse("150%").is_err());
}

#[test]
fn copy_to_another_key_restores_identically_and_a_second_copy_transfers_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let src = tmp.path().join("src");
    make_tree(&src);
    let (_a, source) = memory_repo();
    source
        .backup(BackupOptions::default().paths(vec![src.clone()]))
        .expect("backup");
    let tb: Arc<dyn Backend> = Arc::new(ObjectBackend::memory().expect("memory"));
    let target = Repository::init(
        tb.clone(),
        &cairn::Secret::passphrase("dr site key"),
        fast_init(),
    )
    .expect("init");
    let r1 = source
        .copy(&target, cairn::CopyOptions::default())
        .expect("copy");
    assert_eq!(r1.snapshots_copied, 1);
    assert!(r1.blobs_stored > 0);
    let (tid, _) = target.snapshots().expect("list").pop().expect("copied");
    let out = tmp.path().join("out");
    target
        .restore(&tid, RestoreOptions::default().target(out.clone()))
        .expect("restore");
    assert_same_tree(&src, &restored(&out, &src));
    let before = pack_bytes(tb.as_ref());
    let r2 = source
        .copy(&target, cairn::CopyOptions::default())
        .expect("copy again");
    assert_eq!(
        (
            r2.snapshots_copied,
            r2.snapshots_skipped,
            r2.chunks_read,
            r2.blobs_stored
        ),
        (0, 1, 0, 0),
        "{r2:?}"
    );
    assert_eq!(pack_bytes(tb.as_ref()), before);
}

#[test]
fn shared_chunker_params_carry_dedup_across_copies() {
    let (_a, source) = memory_repo();
    let data = noise(4 << 20, 5);
    stream_backup(&source, "x", data.clone(), 1);
    let tb: Arc<dyn Backend> = Arc::new(ObjectBackend::memory().expect("memory"));
    let init = fast_init().chunking_secret(Some(source.config().chunking_secret));
    let target =
        Repository::init(tb.clone(), &cairn::Secret::passphrase("other"), init).expect("init");
    // The DR site already has the data from its own backup of the same stream.
    stream_backup(&target, "x", data.clone(), 5);
    let r = source
        .copy(&target, cairn::CopyOptions::default())
        .expect("copy");
    assert_eq!(r.chunks_read, 0, "same ids: nothing to transfer: {r:?}");
    assert_eq!(r.snapshots_copied, 1);
    assert_eq!(target.snapshots().expect("list").len(), 2);
}

#[test]
fn append_only_refuses_deletion_but_allows_backups() {
    let b: Arc<dyn Backend> = Arc::new(ObjectBackend::memory().expect("memory"));
    let init = fast_init().append_only(true);
    let repo = Repository::init(b.clone(), &secret(), init).expect("init");
    stream_backup(&repo, "x", noise(1000, 1), 1);
    let policy = RetentionPolicy {
        last: Some(1),
        ..Default::default()
    };
    let err = repo
        .forget(ForgetOptions::default().policy(policy.clone()))
        .expect_err("refused");
    assert!(matches!(err, Error::AppendOnly(_)), "{err}");
    assert!(matches!(repo.prune(prune_now()), Err(Error::AppendOnly(_))));
    assert!(
        repo.forget(ForgetOptions::default().policy(policy).dry_run(true))
            .is_ok(),
        "dry runs are fine"
    );
    // An append-only key slot on a normal repository.
    let (b2, normal) = memory_repo();
    let k = cairn::Secret::passphrase("backup client");
    normal
        .add_key(
            &k,
            cairn::KeyOptions::default()
                .argon2(cairn::Argon2Params::insecure_for_tests())
                .label("client".into())
                .append_only(true),
        )
        .expect("add");
    let client = Repository::open(b2, &k).expect("open");
    assert!(client.append_only());
    stream_backup(&client, "x", noise(1000, 2), 1);
    assert!(matches!(
        client.prune(prune_now()),
        Err(Error::AppendOnly(_))
    ));
    assert!(matches!(
        client.remove_key(&normal.key_id()),
        Err(Error::AppendOnly(_))
    ));
    assert!(client
        .add_key(
            &cairn::Secret::passphrase("x"),
            cairn::KeyOptions::default()
                .argon2(cairn::Argon2Params::insecure_for_tests())
                .label("".into())
        )
        .is_err());
}
