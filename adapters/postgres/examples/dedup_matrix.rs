//! Measures what a second backup adds, for several average chunk sizes.
//!
//! usage: dedup_matrix DAY1 DAY2
//!
//! DAY1/DAY2 are two dumps of the same database on consecutive days: files
//! (custom format or plain SQL, backed up as streams) or directories
//! (directory format, backed up as file trees). For each average chunk size
//! (min = avg/4, max = avg*4) it backs up DAY1, then DAY2 into a fresh
//! in-memory repository and prints the bytes the second backup stored.
//! Used by benches/pg-dedup.sh; the figures are in docs/adapters/postgres.md.

use cairn::{
    Argon2Params, BackupOptions, ChunkerParams, InitOptions, ObjectBackend, ParentChoice,
    Repository, Secret, StreamSource,
};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

fn pack_bytes(repo: &Repository) -> u64 {
    repo.stats(cairn::StatsOptions::default())
        .map(|s| s.pack_bytes)
        .unwrap_or(0)
}

fn backup(repo: &Repository, path: &Path) -> cairn::Result<cairn::BackupReport> {
    let mut opts = BackupOptions::default().parent(ParentChoice::None);
    if path.is_dir() {
        opts.paths = vec![path.to_path_buf()];
    } else {
        let f = std::fs::File::open(path)?;
        opts.streams = vec![StreamSource::from_reader("dump", f).with_profile("database")];
    }
    repo.backup(opts)
}

fn main() -> cairn::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, day1, day2] = args.as_slice() else {
        eprintln!("usage: dedup_matrix DAY1 DAY2");
        std::process::exit(2);
    };
    println!("avg_kib\tday2_raw_mb\tadded_raw_mb\tadded_stored_mb\tadded_pct_of_day2");
    for avg_kib in [16u32, 64, 256, 1024] {
        let avg = avg_kib * 1024;
        let p = ChunkerParams {
            min_size: avg / 4,
            avg_size: avg,
            max_size: avg * 4,
        };
        let profiles = BTreeMap::from([("files".to_string(), p), ("database".to_string(), p)]);
        let b = Arc::new(ObjectBackend::memory()?);
        let init = InitOptions::default()
            .argon2(Argon2Params::insecure_for_tests())
            .profiles(Some(profiles));
        let repo = Repository::init(b, &Secret::passphrase("bench"), init)?;
        backup(&repo, Path::new(day1))?;
        let before = pack_bytes(&repo);
        let second = backup(&repo, Path::new(day2))?;
        let added = pack_bytes(&repo) - before;
        let s = &second.snapshot.summary;
        println!(
            "{avg_kib}\t{:.1}\t{:.1}\t{:.1}\t{:.1}",
            s.total_bytes as f64 / 1e6,
            s.raw_bytes_added as f64 / 1e6,
            added as f64 / 1e6,
            100.0 * s.raw_bytes_added as f64 / s.total_bytes.max(1) as f64
        );
    }
    Ok(())
}
