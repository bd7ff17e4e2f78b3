//! Model-based target: random backup, forget, prune and restore sequences
//! on an in-memory repository, checked against a plain list of what each
//! live snapshot must restore to.

use crate::backend::{Backend, ObjectBackend};
use crate::ops::forget::ForgetOptions;
use crate::ops::prune::PruneOptions;
use crate::ops::retention::RetentionPolicy;
use crate::{BackupOptions, InitOptions, Repository, Secret, StreamSource};
use std::sync::Arc;

/// Most operations one input runs.
const MAX_OPS: usize = 12;

/// Reads the input a byte at a time; zeros once it runs out.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let (b, rest) = self.0.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.0 = rest;
        b
    }
}

/// Builds stream content from segments named by input bytes: the same
/// byte gives the same 1..=8 KiB segment, so snapshots share chunks.
fn content(input: &mut Input<'_>) -> Vec<u8> {
    let segments = input.byte() % 16;
    let mut out = Vec::new();
    for _ in 0..segments {
        let seg = input.byte();
        let len = 1024 * (1 + usize::from(seg % 8));
        let mut x = u64::from(seg).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        out.extend((0..len).map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 56) as u8
        }));
    }
    out
}

/// What the model expects: live snapshots, oldest first, with their bytes.
type Live = Vec<(crate::id::SnapshotId, Vec<u8>)>;

fn backup(repo: &Repository, live: &mut Live, input: &mut Input<'_>) {
    let data = content(input);
    let stream = StreamSource::from_reader("model", std::io::Cursor::new(data.clone()))
        .with_profile(crate::config::PROFILE_DATABASE);
    let opts = BackupOptions {
        streams: vec![stream],
        threads: 1,
        ..Default::default()
    };
    let r = repo
        .backup(opts)
        .expect("backup on a healthy store succeeds");
    live.push((r.id, data));
}

fn forget(repo: &Repository, live: &mut Live, input: &mut Input<'_>) {
    let keep = i64::from(input.byte() % 4) + 1;
    let opts = ForgetOptions {
        policy: RetentionPolicy {
            last: Some(keep),
            ..Default::default()
        },
        ..Default::default()
    };
    repo.forget(opts).expect("forget succeeds");
    let drop = live.len().saturating_sub(keep as usize);
    live.drain(..drop);
}

fn prune(repo: &Repository, input: &mut Input<'_>) {
    let opts = PruneOptions {
        grace_secs: 0,
        repack_threshold: f64::from(input.byte() % 5) / 4.0,
        ..Default::default()
    };
    repo.prune(opts).expect("prune succeeds");
}

fn restore(repo: &Repository, live: &Live, input: &mut Input<'_>) {
    if live.is_empty() {
        return;
    }
    let (id, want) = &live[usize::from(input.byte()) % live.len()];
    let mut got = Vec::new();
    repo.dump(id, "model", &mut got).expect("dump succeeds");
    assert!(got == *want, "snapshot {id} restores different bytes");
}

/// Runs the operations the input describes, then checks that exactly the
/// model's snapshots exist, that each restores its bytes, and that `check
/// --read-data` finds nothing.
pub fn model(data: &[u8]) {
    let mut input = Input(data);
    let backend: Arc<dyn Backend> = Arc::new(ObjectBackend::memory().expect("memory backend"));
    let init = InitOptions {
        pack_size: 1 << 20,
        ..Default::default()
    };
    let repo = Repository::init(backend, &Secret::KeyFile([7; 32]), init).expect("init");
    let mut live = Live::new();
    for _ in 0..MAX_OPS {
        if input.0.is_empty() {
            break;
        }
        match input.byte() % 4 {
            0 => backup(&repo, &mut live, &mut input),
            1 => forget(&repo, &mut live, &mut input),
            2 => prune(&repo, &mut input),
            _ => restore(&repo, &live, &mut input),
        }
    }
    let mut stored: Vec<_> = repo
        .snapshots()
        .expect("snapshots")
        .into_iter()
        .map(|s| s.0)
        .collect();
    let mut expected: Vec<_> = live.iter().map(|s| s.0).collect();
    stored.sort();
    expected.sort();
    assert_eq!(
        stored, expected,
        "the repository holds other snapshots than the model"
    );
    for i in 0..live.len() {
        restore(&repo, &live, &mut Input(&[i as u8]));
    }
    let report = repo
        .check(crate::CheckOptions::default().read_data(Some(crate::ops::check::Subset::All)))
        .expect("check runs");
    assert!(
        report.is_clean(),
        "check finds problems: {:?}",
        report.problems
    );
}
