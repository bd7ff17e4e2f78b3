//! `BackupOptions::finish_info` and cancellable process streams.

use cairn::{
    Argon2Params, BackupOptions, Error, InitOptions, ObjectBackend, Repository, Secret,
    StreamSource,
};
use std::collections::BTreeMap;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn repo() -> Repository {
    let opts = InitOptions::default().argon2(Argon2Params::insecure_for_tests());
    Repository::init(
        Arc::new(ObjectBackend::memory().expect("memory")),
        &Secret::passphrase("pw"),
        opts,
    )
    .expect("init")
}

#[test]
fn finish_info_joins_the_snapshot_and_its_error_writes_none() {
    let r = repo();
    let s = StreamSource::from_reader("a", &b"abc"[..]);
    let rep = r
        .backup(
            BackupOptions::default()
                .streams(vec![s])
                .finish_info(Some(Box::new(|| {
                    let mut m = BTreeMap::new();
                    m.insert("marker.end".to_string(), "42".to_string());
                    Ok(m)
                }))),
        )
        .expect("backup");
    assert_eq!(rep.snapshot.info["marker.end"], "42");
    let s = StreamSource::from_reader("b", &b"def"[..]);
    let e = r
        .backup(
            BackupOptions::default()
                .streams(vec![s])
                .finish_info(Some(Box::new(|| Err(Error::invalid("marker unreadable"))))),
        )
        .expect_err("fails");
    assert!(e.to_string().contains("marker unreadable"), "{e}");
    assert_eq!(
        r.snapshots().expect("list").len(),
        1,
        "no snapshot for the failed backup"
    );
}

#[test]
fn a_cancelled_process_stream_is_killed_and_interrupts_the_backup() {
    let r = repo();
    let cancel = Arc::new(AtomicBool::new(false));
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "printf start; sleep 60; printf never"]);
    let s = StreamSource::from_process_cancellable("slow", cmd, cancel.clone()).expect("spawn");
    let flag = cancel.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        flag.store(true, Ordering::SeqCst);
    });
    let t = Instant::now();
    let e = r
        .backup(
            BackupOptions::default()
                .streams(vec![s])
                .cancel(Some(cancel)),
        )
        .expect_err("interrupted");
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "the command was not killed"
    );
    assert!(matches!(e, Error::Interrupted(_)), "{e}");
    assert!(r.snapshots().expect("list").is_empty());
}
