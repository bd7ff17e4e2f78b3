//! The MongoDB component through the real driver against the fake server
//! (`cairn_testkit::Mongod`, on MongoDB's own mockupdb: no mongod can be
//! installed here), and its archives against the independent Python
//! reader and writer (`mongo_archive.py`, pymongo's `bson`).

use cairn::{Argon2Params, InitOptions, ObjectBackend, Repository, Secret, Snapshot, SnapshotId};
use cairn_mongodb::{
    BackupOptions, Index, MongoComponent, Rename, RestoreMode, RestoreOptions, Selection, Source,
    INDEX_STREAM,
};
use cairn_plan::{backup_component, Component, ComponentRun, RestoreCx};
use cairn_testkit::{mongo_archive, Mongod};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/platform.json")
}

fn server(extra: &[&str]) -> Mongod {
    let d = data();
    let mut args = vec!["--data", d.to_str().expect("utf-8"), "--batch", "3"];
    args.extend_from_slice(extra);
    Mongod::start(&args)
}

fn repo() -> Repository {
    let opts = InitOptions::default().argon2(Argon2Params::insecure_for_tests());
    Repository::init(
        Arc::new(ObjectBackend::memory().expect("memory backend")),
        &Secret::passphrase("t"),
        opts,
    )
    .expect("init")
}

fn reading(m: &Mongod) -> BackupOptions {
    BackupOptions {
        uri: m.uri.clone(),
        ..Default::default()
    }
}

fn component(source: Source, restore: RestoreOptions, mode: RestoreMode) -> MongoComponent {
    MongoComponent::new(source, restore, mode)
}

fn reader(b: BackupOptions) -> MongoComponent {
    component(
        Source::Server(b),
        RestoreOptions::default(),
        RestoreMode::Server,
    )
}

fn backup(repo: &Repository, c: &dyn Component) -> cairn::Result<(SnapshotId, Snapshot)> {
    let snaps = repo.snapshots()?;
    let rep = backup_component(repo, c, &ComponentRun::default(), &snaps)?;
    Ok((rep.id, rep.snapshot))
}

fn index(repo: &Repository, id: &SnapshotId) -> Index {
    let mut b = Vec::new();
    repo.dump(id, INDEX_STREAM, &mut b).expect("index");
    Index::parse(&b).expect("parse index")
}

fn cx<'a>(repo: &'a Repository, id: &SnapshotId, s: &'a Snapshot) -> RestoreCx<'a> {
    RestoreCx {
        repo,
        id: *id,
        snapshot: s,
        log: None,
    }
}

fn finds(m: &Mongod) -> Vec<Value> {
    m.requests()
        .into_iter()
        .filter(|r| r["cmd"] == "find")
        .collect()
}

/// A collection of the server's state without its UUID (a restore makes
/// a new one), its documents sorted unless it is capped (whose order is
/// its insertion order, which a restore keeps).
fn state_of(m: &Mongod, db: &str, coll: &str) -> Value {
    let mut v = m.state()[db][coll].clone();
    let capped = v["options"]["capped"] == true;
    if let Some(o) = v.as_object_mut() {
        o.remove("uuid");
        if let Some(Value::Array(docs)) = o.get_mut("documents") {
            if !capped {
                docs.sort_by_key(|d| d.to_string());
            }
        }
    }
    v
}

