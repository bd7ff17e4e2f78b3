//! Attacks that tried to turn cairn's own maintenance against the data
//! (docs/reliability.md, "Attacks on maintenance"). Each test reproduces
//! one and requires that nothing referenced is lost.

mod common;
use bytes::Bytes;
use cairn::{
    raw::{
        blob::BlobKind,
        index::{IndexFile, IndexPack},
        pack::PackWriter,
    },
    Argon2Params, Backend, BackupOptions, Error, FileKind, IndexId, ObjectInfo, PruneOptions,
    Repository, Secret, SessionOptions, SnapshotId, StreamSource, Subset,
};
use common::*;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn prune_now() -> PruneOptions {
    PruneOptions::default().grace_secs(0)
}

fn backup_tree(repo: &Repository, src: &std::path::Path) -> SnapshotId {
    repo.backup(BackupOptions::default().paths(vec![src.to_path_buf()]))
        .expect("backup")
        .id
}

fn restore_and_compare(repo: &Repository, id: &SnapshotId, src: &std::path::Path) {
    let out = tempfile::tempdir().expect("tmp");
    let summary = repo
        .restore(
            id,
            cairn::RestoreOptions::default().target(out.path().to_path_buf()),
        )
        .expect("restore");
    assert!(summary.problems.is_empty(), "{:?}", summary.problems);
    assert_same_tree(src, &restored(out.path(), src));
}

/// Every (pack, blob) the index files list.
fn indexed(repo: &Repository) -> Vec<IndexPack> {
    let mut out = Vec::new();
    for (name, _) in repo.backend().list(FileKind::Index).expect("list") {
        let f = repo
            .load_index_file(&IndexId::from_hex(&name).expect("id"))
            .expect("index file");
        out.extend(f.packs);
    }
    out
}

/// What a client with only an append-only key can do: store one pack with
/// a copy of every blob that authenticates under the blob's id but holds
/// other bytes, and an index file for it.
fn write_garbage_copies(attacker: &Repository) -> cairn::PackId {
    let mut packs: Vec<(BlobKind, PackWriter)> = vec![
        (BlobKind::Data, PackWriter::new(BlobKind::Data)),
        (BlobKind::Tree, PackWriter::new(BlobKind::Tree)),
    ];
    for p in indexed(attacker) {
        for b in &p.blobs {
            let garbage = noise(b.raw_len as usize, 77);
            let sealed = cairn::raw::blob::encode(attacker.keys(), p.kind, &b.id, &garbage, 0);
            let w = &mut packs
                .iter_mut()
                .find(|(k, _)| *k == p.kind)
                .expect("kind")
                .1;
            w.add(b.id, b.raw_len, sealed);
        }
    }
    let mut file = IndexFile::default();
    let mut data_pack = None;
    for (kind, w) in packs {
        if w.is_empty() {
            continue;
        }
        let pack = w.finish(attacker.keys().meta_key());
        let id = pack.id();
        let size = pack.len() as u64;
        attacker
            .backend()
            .create_parts(FileKind::Pack, &id.to_hex(), pack.parts)
            .expect("store pack");
        file.packs.push(IndexPack {
            id,
            kind,
            size,
            blobs: pack.blobs,
        });
        if kind == BlobKind::Data {
            data_pack = Some(id);
        }
    }
    attacker.save_index_file(&file).expect("index file");
    data_pack.expect("a data pack")
}

fn pack_names(b: &dyn Backend) -> Vec<String> {
    let mut v: Vec<String> = b
        .list(FileKind::Pack)
        .expect("list")
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    v.sort();
    v
}

