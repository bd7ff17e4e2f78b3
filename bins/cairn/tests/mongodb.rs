//! `cairn backup mongodb`, `cairn restore mongodb` and `cairn dump mongodb`
//! through the real binary against the fake MongoDB server (mockupdb: no
//! mongod can be installed here), and a plan with a `mongodb` component
//! and its drill.

mod common;
use cairn_testkit::{mongo_archive, Mongod};
use common::*;
use std::path::Path;

fn platform() -> Mongod {
    let data = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../adapters/mongodb/tests/data/platform.json");
    Mongod::start(&[
        "--data",
        data.to_str().expect("utf-8"),
        "--replica-set",
        "rs0",
        "--batch",
        "4",
    ])
}

#[test]
fn backup_restore_and_dump_mongodb_from_the_command_line() {
    let env = Env::new();
    let (repo, key) = (env.path("repo"), env.path("key"));
    env.init_repo(&repo, &key);
    let m = platform();
    let o = env.run_with(
        &repo,
        &key,
        &["backup", "mongodb", "--uri", &m.uri, "--exclude-db", "crm"],
    );
    assert_code(&o, 0);
    let o = env.run_with(&repo, &key, &["ls", "latest"]);
    let listing = stdout(&o);
    for p in [
        "mongodb/app/users.bson",
        "mongodb/app/users.metadata.json",
        "mongodb/index.json",
    ] {
        assert!(listing.contains(p), "{p} missing: {listing}");
    }
    assert!(!listing.contains("mongodb/crm/"), "{listing}");
    let o = env.run_with(&repo, &key, &["snapshots", "--json"]);
    assert!(
        stdout(&o).contains("marker.mongodb.at_cluster_time"),
        "{}",
        stdout(&o)
    );

    // Into a scratch database beside the original.
    let o = env.run_with(
        &repo,
        &key,
        &[
            "restore",
            "mongodb",
            "latest",
            "--uri",
            &m.uri,
            "--ns-from",
            "app.*",
            "--ns-to",
            "copy.*",
        ],
    );
    assert_code(&o, 0);
    assert!(
        stdout(&o).contains("restored 4 collections"),
        "{}",
        stdout(&o)
    );
    // One progress line per collection as it is restored.
    assert!(
        stderr(&o).contains("cairn: restored app.users into copy.users: 11 documents, 2 indexes"),
        "{}",
        stderr(&o)
    );
    let state = m.state();
    assert_eq!(
        state["copy"]["users"]["documents"].as_array().map(Vec::len),
        Some(11)
    );
    assert_eq!(
        state["copy"]["users"]["indexes"],
        state["app"]["users"]["indexes"]
    );
    // A batch of no documents is a bad flag.
    let o = env.run_with(
        &repo,
        &key,
        &["backup", "mongodb", "--uri", &m.uri, "--batch-size", "0"],
    );
    assert_code(&o, 2);
    assert!(stderr(&o).contains("--batch-size"), "{}", stderr(&o));
    // An unpaired --ns-from is refused before anything is written.
    let o = env.run_with(
        &repo,
        &key,
        &[
            "restore",
            "mongodb",
            "latest",
            "--uri",
            &m.uri,
            "--ns-from",
            "app.*",
        ],
    );
    assert_code(&o, 1);
    assert!(stderr(&o).contains("in pairs"), "{}", stderr(&o));

    // A mongodump archive that the independent reader accepts, and that
    // backs up again with the same documents.
    let archive = env.path("app.archive");
    let a = archive.to_str().expect("utf-8");
    assert_code(
        &env.run_with(&repo, &key, &["dump", "mongodb", "latest", a]),
        0,
    );
    let read: serde_json::Value = serde_json::from_str(&mongo_archive(&["read", a])).expect("JSON");
    let colls = read["collections"].as_array().expect("collections");
    assert_eq!(colls.len(), 4, "{read}");
    let o = env.run_with(
        &repo,
        &key,
        &["backup", "mongodb", "--archive", a, "--tag", "from-archive"],
    );
    assert_code(&o, 0);
    let o = env.run_with(&repo, &key, &["ls", "latest", "--tag", "from-archive"]);
    assert!(
        stdout(&o).contains("mongodb/app/orders.bson"),
        "{}",
        stdout(&o)
    );
    // A damaged archive: a clear error, exit 1, no snapshot.
    let mut bytes = std::fs::read(&archive).expect("read");
    let n = bytes.len();
    bytes[n - 20] ^= 0xff;
    let bad = env.path("bad.archive");
    std::fs::write(&bad, &bytes).expect("write");
    let before = stdout(&env.run_with(&repo, &key, &["snapshots", "--json"]));
    let o = env.run_with(
        &repo,
        &key,
        &[
            "backup",
            "mongodb",
            "--archive",
            bad.to_str().expect("utf-8"),
        ],
    );
    assert_code(&o, 1);
    assert!(stderr(&o).contains("bad.archive"), "{}", stderr(&o));
    assert_eq!(
        stdout(&env.run_with(&repo, &key, &["snapshots", "--json"])),
        before
    );
}

#[test]
fn a_plan_backs_up_and_drills_a_mongodb_component() {
    let env = Env::new();
    let (repo, key) = (env.path("repo"), env.path("key"));
    env.init_repo(&repo, &key);
    let m = platform();
    let plan = env.path("mongo.toml");
    std::fs::write(
        &plan,
        format!(
            "name = \"cx\"\n[[component]]\nname = \"mongodb\"\nkind = \"mongodb\"\n[component.settings]\nuri = {:?}\ndrill_uri = {:?}\n",
            m.uri, m.uri
        ),
    )
    .expect("write plan");
    let p = plan.to_str().expect("utf-8");
    assert_code(&env.run_with(&repo, &key, &["plan", "validate", p]), 0);
    assert_code(&env.run_with(&repo, &key, &["plan", "run", p]), 0);
    assert_code(&env.run_with(&repo, &key, &["plan", "verify", p]), 0);
    let o = env.run_with(&repo, &key, &["plan", "drill", p]);
    assert_code(&o, 0);
    let out = stdout(&o) + &stderr(&o);
    assert!(out.contains("hashes match"), "{out}");
    let dbs: Vec<String> = m
        .state()
        .as_object()
        .expect("state")
        .keys()
        .cloned()
        .collect();
    assert!(
        dbs.iter().all(|d| !d.starts_with("cairn_drill_")),
        "{dbs:?}"
    );
}