#[test]
fn a_backup_reads_every_collection_at_one_cluster_time_in_id_order() {
    let m = server(&["--replica-set", "rs0", "--all-types", "app.all"]);
    let repo = repo();
    let (id, snap) = backup(&repo, &reader(reading(&m))).expect("backup");
    let ix = index(&repo, &id);
    assert_eq!(ix.source, "server");
    assert_eq!(ix.consistency, "snapshot");
    assert_eq!(ix.server_version, "7.0.14");
    assert_eq!(ix.replica_set.as_deref(), Some("rs0"));
    let names: Vec<String> = ix.collections.iter().map(|c| c.ns()).collect();
    assert_eq!(
        names,
        [
            "app.active_users",
            "app.all",
            "app.empty",
            "app.orders",
            "app.users",
            "crm.leads"
        ]
    );
    let by = |ns: &str| ix.collections.iter().find(|c| c.ns() == ns).expect(ns);
    assert_eq!(by("app.users").docs, 11);
    assert_eq!(by("app.orders").docs, 10);
    assert_eq!(by("app.empty").docs, 0);
    assert_eq!(by("app.active_users").kind, "view");
    assert!(by("app.all").docs > 0);
    // The marker is the cluster time every find read at.
    let at = ix.at_cluster_time.clone().expect("cluster time");
    assert_eq!(snap.info.get("marker.mongodb.at_cluster_time"), Some(&at));
    let f = finds(&m);
    assert_eq!(f.len(), 5, "one find per collection: {f:?}");
    for r in &f {
        let rc = &r["doc"]["readConcern"];
        assert_eq!(rc["level"], "snapshot", "{r}");
        let ts = &rc["atClusterTime"]["$timestamp"];
        assert_eq!(format!("{}.{}", ts["t"], ts["i"]), at, "{r}");
        match r["doc"]["find"].as_str() {
            Some("orders") => assert_eq!(r["doc"]["hint"], serde_json::json!({"$natural": 1})),
            _ => assert_eq!(r["doc"]["sort"], serde_json::json!({"_id": 1}), "{r}"),
        }
    }
    assert!(
        m.requests().iter().any(|r| r["cmd"] == "getMore"),
        "batches of 3 need getMore"
    );
    // The stored documents are the server's, in _id order, byte for byte.
    let mut stored = Vec::new();
    repo.dump(&id, "mongodb/app/orders.bson", &mut stored)
        .expect("orders");
    let ids = |b: &[u8], field: &str| -> Vec<String> {
        split(b)
            .iter()
            .map(|d| {
                let d = bson::RawDocument::from_bytes(d).expect("doc");
                format!("{:?}", d.get(field).expect("field").expect("present"))
            })
            .collect()
    };
    // orders is capped: stored in its natural (insertion) order, 10 to 1.
    let got = ids(&stored, "_id");
    assert_eq!(got.len(), 10);
    assert!(
        got[0].contains("10") && got[9].contains("Int32(1)"),
        "{got:?}"
    );
    let mut leads = Vec::new();
    repo.dump(&id, "mongodb/crm/leads.bson", &mut leads)
        .expect("leads");
    let l = ids(&leads, "_id");
    let mut sorted = l.clone();
    sorted.sort();
    assert_eq!(l, sorted, "leads in _id order");
    let mut meta = Vec::new();
    repo.dump(&id, "mongodb/app/users.metadata.json", &mut meta)
        .expect("meta");
    let meta: Value = serde_json::from_slice(&meta).expect("json");
    let want = m.state()["app"]["users"].clone();
    assert_eq!(meta["indexes"], want["indexes"]);
    assert_eq!(meta["options"], want["options"]);
    assert_eq!(meta["uuid"], want["uuid"]);
    // verify reads everything back.
    let c = reader(reading(&m));
    let v = c.verify(&cx(&repo, &id, &snap)).expect("verify");
    assert_eq!(v.items, 6);
    assert!(
        v.summary.contains("counts and hashes match"),
        "{}",
        v.summary
    );
}

fn split(mut b: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let n = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
        out.push(b[..n].to_vec());
        b = &b[n..];
    }
    out
}

#[test]
fn a_standalone_is_refused_a_snapshot_and_read_without_one_when_asked() {
    let m = server(&[]);
    let repo = repo();
    let e = backup(&repo, &reader(reading(&m))).expect_err("standalone");
    assert!(e.to_string().contains("snapshot = false"), "{e}");
    assert!(repo.snapshots().expect("list").is_empty());
    let b = BackupOptions {
        snapshot: false,
        ..reading(&m)
    };
    let (id, _) = backup(&repo, &reader(b)).expect("backup without snapshot");
    let ix = index(&repo, &id);
    assert_eq!(ix.consistency, "none");
    assert_eq!(ix.at_cluster_time, None);
    let f = finds(&m);
    assert_eq!(f.len(), 4, "{f:?}");
    assert!(f
        .iter()
        .all(|r| r["doc"]["readConcern"]["level"] != "snapshot"));
}

