//! Deduplication: unchanged data adds nothing; a small edit adds little.

mod common;
use cairn::{BackupOptions, ParentChoice, StreamSource};
use common::*;

#[test]
fn second_backup_of_unchanged_tree_adds_no_data_blobs() {
    let tmp = tempfile::tempdir().expect("tmp");
    let src = tmp.path().join("src");
    make_tree(&src);
    let (b, repo) = memory_repo();
    let first = repo
        .backup(BackupOptions::default().paths(vec![src.clone()]))
        .expect("backup");
    assert!(first.snapshot.summary.raw_bytes_added > 5 << 20);
    let packs_before = pack_bytes(b.as_ref());
    let second = repo
        .backup(BackupOptions::default().paths(vec![src.clone()]))
        .expect("backup");
    assert_eq!(
        second.snapshot.parent,
        Some(first.id),
        "parent picked automatically"
    );
    assert_eq!(second.snapshot.summary.raw_bytes_added, 0);
    assert_eq!(
        second.snapshot.summary.bytes_read, 0,
        "unchanged files are not read"
    );
    assert_eq!(
        second.snapshot.summary.unchanged_files,
        second.snapshot.summary.files
    );
    assert_eq!(
        pack_bytes(b.as_ref()),
        packs_before,
        "no new packs: trees are identical too"
    );
    // Without a parent every file is read, and still nothing new is stored.
    let third = repo
        .backup(
            BackupOptions::default()
                .paths(vec![src])
                .parent(ParentChoice::None),
        )
        .expect("backup");
    assert!(third.snapshot.summary.bytes_read > 5 << 20);
    assert_eq!(third.snapshot.summary.raw_bytes_added, 0);
}

#[test]
fn one_percent_edit_in_a_large_file_adds_little() {
    let tmp = tempfile::tempdir().expect("tmp");
    let src = tmp.path().join("src");
    std::fs::create_dir_all(&src).expect("mkdir");
    let size = 64 << 20;
    let mut data = noise(size, 77);
    std::fs::write(src.join("big"), &data).expect("write");
    // A fixed chunking secret makes the boundaries, and so the figures,
    // reproducible (a random one could land an 8 MiB chunk on the edit).
    let b: std::sync::Arc<dyn cairn::Backend> =
        std::sync::Arc::new(cairn::ObjectBackend::memory().expect("memory"));
    let init = fast_init().chunking_secret(Some(cairn::raw::crypto::ChunkingSecret([7; 32])));
    let repo = cairn::Repository::init(b.clone(), &secret(), init).expect("init");
    repo.backup(BackupOptions::default().paths(vec![src.clone()]))
        .expect("backup");
    let before = pack_bytes(b.as_ref());
    let edit = size / 100;
    let mid = size / 2;
    data[mid..mid + edit].copy_from_slice(&noise(edit, 78));
    std::fs::write(src.join("big"), &data).expect("write");
    let res = repo
        .backup(BackupOptions::default().paths(vec![src]))
        .expect("backup");
    let grown = pack_bytes(b.as_ref()) - before;
    let raw = res.snapshot.summary.raw_bytes_added;
    eprintln!("edit {edit} bytes: repository grew {grown}, new chunk plaintext {raw}");
    assert!(
        grown >= edit as u64,
        "the edit itself must be stored: {grown}"
    );
    // Measured with this secret: the edited region plus its two
    // neighbouring ~1 MiB chunks. 4 MiB of headroom over the edit.
    assert!(
        raw <= edit as u64 + (4 << 20),
        "new chunks hold {raw} bytes for a {edit}-byte edit"
    );
    assert!(
        grown <= raw + (64 << 10),
        "stored growth {grown} is the new chunks plus metadata"
    );
}

#[test]
fn same_chunk_in_flight_twice_is_stored_once() {
    let (b, repo) = memory_repo();
    let data = noise(4 << 20, 5);
    let res = repo
        .backup(BackupOptions::default().streams(vec![
            StreamSource::from_reader("a", std::io::Cursor::new(data.clone())),
            StreamSource::from_reader("b", std::io::Cursor::new(data.clone())),
        ]))
        .expect("backup");
    // Reopening loads the index compactly: exactly 48 bytes per blob.
    let repo = cairn::Repository::open(b, &secret()).expect("open");
    let s = repo.stats(cairn::StatsOptions::default()).expect("stats");
    assert!(
        s.unique_raw_bytes <= data.len() as u64 + 1024,
        "stored once: {}",
        s.unique_raw_bytes
    );
    assert_eq!(res.snapshot.summary.raw_bytes_added, data.len() as u64);
    assert_eq!(s.index_bytes_per_blob, 48.0);
}

/// What only a snapshot holds equals, counted another way, what the union
/// of all snapshots needs minus what the others need on their own; shared
/// data is nobody's alone, and forgetting the others makes it exclusive.
#[test]
fn exclusive_usage_is_what_no_other_snapshot_needs() {
    let (_b, repo) = memory_repo();
    let stream =
        |name: &str, data: Vec<u8>| StreamSource::from_reader(name, std::io::Cursor::new(data));
    let shared = noise(300 << 10, 1);
    let mut ids = Vec::new();
    for (i, own) in [noise(200 << 10, 2), noise(100 << 10, 3), Vec::new()]
        .into_iter()
        .enumerate()
    {
        let streams = vec![stream("shared", shared.clone()), stream("own", own)];
        let r = repo
            .backup(
                BackupOptions::default()
                    .streams(streams)
                    .parent(ParentChoice::None),
            )
            .expect("backup");
        assert_eq!(
            r.snapshot.summary.files + r.snapshot.summary.streams,
            2,
            "{i}"
        );
        ids.push(r.id);
    }
    let raw = |set: &[cairn::SnapshotId]| {
        let s = repo.snapshot_stats(set).expect("stats");
        (s.blobs, s.stored_bytes)
    };
    let groups: Vec<Vec<_>> = ids.iter().map(|id| vec![*id]).collect();
    let got = repo.exclusive_usage(&groups).expect("exclusive");
    let all = raw(&ids);
    for (i, e) in got.iter().enumerate() {
        let others: Vec<_> = ids.iter().copied().filter(|id| *id != ids[i]).collect();
        let rest = raw(&others);
        assert_eq!(
            (e.blobs, e.stored_bytes),
            (all.0 - rest.0, all.1 - rest.1),
            "snapshot {i}"
        );
    }
    assert!(
        got[0].stored_bytes > 200 << 10,
        "the first snapshot's own noise is its alone"
    );
    assert!(got[1].stored_bytes > 100 << 10 && got[1].stored_bytes < 200 << 10);
    assert!(
        got[2].stored_bytes < 4 << 10,
        "the third holds only its own trees"
    );
    let pair = repo.exclusive_usage(&[ids[..2].to_vec()]).expect("pair");
    assert_eq!(
        (pair[0].blobs, pair[0].stored_bytes),
        (all.0 - raw(&ids[2..]).0, all.1 - raw(&ids[2..]).1)
    );
    let whole = repo.exclusive_usage(&[ids.clone()]).expect("whole");
    assert_eq!(
        (whole[0].blobs, whole[0].stored_bytes),
        all,
        "together they hold everything"
    );
    let (_b2, elsewhere) = memory_repo();
    let err = elsewhere
        .exclusive_usage(&[vec![ids[0]]])
        .expect_err("not there");
    assert!(matches!(err, cairn::Error::InvalidInput(_)), "{err}");
}
