//! Random operation sequences (backup, forget, prune, restore) through a
//! fault-injecting backend. Whatever fails must fail with an error (never
//! a panic or wrong bytes); whatever succeeded must restore once the
//! faults stop; and `check --read-data` must then find no damage.
//!
//! Counts for docs/reliability.md:
//! `PROPTEST_CASES=500 cargo test -p cairn --test faults -- --nocapture`.

mod common;
use cairn::{
    Backend, BackupOptions, FaultBackend, FaultPlan, ForgetOptions, InitOptions, ObjectBackend,
    PruneOptions, Repository, RetentionPolicy, RetryBackend, Secret, SnapshotId, StreamSource,
    Subset,
};
use common::noise;
use proptest::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Debug)]
enum Op {
    /// Back up a stream made of these segments (shared across backups).
    Backup(Vec<u8>),
    Forget(u8),
    Prune(u8),
    Restore(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => prop::collection::vec(0u8..12, 1..10).prop_map(Op::Backup),
        1 => (1u8..4).prop_map(Op::Forget),
        1 => (0u8..5).prop_map(Op::Prune),
        2 => any::<u8>().prop_map(Op::Restore),
    ]
}

fn content(segments: &[u8]) -> Vec<u8> {
    segments
        .iter()
        .flat_map(|s| noise(4096 * (1 + usize::from(*s % 4)), u64::from(*s)))
        .collect()
}

/// Running totals over the cases of one test, printed after each case.
struct Tally {
    name: &'static str,
    ops: AtomicU64,
    failed: AtomicU64,
    injected: AtomicU64,
}

impl Tally {
    const fn new(name: &'static str) -> Self {
        Tally {
            name,
            ops: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            injected: AtomicU64::new(0),
        }
    }

    fn report(&self, injected: u64) {
        self.injected.fetch_add(injected, Ordering::Relaxed);
        eprintln!(
            "{}: {} operations, {} failed cleanly, {} faults injected",
            self.name,
            self.ops.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
            self.injected.load(Ordering::Relaxed)
        );
    }
}

static TRANSIENT: Tally = Tally::new("transient faults behind retries");
static PERMANENT: Tally = Tally::new("permanent faults");

fn key() -> Secret {
    Secret::KeyFile([9; 32])
}