/// Attack 1: garbage copies of every blob by an append-only client. Prune
/// keeps every real pack (it verifies the copy it keeps), deletes the
/// garbage, and restore still works (reads fall back to the good copy).
#[test]
fn garbage_copies_from_an_append_only_client_never_make_prune_delete_data() {
    let tmp = tempfile::tempdir().expect("tmp");
    let src = tmp.path().join("src");
    make_tree(&src);
    let (b, repo) = local_repo(&tmp.path().join("repo"));
    let id = backup_tree(&repo, &src);
    let real = pack_names(b.as_ref());
    let ao = Secret::passphrase("append only");
    add_append_only_slot(&repo, &ao);
    let attacker = Repository::open(b.clone(), &ao).expect("open append-only");
    assert!(attacker.append_only());
    let garbage = write_garbage_copies(&attacker);

    let owner = Repository::open(b.clone(), &secret()).expect("open");
    // Reads prefer no copy blindly: restore falls back to the good one.
    restore_and_compare(&owner, &id, &src);
    let report = owner
        .check(cairn::CheckOptions::default().read_data(Some(Subset::All)))
        .expect("check");
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.kind == "corrupt-blob" && p.detail.contains(&garbage.to_hex())),
        "check --read-data names the garbage copies: {:?}",
        report.problems
    );
    let r = owner.prune(prune_now()).expect("prune");
    assert!(r.duplicate_blobs > 0, "{r:?}");
    let after = pack_names(b.as_ref());
    for p in &real {
        assert!(after.contains(p), "real pack {p} survived prune");
    }
    assert!(!after.contains(&garbage.to_hex()), "the garbage pack went");
    let owner = Repository::open(b, &secret()).expect("reopen");
    restore_and_compare(&owner, &id, &src);
    assert!(owner
        .check(cairn::CheckOptions::default().read_data(Some(Subset::All)))
        .expect("check")
        .is_clean());
}

/// Attack 2: a pack goes missing while its blobs also exist elsewhere.
/// Prune refuses to delete anything until the index is repaired, and after
/// `repair index` the surviving copies are still there.
#[test]
fn prune_deletes_nothing_while_an_indexed_pack_is_missing() {
    let (b, repo) = memory_repo();
    let data = noise(3 << 20, 5);
    let first = stream(&repo, "a", data.clone());
    // A second, honest copy of the same blobs in other packs (what two
    // concurrent backups leave).
    let copies = indexed(&repo);
    let mut w = PackWriter::new(BlobKind::Data);
    for p in copies.iter().filter(|p| p.kind == BlobKind::Data) {
        for blob in &p.blobs {
            let plain = repo.read_blob(&blob.id).expect("read");
            w.add(
                blob.id,
                blob.raw_len,
                cairn::raw::blob::encode(repo.keys(), BlobKind::Data, &blob.id, &plain, 3),
            );
        }
    }
    let pack = w.finish(repo.keys().meta_key());
    let dup = pack.id();
    b.create_parts(FileKind::Pack, &dup.to_hex(), pack.parts.clone())
        .expect("store");
    repo.save_index_file(&IndexFile {
        supersedes: vec![],
        packs: vec![IndexPack {
            id: dup,
            kind: BlobKind::Data,
            size: pack.len() as u64,
            blobs: pack.blobs.clone(),
        }],
    })
    .expect("index");
    // The original data packs are lost.
    for p in copies.iter().filter(|p| p.kind == BlobKind::Data) {
        b.delete(FileKind::Pack, &p.id.to_hex()).expect("delete");
    }
    let repo = Repository::open(b.clone(), &secret()).expect("open");
    let before = pack_names(b.as_ref());
    let err = repo.prune(prune_now()).expect_err("prune refuses");
    assert!(
        matches!(&err, Error::Corrupt { detail, .. } if detail.contains("repair index")),
        "{err}"
    );
    assert_eq!(pack_names(b.as_ref()), before, "nothing deleted");
    repo.repair_index(cairn::RepairOptions::default())
        .expect("repair");
    let r = repo.prune(prune_now()).expect("prune after repair");
    assert_eq!(r.packs_deleted, 0, "{r:?}");
    assert!(pack_names(b.as_ref()).contains(&dup.to_hex()));
    let mut out = Vec::new();
    repo.dump(&first, "a", &mut out).expect("dump");
    assert!(out == data, "the surviving copy restores");
}

/// Attack 2b: an old, authentic index file copied back into `index/` (a
/// replay) lists packs that prune deleted. Prune refuses until repaired.
#[test]
fn a_replayed_index_file_stops_prune_instead_of_misleading_it() {
    let (b, repo) = memory_repo();
    let old = stream(&repo, "a", noise(2 << 20, 1));
    let keep = stream(&repo, "b", noise(2 << 20, 2));
    let saved: Vec<(String, Bytes)> = b
        .list(FileKind::Index)
        .expect("list")
        .into_iter()
        .map(|(n, _)| {
            let bytes = b.read(FileKind::Index, &n).expect("read");
            (n, bytes)
        })
        .collect();
    b.delete(FileKind::Snapshot, &old.to_hex()).expect("forget");
    repo.prune(prune_now()).expect("prune");
    // The attacker puts the old index files back.
    for (n, bytes) in saved {
        let _ = b.create(FileKind::Index, &n, bytes);
    }
    let repo = Repository::open(b.clone(), &secret()).expect("open");
    let before = pack_names(b.as_ref());
    let err = repo.prune(prune_now()).expect_err("refuses");
    assert!(matches!(err, Error::Corrupt { .. }), "{err}");
    assert_eq!(pack_names(b.as_ref()), before);
    repo.repair_index(cairn::RepairOptions::default())
        .expect("repair");
    repo.prune(prune_now()).expect("prune");
    let mut out = Vec::new();
    repo.dump(&keep, "b", &mut out).expect("dump");
    assert!(out == noise(2 << 20, 2));
    assert!(repo
        .check(cairn::CheckOptions::default().read_data(Some(Subset::All)))
        .expect("check")
        .is_clean());
}

