//! The retention window and the WAL checks on an archive built in memory:
//! real `wal push` snapshots of synthetic segments and base backup
//! snapshots with the facts `pg_basebackup` would have recorded.

mod common;

use cairn::{BackupOptions, Repository, StreamSource};
use cairn_postgres::pitr::{self, Catalog, Target, DEFAULT_SEGMENT_SIZE};
use common::repo;

const SEG: u64 = DEFAULT_SEGMENT_SIZE;
const SECOND: i64 = 1_000_000_000;

/// Pushes segment `n` of timeline 1 (small synthetic bytes).
fn push(repo: &Repository, dir: &std::path::Path, n: u64) {
    let name = pitr::segment_name(1, n, SEG);
    let path = dir.join(&name);
    std::fs::write(&path, format!("segment {n}").repeat(100)).expect("step failed");
    pitr::push(repo, &path, &pitr::PushOptions::default()).expect("step failed");
}

/// A base backup snapshot from segment `start` to `stop`, ended at `ended_ns`.
fn base(repo: &Repository, start: u64, stop: u64, ended_ns: i64) {
    let mut info = std::collections::BTreeMap::new();
    info.insert(
        "marker.start_lsn".into(),
        pitr::format_lsn(start * SEG + 40),
    );
    info.insert("marker.stop_lsn".into(), pitr::format_lsn(stop * SEG + 256));
    info.insert("marker.timeline".into(), "1".into());
    let ended = chrono_text(ended_ns);
    info.insert(cairn_plan::keys::ENDED.into(), ended);
    repo.backup(
        BackupOptions::default()
            .streams(vec![StreamSource::from_reader(
                pitr::BASE_STREAM,
                &b"tar"[..],
            )])
            .source(Some(pitr::BASE_SOURCE.into()))
            .time_ns(Some(ended_ns - SECOND))
            .info(info),
    )
    .expect("step failed");
}

