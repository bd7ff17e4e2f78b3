//! cairn-tune: measure throughput and reduction on a sample of your own
//! data for a grid of chunk sizes, zstd levels and thread counts, and
//! recommend settings.
//!
//! usage: cairn-tune PATH [--sample-mb N]     (a file or a directory)
//!        cairn-tune - [--sample-mb N]        (a stream on stdin)
//!
//! Each setting backs the sample up into a fresh in-memory repository, so
//! nothing is written to disk and the figures are the engine's alone.

use cairn::{
    Argon2Params, BackupOptions, ChunkerParams, InitOptions, ObjectBackend, ParentChoice,
    Repository, Secret, StreamSource,
};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

enum Sample {
    Stream(Vec<u8>),
    Path(PathBuf),
}

struct Run {
    avg_kib: u32,
    level: i32,
    threads: usize,
    mbps: f64,
    stored: u64,
    raw: u64,
}

fn run(sample: &Sample, avg_kib: u32, level: i32, threads: usize) -> cairn::Result<Run> {
    let avg = avg_kib * 1024;
    let p = ChunkerParams {
        min_size: avg / 4,
        avg_size: avg,
        max_size: avg * 4,
    };
    let profiles = BTreeMap::from([("files".to_string(), p), ("database".to_string(), p)]);
    let init = InitOptions::default()
        .argon2(Argon2Params::insecure_for_tests())
        .profiles(Some(profiles))
        .compression_level(level);
    let repo = Repository::init(
        Arc::new(ObjectBackend::memory()?),
        &Secret::passphrase("tune"),
        init,
    )?;
    let mut opts = BackupOptions::default()
        .parent(ParentChoice::None)
        .threads(threads);
    match sample {
        Sample::Stream(d) => {
            opts.streams = vec![StreamSource::from_reader(
                "sample",
                std::io::Cursor::new(d.clone()),
            )]
        }
        Sample::Path(p) => opts.paths = vec![p.clone()],
    }
    let t = Instant::now();
    let res = repo.backup(opts)?;
    let secs = t.elapsed().as_secs_f64();
    let s = &res.snapshot.summary;
    Ok(Run {
        avg_kib,
        level,
        threads,
        mbps: s.total_bytes as f64 / 1e6 / secs,
        stored: repo.stats(cairn::StatsOptions::default())?.pack_bytes,
        raw: s.total_bytes,
    })
}

fn show(r: &Run) {
    println!(
        "{:>8} KiB  zstd {:>2}  {:>2} threads  {:>8.0} MB/s  stored {:>8.1} MB  reduction {:>5.2}x",
        r.avg_kib,
        r.level,
        r.threads,
        r.mbps,
        r.stored as f64 / 1e6,
        r.raw as f64 / r.stored.max(1) as f64
    );
}

fn main() -> cairn::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(target) = args.first() else {
        eprintln!("usage: cairn-tune PATH|- [--sample-mb N]");
        std::process::exit(2);
    };
    let sample_mb: usize = args
        .iter()
        .position(|a| a == "--sample-mb")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let sample = if target == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .take((sample_mb << 20) as u64)
            .read_to_end(&mut buf)?;
        Sample::Stream(buf)
    } else if std::path::Path::new(target).is_file() {
        let mut buf = Vec::new();
        std::fs::File::open(target)?
            .take((sample_mb << 20) as u64)
            .read_to_end(&mut buf)?;
        Sample::Stream(buf)
    } else {
        Sample::Path(PathBuf::from(target))
    };
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    println!("stage 1: chunk size (zstd 3, {cores} threads)");
    let mut by_size = Vec::new();
    for avg in [16, 64, 256, 1024] {
        let r = run(&sample, avg, 3, cores)?;
        show(&r);
        by_size.push(r);
    }
    let smallest = by_size.iter().map(|r| r.stored).min().unwrap_or(0);
    let fastest = by_size.iter().map(|r| r.mbps).fold(0.0, f64::max);
    // Largest chunks (cheapest index, fastest) whose stored size is within 2% of the best.
    let size = by_size
        .iter()
        .filter(|r| r.stored as f64 <= smallest as f64 * 1.02)
        .max_by(|a, b| a.mbps.total_cmp(&b.mbps))
        .map(|r| r.avg_kib)
        .unwrap_or(1024);
    println!("stage 2: zstd level ({size} KiB chunks, {cores} threads)");
    let mut by_level = Vec::new();
    for level in [0, 1, 3, 6, 9] {
        let r = run(&sample, size, level, cores)?;
        show(&r);
        by_level.push(r);
    }
    let best = by_level.iter().map(|r| r.stored).min().unwrap_or(0);
    let level = by_level
        .iter()
        .filter(|r| r.stored as f64 <= best as f64 * 1.02)
        .max_by(|a, b| a.mbps.total_cmp(&b.mbps))
        .map(|r| r.level)
        .unwrap_or(3);
    println!("stage 3: threads ({size} KiB, zstd {level})");
    for threads in (1..=cores.max(2)).collect::<Vec<_>>() {
        show(&run(&sample, size, level, threads)?);
    }
    println!();
    println!("recommendation: average chunk size {size} KiB (min {} KiB, max {} KiB), zstd level {level}, {cores} threads", size / 4, size * 4);
    println!("  (largest chunks and fastest level whose stored size is within 2% of the best; fastest chunk setting ran at {fastest:.0} MB/s)");
    println!("  cairn init --compression {level} --files-chunk-kib {size}   (or --database-chunk-kib for dump streams)");
    Ok(())
}