#[test]
fn selections_narrow_a_backup_like_mongodump() {
    let m = server(&["--replica-set", "rs0", "--system-dbs"]);
    let repo = repo();
    let b = BackupOptions {
        selection: Selection {
            databases: vec!["app".into()],
            exclude_collections: vec!["orders".into()],
            exclude_prefixes: vec!["emp".into()],
            ..Default::default()
        },
        ..reading(&m)
    };
    let (id, _) = backup(&repo, &reader(b)).expect("backup");
    let names: Vec<String> = index(&repo, &id)
        .collections
        .iter()
        .map(|c| c.ns())
        .collect();
    assert_eq!(names, ["app.active_users", "app.users"]);
    let (id, _) = backup(&repo, &reader(reading(&m))).expect("full backup");
    let names: Vec<String> = index(&repo, &id)
        .collections
        .iter()
        .map(|c| c.ns())
        .collect();
    assert!(names
        .iter()
        .all(|n| !n.starts_with("admin.") && !n.starts_with("local.")));
    assert!(names.contains(&"crm.leads".to_string()), "{names:?}");
}

#[test]
fn a_restore_into_a_renamed_database_brings_back_options_indexes_and_documents() {
    let m = server(&["--replica-set", "rs0", "--all-types", "app.all"]);
    let repo = repo();
    let (id, snap) = backup(&repo, &reader(reading(&m))).expect("backup");
    let r = RestoreOptions {
        uri: m.uri.clone(),
        rename: vec![Rename::new("app.*", "scratch.*").expect("rule")],
        selection: Selection {
            databases: vec!["app".into()],
            ..Default::default()
        },
        ..Default::default()
    };
    let c = component(Source::Server(reading(&m)), r.clone(), RestoreMode::Server);
    let o = c.restore(&cx(&repo, &id, &snap)).expect("restore");
    assert!(
        o.summary.contains("restored 5 collections"),
        "{}",
        o.summary
    );
    for coll in ["users", "orders", "all", "empty", "active_users"] {
        assert_eq!(
            state_of(&m, "scratch", coll),
            state_of(&m, "app", coll),
            "scratch.{coll}"
        );
    }
    assert!(m.state().get("crm").is_some());
    // Again without --drop: the unique _id refuses the duplicates, named.
    let e = c.restore(&cx(&repo, &id, &snap)).expect_err("duplicates");
    assert!(e.to_string().contains("scratch."), "{e}");
    // With --drop the collections are replaced, not doubled.
    let dropping = RestoreOptions { drop: true, ..r };
    let c = component(Source::Server(reading(&m)), dropping, RestoreMode::Server);
    c.restore(&cx(&repo, &id, &snap)).expect("restore --drop");
    assert_eq!(
        state_of(&m, "scratch", "users"),
        state_of(&m, "app", "users")
    );
}

#[test]
fn a_dump_is_an_archive_the_independent_reader_accepts() {
    let m = server(&["--replica-set", "rs0", "--all-types", "app.all"]);
    let repo = repo();
    let (id, snap) = backup(&repo, &reader(reading(&m))).expect("backup");
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("dump.archive");
    let c = component(
        Source::Server(reading(&m)),
        RestoreOptions::default(),
        RestoreMode::Archive(out.clone()),
    );
    c.restore(&cx(&repo, &id, &snap)).expect("dump");
    let partial = dir.path().join("dump.archive.partial");
    assert!(!partial.exists(), "the partial file was renamed into place");
    let read: Value = serde_json::from_str(&mongo_archive(&["read", out.to_str().expect("utf-8")]))
        .expect("reader JSON");
    let ix = index(&repo, &id);
    let colls = read["collections"].as_array().expect("collections");
    assert_eq!(colls.len(), ix.collections.len());
    for (got, want) in colls.iter().zip(&ix.collections) {
        assert_eq!(got["db"], want.db.as_str());
        assert_eq!(got["collection"], want.collection.as_str());
        assert_eq!(got["documents"], want.docs, "{}", want.ns());
        if want.kind != "view" {
            assert_eq!(
                got["crc64"],
                format!("{:016x}", want.crc64),
                "{}",
                want.ns()
            );
        }
    }
}

