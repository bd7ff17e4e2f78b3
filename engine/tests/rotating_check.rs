//! `check` with a rotating read: M runs read every pack exactly once,
//! whoever runs them, and damage is found in the run that reads it.

use cairn::{
    Argon2Params, Backend, BackupOptions, CheckOptions, FileKind, InitOptions, ObjectBackend,
    Repository, Secret, StreamSource, Subset,
};
use std::sync::Arc;

fn repo_with_packs() -> (Arc<ObjectBackend>, Repository) {
    let backend = Arc::new(ObjectBackend::memory().expect("memory"));
    let opts = InitOptions::default().argon2(Argon2Params::insecure_for_tests());
    let repo = Repository::init(backend.clone(), &Secret::passphrase("pw"), opts).expect("init");
    for i in 0..6u32 {
        let data: Vec<u8> = (0..300_000u32)
            .map(|x| (x.wrapping_mul(i + 3) >> 5) as u8)
            .collect();
        let s = StreamSource::from_reader(format!("s{i}"), std::io::Cursor::new(data));
        repo.backup(BackupOptions::default().streams(vec![s]))
            .expect("backup");
    }
    (backend, repo)
}

fn rotate(repo: &Repository, m: u32) -> cairn::CheckReport {
    repo.check(CheckOptions::default().read_data(Some(Subset::Rotate(m))))
        .expect("check")
}

#[test]
fn m_rotating_checks_read_every_pack_once_and_then_start_again() {
    let (backend, repo) = repo_with_packs();
    let total = repo.check(CheckOptions::default()).expect("check").packs;
    assert!(total >= 6, "{total} packs");
    let m = 4;
    let reads: Vec<u64> = (0..m).map(|_| rotate(&repo, m).packs_read).collect();
    assert_eq!(reads.iter().sum::<u64>(), total, "{reads:?}");
    assert!(reads.iter().all(|r| *r > 0), "{reads:?}");
    let p = repo.check_progress().expect("progress");
    assert_eq!(p.cycle, 1);
    assert_eq!(p.cursor, None);
    // Another client (a second open, as another machine) continues it.
    let other = Repository::open(backend.clone(), &Secret::passphrase("pw")).expect("open");
    let next = rotate(&other, m);
    assert_eq!(
        next.packs_read, reads[0],
        "the next rotation starts from the first pack"
    );
    assert_eq!(next.rotation.expect("rotation").cycle, 1);
    assert!(!backend.list(FileKind::Check).expect("list").is_empty());
}

#[test]
fn a_byte_budget_caps_every_kind_of_read() {
    let (_, repo) = repo_with_packs();
    let all = repo
        .check(CheckOptions::default().read_data(Some(Subset::All)))
        .expect("check");
    let capped = repo
        .check(
            CheckOptions::default()
                .read_data(Some(Subset::All))
                .max_bytes(Some(1)),
        )
        .expect("check");
    assert_eq!(
        capped.packs_read, 1,
        "at least one pack, and no more than the budget"
    );
    assert!(capped.bytes_read < all.bytes_read);
    let half = all.bytes_read / 2;
    let r = repo
        .check(
            CheckOptions::default()
                .read_data(Some(Subset::Rotate(1)))
                .max_bytes(Some(half)),
        )
        .expect("check");
    assert!(r.bytes_read <= half && r.packs_read >= 1);
    assert!(
        r.rotation.expect("rotation").cursor.is_some(),
        "the rotation is not done yet"
    );
}

#[test]
fn damage_is_found_by_the_run_that_reads_the_damaged_pack() {
    let (backend, repo) = repo_with_packs();
    let mut packs = backend.list(FileKind::Pack).expect("packs");
    packs.sort();
    // Damage a data pack: one whose damage only a read finds (a damaged
    // tree pack fails the structure check of every run).
    let replace = |name: &str, bytes: Vec<u8>| {
        backend.delete(FileKind::Pack, name).expect("delete");
        backend
            .create(FileKind::Pack, name, bytes.into())
            .expect("write");
    };
    let victim = packs
        .iter()
        .find(|(name, _)| {
            let good = backend.read(FileKind::Pack, name).expect("read").to_vec();
            let mut bad = good.clone();
            bad[40] ^= 0xff;
            replace(name, bad);
            if repo
                .check(CheckOptions::default())
                .expect("check")
                .is_clean()
            {
                return true;
            }
            replace(name, good);
            false
        })
        .expect("a data pack");
    println!("damaged pack {}", victim.0);
    let m = 3;
    let found: Vec<bool> = (0..m).map(|_| !rotate(&repo, m).is_clean()).collect();
    assert_eq!(found.iter().filter(|f| **f).count(), 1, "{found:?}");
}
