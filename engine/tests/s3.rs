//! Repositories on a real S3-compatible server (moto on loopback).

mod common;
use cairn::{
    conformance, Backend, BackupOptions, FaultBackend, FaultPlan, ObjectBackend, Repository,
    RestoreOptions, RetryBackend, S3Options, Subset,
};
use cairn_testkit::Moto;
use common::*;
use std::sync::Arc;
use std::time::Duration;

fn s3(m: &Moto, bucket: &str, prefix: &str) -> Arc<dyn Backend> {
    m.create_bucket(bucket);
    let opts = S3Options {
        endpoint: Some(m.endpoint.clone()),
        ..Default::default()
    };
    cairn::open_backend(
        &format!("s3://{bucket}/{prefix}"),
        &cairn::BackendOptions::creating().s3(opts.clone()),
    )
    .expect("s3 backend")
}

#[test]
fn s3_backend_passes_the_conformance_suite() {
    let m = Moto::start();
    let b = s3(&m, "conf", "repo/a");
    conformance::run(b.as_ref()).expect("conforms");
    assert!(b.concurrency() >= 4, "S3 runs several requests at once");
}

#[test]
fn full_repository_cycle_on_s3() {
    let m = Moto::start();
    let b = s3(&m, "cycle", "backups/customer-a");
    let tmp = tempfile::tempdir().expect("tmp");
    let src = tmp.path().join("src");
    make_tree(&src);
    let repo = Repository::init(b.clone(), &secret(), fast_init()).expect("init");
    let first = repo
        .backup(BackupOptions::default().paths(vec![src.clone()]))
        .expect("backup");
    std::fs::write(src.join("new.txt"), "added after the first backup").expect("write");
    let repo = Repository::open(b.clone(), &secret()).expect("reopen");
    let second = repo
        .backup(BackupOptions::default().paths(vec![src.clone()]))
        .expect("re-backup");
    assert_eq!(second.snapshot.parent, Some(first.id));
    assert!(second.snapshot.summary.unchanged_files >= 50);
    let out = tmp.path().join("out");
    repo.restore(&second.id, RestoreOptions::default().target(out.clone()))
        .expect("restore");
    assert_same_tree(&src, &restored(&out, &src));
    let c = repo
        .check(cairn::CheckOptions::default().read_data(Some(Subset::All)))
        .expect("check");
    assert!(
        c.is_clean() && c.warnings.is_empty(),
        "{:?} {:?}",
        c.problems,
        c.warnings
    );
    let err = Repository::open(s3(&m, "empty", ""), &secret()).expect_err("no repository");
    assert!(matches!(err, cairn::Error::RepositoryNotFound(_)), "{err}");
}

#[test]
fn transient_faults_are_retried_and_permanent_ones_fail_cleanly() {
    let m = Moto::start();
    m.create_bucket("faulty");
    let opts = S3Options {
        endpoint: Some(m.endpoint.clone()),
        concurrency: 4,
        ..Default::default()
    };
    let raw: Arc<dyn Backend> = Arc::new(ObjectBackend::s3("s3://faulty/r", &opts).expect("s3"));
    let flaky = Arc::new(FaultBackend::new(
        raw.clone(),
        FaultPlan {
            every_nth: Some(3),
            probability: 0.1,
            seed: 7,
            ..Default::default()
        },
    ));
    let b: Arc<dyn Backend> = Arc::new(RetryBackend::new(
        flaky.clone(),
        10,
        Duration::from_millis(1),
        Duration::from_millis(20),
    ));
    let tmp = tempfile::tempdir().expect("tmp");
    let src = tmp.path().join("src");
    make_tree(&src);
    let repo = Repository::init(b.clone(), &secret(), fast_init()).expect("init through faults");
    let res = repo
        .backup(BackupOptions::default().paths(vec![src.clone()]))
        .expect("backup completes");
    assert!(
        flaky.injected() > 5,
        "faults were injected: {}",
        flaky.injected()
    );
    let out = tmp.path().join("out");
    repo.restore(&res.id, RestoreOptions::default().target(out.clone()))
        .expect("restore through faults");
    assert_same_tree(&src, &restored(&out, &src));

    // The storage goes away mid-backup: a clear error, no snapshot, and
    // what is stored still checks clean (leftover packs are only warnings).
    let dead = Arc::new(FaultBackend::new(
        raw.clone(),
        FaultPlan {
            permanent: true,
            ..Default::default()
        },
    ));
    let repo2 = Repository::open(
        Arc::new(RetryBackend::new(
            dead.clone(),
            3,
            Duration::from_millis(1),
            Duration::from_millis(5),
        )),
        &secret(),
    )
    .expect("open");
    std::fs::write(src.join("more.bin"), noise(3 << 20, 4242)).expect("write");
    // Session marker, plans and snapshot listing succeed; the uploads fail.
    dead.fail_after(4);
    let err = repo2
        .backup(BackupOptions::default().paths(vec![src.clone()]))
        .expect_err("fails");
    assert!(err.to_string().contains("injected fault"), "{err}");
    let healthy = Repository::open(raw, &secret()).expect("open");
    assert_eq!(
        healthy.snapshots().expect("list").len(),
        1,
        "no snapshot from the failed backup"
    );
    let c = healthy
        .check(cairn::CheckOptions::default().read_data(Some(Subset::All)))
        .expect("check");
    assert!(c.is_clean(), "{:?}", c.problems);
}