/// Spool files in `dir`.
fn spooled(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .expect("dir")
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("cairn-mongo-spool")
        })
        .map(|e| e.path())
        .collect()
}

#[test]
fn an_interleaved_mongodump_archive_is_stored_per_collection_and_dumped_again() {
    let dir = tempfile::tempdir().expect("tmp");
    let archive = dir.path().join("in.archive");
    let d = data();
    mongo_archive(&[
        "write",
        "--data",
        d.to_str().expect("utf-8"),
        "--out",
        archive.to_str().expect("utf-8"),
        "--segment-docs",
        "2",
        "--interleave",
        "--all-types",
        "app.all",
    ]);
    let repo = repo();
    let from = |p: &Path| Source::Archive {
        path: p.to_path_buf(),
        spool: dir.path().to_path_buf(),
        selection: Selection::default(),
    };
    let c = component(
        from(&archive),
        RestoreOptions::default(),
        RestoreMode::Server,
    );
    let (id, snap) = backup(&repo, &c).expect("backup of the archive");
    let ix = index(&repo, &id);
    assert_eq!(ix.source, "archive");
    for coll in ["users", "orders", "all"] {
        let want = dir.path().join(format!("{coll}.bson"));
        mongo_archive(&[
            "bson-file",
            archive.to_str().expect("utf-8"),
            "app",
            coll,
            want.to_str().expect("utf-8"),
        ]);
        let mut got = Vec::new();
        repo.dump(&id, &format!("mongodb/app/{coll}.bson"), &mut got)
            .expect("stored");
        assert_eq!(got, std::fs::read(&want).expect("want"), "app.{coll}");
    }
    assert!(spooled(dir.path()).is_empty(), "spool files left");
    // Dumped again, the independent reader finds the same collections.
    let out = dir.path().join("out.archive");
    let d = component(
        from(&archive),
        RestoreOptions::default(),
        RestoreMode::Archive(out.clone()),
    );
    d.restore(&cx(&repo, &id, &snap)).expect("dump");
    let a: Value =
        serde_json::from_str(&mongo_archive(&["read", archive.to_str().expect("utf-8")]))
            .expect("a");
    let b: Value =
        serde_json::from_str(&mongo_archive(&["read", out.to_str().expect("utf-8")])).expect("b");
    let key = |v: &Value| -> Vec<(String, u64, String)> {
        let mut k: Vec<_> = v["collections"]
            .as_array()
            .expect("collections")
            .iter()
            .map(|c| {
                (
                    format!("{}.{}", c["db"], c["collection"]),
                    c["documents"].as_u64().unwrap_or(0),
                    c["sha256"].to_string(),
                )
            })
            .collect();
        k.sort();
        k
    };
    assert_eq!(key(&a), key(&b));
    // A truncated archive is refused by name and stores nothing.
    let bytes = std::fs::read(&archive).expect("archive");
    let cut = dir.path().join("cut.archive");
    std::fs::write(&cut, &bytes[..bytes.len() - 7]).expect("write");
    let before = repo.snapshots().expect("list").len();
    let c = component(from(&cut), RestoreOptions::default(), RestoreMode::Server);
    let e = backup(&repo, &c).expect_err("truncated");
    assert!(e.to_string().contains("cut.archive"), "{e}");
    assert_eq!(repo.snapshots().expect("list").len(), before);
    assert!(
        spooled(dir.path()).is_empty(),
        "spool files left after a failure"
    );
}

#[test]
fn a_failed_getmore_fails_the_backup_and_stores_nothing() {
    let m = server(&["--replica-set", "rs0", "--fail-getmore", "2"]);
    let repo = repo();
    let e = backup(&repo, &reader(reading(&m))).expect_err("cursor lost");
    let text = e.to_string();
    assert!(
        text.contains("from MongoDB") || text.contains("getMore"),
        "{text}"
    );
    assert!(repo.snapshots().expect("list").is_empty());
}

