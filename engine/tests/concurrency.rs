//! Concurrent writers, and use from inside a Tokio runtime.

mod common;
use cairn::{BackupOptions, Repository, RestoreOptions};
use common::*;

#[test]
fn two_threads_back_up_concurrently_and_both_restore() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (b, _) = local_repo(&tmp.path().join("repo"));
    let srcs: Vec<_> = (0..2)
        .map(|i| {
            let s = tmp.path().join(format!("src{i}"));
            make_tree(&s);
            std::fs::write(s.join("own"), noise(2 << 20, 100 + i)).expect("write");
            s
        })
        .collect();
    let ids: Vec<_> = std::thread::scope(|scope| {
        let hs: Vec<_> = srcs
            .iter()
            .map(|s| {
                let b = b.clone();
                scope.spawn(move || {
                    // Each writer is a separate client with its own index.
                    let repo = Repository::open(b, &secret()).expect("open");
                    repo.backup(BackupOptions::default().paths(vec![s.clone()]))
                        .expect("backup")
                        .id
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().expect("thread")).collect()
    });
    let repo = Repository::open(b, &secret()).expect("open");
    assert_eq!(repo.snapshots().expect("list").len(), 2);
    for (i, id) in ids.iter().enumerate() {
        let target = tmp.path().join(format!("out{i}"));
        repo.restore(id, RestoreOptions::default().target(target.clone()))
            .expect("restore");
        assert_same_tree(&srcs[i], &restored(&target, &srcs[i]));
    }
}

#[test]
fn operations_work_inside_a_tokio_runtime() {
    let tmp = tempfile::tempdir().expect("tmp");
    let src = tmp.path().join("src");
    make_tree(&src);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime");
    let target = tmp.path().join("out");
    let t2 = target.clone();
    let s2 = src.clone();
    rt.block_on(async move {
        // Called directly from async code: no nested-runtime panic.
        let (_b, repo) = memory_repo();
        let res = repo
            .backup(BackupOptions::default().paths(vec![s2]))
            .expect("backup");
        repo.restore(&res.id, RestoreOptions::default().target(t2))
            .expect("restore");
        // Dropping the repository (and its I/O runtime) here must not panic.
        drop(repo);
    });
    rt.block_on(async {
        let (_b, repo) = memory_repo();
        let handle = tokio::task::spawn_blocking(move || repo.snapshots().map(|s| s.len()));
        assert_eq!(handle.await.expect("join").expect("list"), 0);
    });
    assert_same_tree(&src, &restored(&target, &src));
}

#[test]
fn progress_listener_is_called_and_counters_add_up() {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    let tmp = tempfile::tempdir().expect("tmp");
    let src = tmp.path().join("src");
    make_tree(&src);
    let (_b, repo) = memory_repo();
    let calls = Arc::new(AtomicU64::new(0));
    let c = calls.clone();
    let progress = Arc::new(cairn::Progress::with_listener(move |p| {
        c.fetch_add(1, Ordering::Relaxed);
        assert!(cairn::Progress::get(&p.files) <= 1000);
    }));
    let res = repo
        .backup(
            BackupOptions::default()
                .paths(vec![src])
                .progress(Some(progress.clone())),
        )
        .expect("backup");
    let files = cairn::Progress::get(&progress.files);
    assert_eq!(files, res.snapshot.summary.files);
    assert_eq!(
        cairn::Progress::get(&progress.bytes),
        res.snapshot.summary.bytes_read
    );
    assert!(
        calls.load(Ordering::Relaxed) >= files,
        "listener called per file and per pack"
    );
}