/// Runs `ops` against `faulty`, then verifies through `clean` (the same
/// storage without faults).
fn run(
    t: &Tally,
    ops: &[Op],
    clean: Arc<dyn Backend>,
    faulty: Arc<dyn Backend>,
) -> Result<(), TestCaseError> {
    let init = InitOptions::default().pack_size(1 << 20);
    Repository::init(clean.clone(), &key(), init).expect("init");
    // Every backup attempted, and the snapshots known to exist.
    let mut attempted: Vec<Vec<u8>> = Vec::new();
    let mut live: Vec<(SnapshotId, Vec<u8>)> = Vec::new();
    for op in ops {
        t.ops.fetch_add(1, Ordering::Relaxed);
        // Opening may fail too: that is a clean failure of the operation.
        let repo = match Repository::open(faulty.clone(), &key()) {
            Ok(r) => r,
            Err(_) => {
                t.failed.fetch_add(1, Ordering::Relaxed);
                continue;
            }
        };
        let ok = match op {
            Op::Backup(segs) => {
                let data = content(segs);
                attempted.push(data.clone());
                let stream = StreamSource::from_reader("s", std::io::Cursor::new(data.clone()))
                    .with_profile("database");
                let r = repo.backup(BackupOptions::default().streams(vec![stream]).threads(1));
                if let Ok(r) = &r {
                    live.push((r.id, data));
                }
                r.is_ok()
            }
            Op::Forget(keep) => {
                let opts = ForgetOptions::default().policy(RetentionPolicy {
                    last: Some(i64::from(*keep)),
                    ..Default::default()
                });
                repo.forget(opts.clone()).is_ok()
            }
            Op::Prune(t) => {
                let opts = PruneOptions::default()
                    .grace_secs(0)
                    .repack_threshold(f64::from(*t) / 4.0);
                repo.prune(opts.clone()).is_ok()
            }
            Op::Restore(i) => {
                if live.is_empty() {
                    continue;
                }
                let (id, want) = &live[usize::from(*i) % live.len()];
                let mut got = Vec::new();
                match repo.dump(id, "s", &mut got) {
                    // A successful restore under faults is byte-exact.
                    Ok(_) => {
                        prop_assert!(got == *want, "snapshot {id} restored wrong bytes");
                        true
                    }
                    Err(_) => false,
                }
            }
        };
        if !ok {
            t.failed.fetch_add(1, Ordering::Relaxed);
        }
        // What storage holds now decides what the model expects: a failed
        // forget may have removed some snapshots.
        let now = Repository::open(clean.clone(), &key()).expect("open without faults");
        let stored: Vec<SnapshotId> = now
            .snapshots()
            .expect("snapshots")
            .into_iter()
            .map(|s| s.0)
            .collect();
        live.retain(|(id, _)| stored.contains(id));
        let unknown: Vec<SnapshotId> = stored
            .into_iter()
            .filter(|id| !live.iter().any(|(l, _)| l == id))
            .collect();
        for id in &unknown {
            // A backup that reported failure after storing its snapshot:
            // the snapshot must hold one of the attempted streams.
            let mut got = Vec::new();
            now.dump(id, "s", &mut got)
                .expect("an unexpected snapshot restores");
            prop_assert!(
                attempted.contains(&got),
                "snapshot {id} holds bytes never backed up"
            );
            live.push((*id, got));
        }
    }
    let repo = Repository::open(clean, &key()).expect("open without faults");
    for (id, want) in &live {
        let mut got = Vec::new();
        repo.dump(id, "s", &mut got)
            .expect("every stored snapshot restores");
        prop_assert!(got == *want, "snapshot {id} restores wrong bytes");
    }
    let report = repo
        .check(cairn::CheckOptions::default().read_data(Some(Subset::All)))
        .expect("check");
    prop_assert!(
        report.is_clean(),
        "check finds damage: {:?}",
        report.problems
    );
    Ok(())
}

/// Cases per test: 24, or `PROPTEST_CASES` for long runs.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// Transient faults, half-written objects and short reads, behind the
    /// retry decorator (as on S3).
    #[test]
    fn transient_faults_truncated_writes_and_short_reads(
        ops in prop::collection::vec(op(), 1..10),
        p in 0.02f64..0.25,
        seed in any::<u64>(),
    ) {
        let clean: Arc<dyn Backend> = Arc::new(ObjectBackend::memory().expect("memory"));
        let fault = Arc::new(FaultBackend::new(clean.clone(), FaultPlan {
            probability: p,
            seed,
            truncate_writes: true,
            short_reads: true,
            ..Default::default()
        }));
        let faulty: Arc<dyn Backend> = Arc::new(RetryBackend::new(
            fault.clone(),
            12,
            Duration::ZERO,
            Duration::ZERO,
        ));
        let r = run(&TRANSIENT, &ops, clean, faulty);
        TRANSIENT.report(fault.injected());
        r?;
    }

    /// Permanent faults with no retry: operations fail often, and every
    /// failure must leave the repository consistent.
    #[test]
    fn permanent_faults_fail_cleanly(
        ops in prop::collection::vec(op(), 1..10),
        p in 0.01f64..0.15,
        seed in any::<u64>(),
    ) {
        let clean: Arc<dyn Backend> = Arc::new(ObjectBackend::memory().expect("memory"));
        let fault = Arc::new(FaultBackend::new(clean.clone(), FaultPlan {
            probability: p,
            seed,
            permanent: true,
            ..Default::default()
        }));
        let r = run(&PERMANENT, &ops, clean, fault.clone());
        PERMANENT.report(fault.injected());
        r?;
    }
}