#[test]
fn a_drill_restores_into_scratch_databases_compares_and_drops_them() {
    let m = server(&["--replica-set", "rs0", "--all-types", "app.all"]);
    let repo = repo();
    let c = reader(reading(&m)).drill_on(Some(m.uri.clone()));
    let (id, snap) = backup(&repo, &c).expect("backup");
    let scratch = tempfile::tempdir().expect("tmp");
    let o = c
        .drill(&cx(&repo, &id, &snap), scratch.path())
        .expect("drill");
    assert!(
        o.details
            .iter()
            .any(|d| d.starts_with("app.users: 11 documents") && d.contains("hashes match")),
        "{:?}",
        o.details
    );
    let state = m.state();
    let dbs: Vec<&String> = state.as_object().expect("state").keys().collect();
    assert!(
        dbs.iter().all(|d| !d.starts_with("cairn_drill_")),
        "{dbs:?}"
    );
    // Without a drill server: an archive written and read back.
    let o = reader(reading(&m))
        .drill(&cx(&repo, &id, &snap), scratch.path())
        .expect("archive drill");
    assert!(
        o.details
            .iter()
            .any(|d| d.contains("written and read back")),
        "{:?}",
        o.details
    );
}

/// The chunking profile each stored document stream was cut with.
fn profiles(repo: &Repository, snap: &Snapshot) -> Vec<(String, String)> {
    let mut out = Vec::new();
    repo.walk_tree(&snap.tree, "", &mut |path, node| {
        if let cairn::NodeKind::Stream { info, .. } = &node.kind {
            if path.ends_with(".bson") {
                out.push((
                    path.to_string(),
                    info.get("profile").cloned().unwrap_or_default(),
                ));
            }
        }
        Ok(())
    })
    .expect("walk");
    out
}

#[test]
fn documents_are_cut_with_the_documents_profile_or_database_in_an_older_repository() {
    let m = server(&["--replica-set", "rs0"]);
    let repo = repo();
    let (_, snap) = backup(&repo, &reader(reading(&m))).expect("backup");
    let p = profiles(&repo, &snap);
    assert_eq!(p.len(), 4, "{p:?}");
    assert!(
        p.iter().all(|(_, x)| x == cairn::PROFILE_DOCUMENTS),
        "{p:?}"
    );
    // A repository made before the documents profile existed.
    let mut old = cairn::default_profiles();
    old.remove(cairn::PROFILE_DOCUMENTS);
    let opts = InitOptions::default()
        .argon2(Argon2Params::insecure_for_tests())
        .profiles(Some(old));
    let older = Repository::init(
        Arc::new(ObjectBackend::memory().expect("memory backend")),
        &Secret::passphrase("t"),
        opts,
    )
    .expect("init");
    let (_, snap) = backup(&older, &reader(reading(&m))).expect("backup");
    let p = profiles(&older, &snap);
    assert!(p.iter().all(|(_, x)| x == cairn::PROFILE_DATABASE), "{p:?}");
}

#[test]
fn a_snapshot_of_something_else_is_refused_by_restore_dump_and_verify() {
    let repo = repo();
    let rep = repo
        .backup(
            cairn::BackupOptions::default().streams(vec![cairn::StreamSource::from_reader(
                "shop.dump",
                std::io::Cursor::new(b"not mongodb".to_vec()),
            )]),
        )
        .expect("backup");
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("x.archive");
    for mode in [RestoreMode::Server, RestoreMode::Archive(out.clone())] {
        let c = component(
            Source::Server(BackupOptions::default()),
            RestoreOptions::default(),
            mode,
        );
        let e = c
            .restore(&cx(&repo, &rep.id, &rep.snapshot))
            .expect_err("not a MongoDB snapshot");
        assert!(e.to_string().contains("holds no MongoDB backup"), "{e}");
        let e = c
            .verify(&cx(&repo, &rep.id, &rep.snapshot))
            .expect_err("not a MongoDB snapshot");
        assert!(e.to_string().contains("holds no MongoDB backup"), "{e}");
    }
    assert!(!out.exists(), "no archive is written for another snapshot");
}