fn stream(repo: &Repository, name: &str, data: Vec<u8>) -> SnapshotId {
    repo.backup(
        BackupOptions::default().streams(vec![StreamSource::from_reader(
            name,
            std::io::Cursor::new(data),
        )]),
    )
    .expect("backup")
    .id
}

/// Reads a buffer slowly, so a backup lasts several heartbeats.
struct Slow {
    data: std::io::Cursor<Vec<u8>>,
    pause: Duration,
}

impl std::io::Read for Slow {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        std::thread::sleep(self.pause);
        let n = buf.len().min(128 << 10);
        self.data.read(&mut buf[..n])
    }
}

/// Once armed, lets one more session marker through (a backup's first)
/// and refuses every later one: a backup whose heartbeats stop reaching
/// the storage.
#[derive(Debug)]
struct NoHeartbeats {
    inner: Arc<dyn Backend>,
    /// Session markers still allowed; negative: no limit.
    allowed: std::sync::atomic::AtomicI64,
}

impl Backend for NoHeartbeats {
    fn location(&self) -> String {
        self.inner.location()
    }
    fn create(&self, kind: FileKind, name: &str, data: Bytes) -> cairn::Result<()> {
        let blocked = kind == FileKind::Session
            && self
                .allowed
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| match n {
                    n if n < 0 => Some(n),
                    0 => None,
                    n => Some(n - 1),
                })
                .is_err();
        if blocked {
            return Err(Error::Unavailable {
                op: "write session".into(),
                detail: "blocked by the test".into(),
                source: None,
            });
        }
        self.inner.create(kind, name, data)
    }
    fn create_parts(&self, kind: FileKind, name: &str, parts: Vec<Bytes>) -> cairn::Result<()> {
        self.create(kind, name, Bytes::from(parts.concat()))
    }
    fn read(&self, kind: FileKind, name: &str) -> cairn::Result<Bytes> {
        self.inner.read(kind, name)
    }
    fn read_range(&self, kind: FileKind, name: &str, r: Range<u64>) -> cairn::Result<Bytes> {
        self.inner.read_range(kind, name, r)
    }
    fn list_info(&self, kind: FileKind) -> cairn::Result<Vec<ObjectInfo>> {
        self.inner.list_info(kind)
    }
    fn delete(&self, kind: FileKind, name: &str) -> cairn::Result<()> {
        self.inner.delete(kind, name)
    }
}