fn chrono_text(ns: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(ns).to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

#[test]
fn the_window_keeps_every_segment_a_restore_in_it_needs() {
    let repo = repo();
    let dir = tempfile::tempdir().expect("step failed");
    let h = 3600 * SECOND;
    // Base backups at hours 1, 5, 9 covering segments 2-3, 10-11, 20-21;
    // segments 2..=30 archived.
    base(&repo, 2, 3, h);
    base(&repo, 10, 11, 5 * h);
    base(&repo, 20, 21, 9 * h);
    for n in 2..=30 {
        push(&repo, dir.path(), n);
    }
    let cat = Catalog::load(&repo, None).expect("step failed");
    assert_eq!(cat.bases.len(), 3);
    let now = 10 * h;
    for (window_h, kept_bases, first_kept_segment) in
        [(20, 3, 2), (6, 3, 2), (4, 2, 10), (2, 2, 10), (0, 1, 20)]
    {
        let plan = pitr::plan_window(&cat, window_h * h, now);
        assert_eq!(plan.keep_bases.len(), kept_bases, "window {window_h} h");
        // Every restore target inside the window finds a base backup, and
        // every segment after that base's end is still there.
        let start = now - window_h * h;
        let kept: Vec<u64> = cat
            .segments()
            .filter(|(_, a)| !plan.forget_wal.iter().any(|f| f.snapshot == a.snapshot))
            .map(|(n, _)| n.number(SEG))
            .collect();
        assert_eq!(
            kept.first().copied(),
            Some(first_kept_segment),
            "window {window_h} h"
        );
        assert!(
            kept.windows(2).all(|w| w[1] == w[0] + 1),
            "no hole: {kept:?}"
        );
        for t in [start, (start + now) / 2, now] {
            let b = pitr::choose_base(&cat, &Target::Time(t.max(h))).expect("step failed");
            assert!(
                plan.keep_bases.iter().any(|k| k.id == b.id),
                "window {window_h} h, time {t}: base {} forgotten",
                b.id.short()
            );
            assert!(b.start_segment() >= first_kept_segment);
        }
    }
    // Applying it: forgotten snapshots are gone, the rest restores.
    let plan = pitr::plan_window(&cat, 0, now);
    let n = pitr::forget_window(&repo, &plan, false).expect("step failed");
    assert_eq!(n, plan.forget_bases.len() + plan.forget_wal.len());
    let after = Catalog::load(&repo, None).expect("step failed");
    assert_eq!(after.bases.len(), 1);
    assert_eq!(
        after.segments().next().expect("step failed").0.number(SEG),
        20
    );
    let b = pitr::choose_base(&after, &Target::Latest).expect("step failed");
    pitr::check_wal(&after, &b, &Target::Latest).expect("step failed");
}

#[test]
fn no_base_backup_means_nothing_is_forgotten_and_a_gap_is_named() {
    let repo = repo();
    let dir = tempfile::tempdir().expect("step failed");
    for n in [2, 3, 5, 6] {
        push(&repo, dir.path(), n);
    }
    let cat = Catalog::load(&repo, None).expect("step failed");
    let plan = pitr::plan_window(&cat, 0, i64::MAX / 2);
    assert!(plan.forget_wal.is_empty() && plan.keep_wal == 4);
    base(&repo, 1, 1, 10 * SECOND);
    let cat = Catalog::load(&repo, None).expect("step failed");
    let st = pitr::wal_status(&cat, 20 * SECOND);
    let missing = pitr::segment_name(1, 4, SEG);
    assert_eq!(st.gaps, vec![(missing.clone(), missing.clone())]);
    assert!(st.problems(None).iter().any(|p| p.contains(&missing)));
    let b = pitr::choose_base(&cat, &Target::Latest).expect("step failed");
    let err = pitr::check_wal(&cat, &b, &Target::Latest)
        .expect_err("must fail")
        .to_string();
    assert!(err.contains(&missing), "{err}");
    // A target before the gap is fine.
    pitr::check_wal(&cat, &b, &Target::Lsn(3 * SEG + 8)).expect("step failed");
}

#[test]
fn the_catalog_cache_is_only_a_shortcut() {
    let repo = repo();
    let dir = tempfile::tempdir().expect("step failed");
    let cache = tempfile::tempdir().expect("step failed");
    push(&repo, dir.path(), 7);
    let first = Catalog::load(&repo, Some(cache.path())).expect("step failed");
    assert_eq!(first.wal.len(), 1);
    // A tampered cache that claims the segment holds other bytes: a push of
    // the real bytes is checked against the snapshot, not the cache.
    let file = std::fs::read_dir(cache.path().join("wal"))
        .expect("step failed")
        .next()
        .expect("step failed")
        .expect("step failed")
        .path();
    let text = std::fs::read_to_string(&file).expect("step failed");
    let real = &first.wal[0].blake3;
    std::fs::write(&file, text.replace(real.as_str(), &"0".repeat(64))).expect("step failed");
    let o = pitr::PushOptions {
        cache_dir: Some(cache.path().to_path_buf()),
        ..Default::default()
    };
    let path = dir.path().join(pitr::segment_name(1, 7, SEG));
    // The cache lies about the hash: the snapshot itself decides.
    assert!(matches!(
        pitr::push(&repo, &path, &o).expect("step failed"),
        pitr::Pushed::AlreadyArchived(_)
    ));
    // A deleted snapshot disappears from the catalog although cached.
    let id = first.wal[0].id().expect("step failed");
    repo.forget(cairn::ForgetOptions::default().ids(vec![id]))
        .expect("step failed");
    let after = Catalog::load(&repo, Some(cache.path())).expect("step failed");
    assert!(after.wal.is_empty());
    // With the snapshot gone the push stores it again.
    assert!(matches!(
        pitr::push(&repo, &path, &o).expect("step failed"),
        pitr::Pushed::Stored(..)
    ));
}
