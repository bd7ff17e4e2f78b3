//! Backup then restore gives a byte-identical tree.

mod common;
use cairn::{BackupOptions, ParentChoice, RestoreOptions, StreamSource};
use common::*;

#[test]
fn generated_tree_round_trips_on_local_backend() {
    let tmp = tempfile::tempdir().expect("tmp");
    let src = tmp.path().join("src");
    make_tree(&src);
    let (_b, repo) = local_repo(&tmp.path().join("repo"));
    let res = repo
        .backup(BackupOptions::default().paths(vec![src.clone()]))
        .expect("backup");
    assert!(res.warnings.is_empty(), "{:?}", res.warnings);
    assert!(res.snapshot.summary.files >= 55);
    let target = tmp.path().join("restore");
    let sum = repo
        .restore(&res.id, RestoreOptions::default().target(target.clone()))
        .expect("restore");
    assert!(sum.files >= 55 && sum.symlinks == 2);
    assert_same_tree(&src, &restored(&target, &src));
}

#[test]
fn include_restores_only_a_subset() {
    let tmp = tempfile::tempdir().expect("tmp");
    let src = tmp.path().join("src");
    make_tree(&src);
    let (_b, repo) = memory_repo();
    let res = repo
        .backup(BackupOptions::default().paths(vec![src.clone()]))
        .expect("backup");
    let target = tmp.path().join("restore");
    let inc = format!("{}/small.txt", src.display());
    repo.restore(
        &res.id,
        RestoreOptions::default()
            .target(target.clone())
            .include(vec![inc]),
    )
    .expect("restore");
    let out = restored(&target, &src);
    assert_eq!(
        std::fs::read(out.join("small.txt")).expect("restored"),
        b"hello\n"
    );
    assert!(!out.join("random.bin").exists());
}

#[test]
fn excludes_cover_the_seed_documents_temp_data() {
    let tmp = tempfile::tempdir().expect("tmp");
    let src = tmp.path().join("src");
    for d in ["tmp", "DR_TMP_DIR", "pending", "keep"] {
        std::fs::create_dir_all(src.join(d)).expect("mkdir");
        std::fs::write(src.join(d).join("f"), d).expect("write");
    }
    std::fs::write(src.join("TEMP.upload"), b"x").expect("write");
    std::fs::write(src.join("real.txt"), b"x").expect("write");
    let (_b, repo) = memory_repo();
    let excludes = cairn::SEED_TEMP_EXCLUDES
        .iter()
        .map(|s| s.to_string())
        .collect();
    let res = repo
        .backup(
            BackupOptions::default()
                .paths(vec![src.clone()])
                .excludes(excludes),
        )
        .expect("backup");
    let target = tmp.path().join("restore");
    repo.restore(&res.id, RestoreOptions::default().target(target.clone()))
        .expect("restore");
    let out = restored(&target, &src);
    assert!(out.join("keep/f").exists() && out.join("real.txt").exists());
    for gone in ["tmp", "DR_TMP_DIR", "pending", "TEMP.upload"] {
        assert!(!out.join(gone).exists(), "{gone} must be excluded");
    }
}

#[test]
fn streams_round_trip_including_a_long_chunk_list() {
    let (_b, repo) = memory_repo();
    let big = text(12 << 20, 3);
    let small = b"globals".to_vec();
    let res = repo
        .backup(BackupOptions::default().streams(vec![
                StreamSource::from_reader("postgres/app.dump", std::io::Cursor::new(big.clone()))
                    .with_profile("database"),
                StreamSource::from_reader(
                    "postgres/globals.sql",
                    std::io::Cursor::new(small.clone()),
                ),
            ]))
        .expect("backup");
    let node = repo.find_path(&res.id, "postgres/app.dump").expect("node");
    assert!(
        matches!(node.content(), Some(cairn::Content::Indirect(_))),
        "a 12 MiB stream at 16 KiB chunks exceeds the inline limit"
    );
    let mut out = Vec::new();
    assert_eq!(
        repo.dump(&res.id, "/postgres/app.dump", &mut out)
            .expect("dump")
            .bytes,
        big.len() as u64
    );
    assert!(out == big, "dump is byte-identical");
    let mut out = Vec::new();
    repo.dump(&res.id, "postgres/globals.sql", &mut out)
        .expect("dump");
    assert_eq!(out, small);
    assert_eq!(
        res.snapshot.paths,
        vec!["postgres/app.dump", "postgres/globals.sql"]
    );
}

#[test]
fn failing_command_writes_no_snapshot() {
    let (_b, repo) = memory_repo();
    let argv: Vec<String> = ["sh", "-c", "echo partial; echo boom >&2; exit 3"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let src = StreamSource::from_command("x", &argv).expect("spawn");
    let err = repo
        .backup(BackupOptions::default().streams(vec![src]))
        .expect_err("must fail");
    assert!(err.to_string().contains("boom"), "stderr in error: {err}");
    assert!(repo.snapshots().expect("list").is_empty());
    let ok =
        StreamSource::from_command("y", &["echo".to_string(), "fine".to_string()]).expect("spawn");
    let res = repo
        .backup(
            BackupOptions::default()
                .streams(vec![ok])
                .parent(ParentChoice::None),
        )
        .expect("backup");
    let mut out = Vec::new();
    repo.dump(&res.id, "y", &mut out).expect("dump");
    assert_eq!(out, b"fine\n");
}

#[test]
fn unreadable_file_is_reported_and_snapshot_still_written() {
    let tmp = tempfile::tempdir().expect("tmp");
    let src = tmp.path().join("src");
    std::fs::create_dir_all(&src).expect("mkdir");
    std::fs::write(src.join("ok"), b"ok").expect("write");
    std::os::unix::net::UnixListener::bind(src.join("sock")).expect("socket");
    let (_b, repo) = memory_repo();
    // Reading /proc/self/mem at offset 0 fails with EIO, even for root.
    let paths = vec![src.clone(), src.join("ok"), "/proc/self/mem".into()];
    let res = repo
        .backup(BackupOptions::default().paths(paths))
        .expect("backup");
    assert_eq!(res.warnings.len(), 1, "{:?}", res.warnings);
    assert!(res.warnings[0].contains("/proc/self/mem"));
    assert_eq!(res.snapshot.summary.errors, 1);
    assert_eq!(
        res.snapshot.summary.files, 1,
        "only the readable file counts; socket skipped, nested path deduplicated"
    );
    assert_eq!(repo.snapshots().expect("list").len(), 1);
}