/// Sets up a forgotten snapshot whose packs a new backup will deduplicate
/// against, and runs that backup slowly while prune runs with no grace in
/// a loop. Returns the backup's result.
fn long_backup_under_prune(
    b: Arc<dyn Backend>,
    session: SessionOptions,
    before_backup: impl FnOnce(),
) -> (cairn::Result<cairn::BackupReport>, Vec<u8>) {
    let repo = Repository::open(b.clone(), &secret()).expect("open");
    let data = noise(4 << 20, 11);
    let old = stream(&repo, "db", data.clone());
    b.delete(FileKind::Snapshot, &old.to_hex()).expect("forget");
    before_backup();
    let done = AtomicBool::new(false);
    let result = std::thread::scope(|s| {
        let pruner = s.spawn(|| {
            let p = Repository::open(b.clone(), &secret()).expect("open");
            let t0 = std::time::Instant::now();
            while !done.load(Ordering::SeqCst) {
                let r = p.prune(PruneOptions::default().grace_secs(0).stale_session_secs(1));
                if std::env::var_os("DEBUG_ATTACK").is_some() {
                    let sess = cairn::raw::gc::sessions(&p).map(|v| v.len());
                    eprintln!(
                        "{:?} sessions {:?} {:?}",
                        t0.elapsed(),
                        sess,
                        r.map(|r| (
                            r.packs_planned,
                            r.packs_deleted,
                            r.packs_resurrected,
                            r.plans_waiting
                        ))
                    );
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let reader = Slow {
            data: std::io::Cursor::new(data.clone()),
            pause: Duration::from_millis(100),
        };
        let r = repo.backup(
            BackupOptions::default()
                .streams(vec![StreamSource::from_reader("db", reader)])
                .session(session),
        );
        done.store(true, Ordering::SeqCst);
        pruner.join().expect("pruner");
        r
    });
    (result, data)
}

/// Attack 3: a backup that runs longer than the sessions' stale limit.
/// Its heartbeats keep prune from deleting what it deduplicated against.
#[test]
fn a_backup_longer_than_the_stale_limit_stays_protected_by_heartbeats() {
    let (b, _repo) = memory_repo();
    let session = SessionOptions::new(Duration::from_millis(200), Duration::from_secs(1))
        .expect("session options");
    let (result, data) = long_backup_under_prune(b.clone(), session, || {});
    let res = result.expect("backup");
    assert!(
        res.snapshot.summary.duration_ms > 2_500,
        "the backup lasted well past its 1 s stale limit: {} ms",
        res.snapshot.summary.duration_ms
    );
    let repo = Repository::open(b, &secret()).expect("open");
    repo.prune(prune_now()).expect("prune after");
    let mut out = Vec::new();
    if let Err(e) = repo.dump(&res.id, "db", &mut out) {
        let c = repo
            .check(cairn::CheckOptions::default().read_data(Some(Subset::All)))
            .expect("check");
        panic!(
            "dump: {e}\nwarnings {:?}\nproblems {:?}\nsummary {:?}",
            c.warnings, c.problems, res.snapshot.summary
        );
    }
    assert!(out == data, "the long backup restores");
    assert!(repo
        .check(cairn::CheckOptions::default().read_data(Some(Subset::All)))
        .expect("check")
        .is_clean());
}

/// Attack 3, the other side: when the heartbeats cannot be stored, prune
/// takes the backup for dead and may delete what it relies on; the backup
/// must then refuse to store its snapshot instead of saving a broken one.
#[test]
fn a_backup_whose_heartbeats_failed_refuses_to_store_its_snapshot() {
    let (inner, _repo) = memory_repo();
    let gate = Arc::new(NoHeartbeats {
        inner,
        allowed: std::sync::atomic::AtomicI64::new(-1),
    });
    let session = SessionOptions::new(Duration::from_millis(200), Duration::from_secs(1))
        .expect("session options");
    let b: Arc<dyn Backend> = gate.clone();
    let (result, _) = long_backup_under_prune(b.clone(), session, || {});
    assert!(result.is_ok(), "heartbeats working: {:?}", result.err());
    let snaps_before = b.list(FileKind::Snapshot).expect("list").len();
    // The long backup's first marker goes through, its heartbeats not.
    let (result, _) = long_backup_under_prune(b.clone(), session, || {
        gate.allowed.store(1, Ordering::SeqCst)
    });
    let err = result.expect_err("the backup must not store a snapshot");
    assert!(
        matches!(err, Error::SessionLost(_) | Error::Unavailable { .. }),
        "{err}"
    );
    assert_eq!(
        b.list(FileKind::Snapshot).expect("list").len(),
        snaps_before,
        "no snapshot stored"
    );
}

/// Attack 4: a storage writer flips the append-only flag of a slot.
#[test]
fn a_flipped_append_only_flag_makes_the_slot_fail_instead_of_granting_deletes() {
    let (b, repo) = memory_repo();
    let ao = Secret::passphrase("ci");
    let slot_id = add_append_only_slot(&repo, &ao);
    let name = slot_id.to_hex();
    let bytes = b.read(FileKind::Key, &name).expect("read");
    let mut slot = cairn::KeySlot::from_bytes(&bytes, "k").expect("parse");
    slot.append_only = false;
    b.delete(FileKind::Key, &name).expect("delete");
    b.create(FileKind::Key, &name, Bytes::from(slot.to_bytes()))
        .expect("write flipped slot");
    let err = Repository::open(b.clone(), &ao).expect_err("flipped slot must not open");
    assert!(matches!(err, Error::WrongKey), "{err}");
    // The owner's slot is unaffected.
    Repository::open(b, &secret()).expect("owner still opens");
}

/// Point 6: hostile slots with maximal Argon2 cost do not slow down the
/// owner's open, and a wrong secret is refused without running them.
#[test]
fn hostile_key_slots_cannot_make_opening_slow() {
    let (b, _repo) = memory_repo();
    for i in 0..3u8 {
        let slot = cairn::KeySlot {
            kind: cairn::SlotKind::Passphrase,
            kdf: cairn::raw::crypto::Kdf::Argon2id {
                params: Argon2Params {
                    m_cost_kib: 1024 * 1024,
                    t_cost: 16,
                    p_cost: 1,
                },
                salt: [i; 16],
            },
            wrapped: vec![i; 72],
            created_ns: 0,
            host: "attacker".into(),
            label: String::new(),
            append_only: false,
            version: 3,
        };
        b.create(
            FileKind::Key,
            &format!("{:064x}", u64::from(i) + 1),
            Bytes::from(slot.to_bytes()),
        )
        .expect("hostile slot");
    }
    let started = std::time::Instant::now();
    Repository::open(b.clone(), &secret()).expect("owner opens");
    let err = Repository::open(b, &Secret::passphrase("nope")).expect_err("wrong");
    assert!(
        matches!(err, Error::KeySlotsSkipped { skipped: 3, .. }),
        "{err}"
    );
    // Each hostile slot alone costs about 25 s here; both opens together
    // ran none of them.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

/// Point 6: damaged session markers and deletion plans are reported by
/// `check`; a damaged plan stops prune (with the way out) but not backups,
/// and `repair index` indexes its packs again and removes it.
#[test]
fn damaged_markers_and_plans_are_reported_and_repairable() {
    let (b, repo) = memory_repo();
    let keep = stream(&repo, "keep", noise(1 << 20, 3));
    let gone = stream(&repo, "gone", noise(2 << 20, 4));
    b.delete(FileKind::Snapshot, &gone.to_hex())
        .expect("forget");
    // A prune with the default grace period only plans.
    let r = repo.prune(PruneOptions::default()).expect("prune");
    assert!(r.packs_planned > 0, "{r:?}");
    let (plan, _) = b.list(FileKind::Plan).expect("list").remove(0);
    let mut bytes = b.read(FileKind::Plan, &plan).expect("read").to_vec();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    b.delete(FileKind::Plan, &plan).expect("delete");
    b.create(FileKind::Plan, &plan, Bytes::from(bytes))
        .expect("damaged plan");
    b.create(
        FileKind::Session,
        &"5e".repeat(32),
        Bytes::from_static(b"CRNL\x03\x00\x00\x00not a sealed marker at all........"),
    )
    .expect("damaged marker");

    let repo = Repository::open(b.clone(), &secret()).expect("a damaged plan does not block open");
    let report = repo.check(cairn::CheckOptions::default()).expect("check");
    let kinds: Vec<&str> = report.problems.iter().map(|p| p.kind.as_str()).collect();
    assert!(
        kinds.contains(&"plan") && kinds.contains(&"session"),
        "{kinds:?}"
    );
    let err = repo.prune(prune_now()).expect_err("prune refuses");
    assert!(
        matches!(&err, Error::Corrupt { detail, .. } if detail.contains("repair index")),
        "{err}"
    );
    // Backups go on.
    stream(&repo, "new", noise(1 << 20, 5));
    let fixed = repo
        .repair_index(cairn::RepairOptions::default())
        .expect("repair");
    assert_eq!(fixed.damaged_plans_removed, 1, "{fixed:?}");
    assert!(b.list(FileKind::Plan).expect("list").is_empty());
    let mut out = Vec::new();
    repo.dump(&keep, "keep", &mut out).expect("dump");
    assert!(out == noise(1 << 20, 3));
    // The damaged marker still counts as a running backup, so this prune
    // plans but cannot sweep; with a short stale limit it is removed.
    let r = repo
        .prune(PruneOptions::default().grace_secs(0).stale_session_secs(0))
        .expect("prune");
    assert!(r.packs_deleted > 0, "{r:?}");
    assert!(b.list(FileKind::Session).expect("list").is_empty());
    assert!(repo
        .check(cairn::CheckOptions::default().read_data(Some(Subset::All)))
        .expect("check")
        .is_clean());
}

/// Adds an append-only key slot (cheap Argon2) opened by `secret`.
fn add_append_only_slot(repo: &Repository, secret: &Secret) -> cairn::KeyId {
    let opts = cairn::KeyOptions::default()
        .argon2(Argon2Params::insecure_for_tests())
        .label("ci".into())
        .append_only(true);
    repo.add_key(secret, opts).expect("append-only slot")
}
