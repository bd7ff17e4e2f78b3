//! The real S3 server behind a proxy that resets connections, stalls,
//! truncates answers, loses answers after acting and returns 500/503/
//! SlowDown at random: backup, restore, copy and prune finish, nothing is
//! damaged, and a server that never recovers fails in bounded time.

mod common;
use cairn::{
    Backend, BackupOptions, PruneOptions, Repository, RestoreOptions, S3Options, StreamSource,
    Subset,
};
use cairn_testkit::{Fault, FaultMix, FaultProxy, Moto};
use common::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn backend(endpoint: &str, location: &str, retries: u32) -> Arc<dyn Backend> {
    let opts = S3Options {
        endpoint: Some(endpoint.to_string()),
        retries,
        timeout: Duration::from_secs(1),
        ..Default::default()
    };
    cairn::open_backend(
        location,
        &cairn::BackendOptions::creating().s3(opts.clone()),
    )
    .expect("s3 backend")
}

#[test]
fn backup_restore_copy_and_prune_survive_a_faulty_network() {
    let m = Moto::start();
    m.create_bucket("faulty");
    let proxy = FaultProxy::start(
        &m.endpoint,
        FaultMix {
            probability: 0.15,
            seed: 7,
            stall: Duration::from_millis(1500),
        },
    );
    let b = backend(&proxy.endpoint, "s3://faulty/repo", 30);
    let tmp = tempfile::tempdir().expect("tmp");
    let src = tmp.path().join("src");
    make_tree(&src);
    let repo = Repository::init(b.clone(), &secret(), fast_init()).expect("init");
    let dump = text(3 << 20, 3);
    let first = repo
        .backup(
            BackupOptions::default()
                .paths(vec![src.clone()])
                .streams(vec![StreamSource::from_reader(
                    "db/dump.sql",
                    std::io::Cursor::new(dump.clone()),
                )]),
        )
        .expect("backup through faults");
    std::fs::write(src.join("later.txt"), b"second backup").expect("write");
    let second = repo
        .backup(BackupOptions::default().paths(vec![src.clone()]))
        .expect("second backup through faults");
    let out = tmp.path().join("out");
    repo.restore(&second.id, RestoreOptions::default().target(out.clone()))
        .expect("restore through faults");
    assert_same_tree(&src, &restored(&out, &src));
    let copy_b = backend(&proxy.endpoint, "s3://faulty/copy", 30);
    let copy = Repository::init(copy_b, &secret(), fast_init()).expect("init copy");
    repo.copy(&copy, cairn::CopyOptions::default())
        .expect("copy through faults");
    copy_b_check(&m, "s3://faulty/copy", 2);
    repo.backend()
        .delete(cairn::FileKind::Snapshot, &first.id.to_hex())
        .expect("forget");
    repo.prune(PruneOptions::default().grace_secs(0))
        .expect("prune through faults");
    let kinds: std::collections::HashSet<Fault> = proxy.injected().into_iter().collect();
    eprintln!(
        "{} requests, {} faults injected",
        proxy.requests(),
        proxy.injected().len()
    );
    assert!(
        kinds.len() == 7,
        "every kind of fault was injected ({} requests): {kinds:?}",
        proxy.requests()
    );
    // Checked over a clean connection: nothing is damaged.
    let direct = Repository::open(backend(&m.endpoint, "s3://faulty/repo", 1), &secret())
        .expect("open direct");
    let report = direct
        .check(cairn::CheckOptions::default().read_data(Some(Subset::All)))
        .expect("check");
    assert!(report.is_clean(), "{:?}", report.problems);
    let out2 = tmp.path().join("out2");
    direct
        .restore(&second.id, RestoreOptions::default().target(out2.clone()))
        .expect("restore");
    assert_same_tree(&src, &restored(&out2, &src));
}

fn copy_b_check(m: &Moto, location: &str, snapshots: usize) {
    let r = Repository::open(backend(&m.endpoint, location, 1), &secret()).expect("open copy");
    assert_eq!(r.snapshots().expect("list").len(), snapshots);
    assert!(r
        .check(cairn::CheckOptions::default().read_data(Some(Subset::All)))
        .expect("check")
        .is_clean());
}

#[test]
fn a_server_that_never_recovers_fails_in_bounded_time_with_a_clear_error() {
    let m = Moto::start();
    m.create_bucket("down");
    let proxy = FaultProxy::start(
        &m.endpoint,
        FaultMix {
            probability: 1.0,
            seed: 3,
            stall: Duration::from_secs(4),
        },
    );
    let b = backend(&proxy.endpoint, "s3://down/repo", 3);
    let started = Instant::now();
    let err = Repository::init(b, &secret(), fast_init()).expect_err("cannot succeed");
    let took = started.elapsed();
    let text = err.to_string();
    assert!(
        text.contains("gave up after 3 tries") || text.contains("storage error"),
        "{text}"
    );
    // Three tries of at most the 1 s timeout plus backoff; far below the
    // minutes a hung request used to take.
    assert!(took < Duration::from_secs(30), "{took:?}");
}
