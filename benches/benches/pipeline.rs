//! The end-to-end backup of an in-memory stream into the memory backend,
//! next to the throughput its primitives allow on this machine.
//!
//! `cargo bench -p cairn-benches --bench pipeline` (set CAIRN_BENCH_MIB to
//! change the input size, default 512; CI uses 32).

use cairn::backend::ObjectBackend;
use cairn::chunker::{Chunker, ChunkerParams};
use cairn::crypto::{ChunkingSecret, Keys, MasterSecret};
use cairn::{
    Argon2Params, BackupOptions, InitOptions, ParentChoice, Repository, Secret, StreamSource,
};
use cairn_benches::{random, sql};
use std::sync::Arc;
use std::time::Instant;

fn mbps(bytes: usize, secs: f64) -> f64 {
    bytes as f64 / 1e6 / secs
}

fn time(f: impl FnOnce()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64()
}

/// Seconds per byte of each single-threaded primitive over `data`.
fn primitive_costs(data: &[u8], level: i32) -> [(&'static str, f64); 4] {
    let m = MasterSecret::generate();
    let keys = Keys::derive(&m, &ChunkingSecret::derive(&m));
    let ch = Chunker::new(ChunkerParams::files(), 7).expect("params");
    let ranges: Vec<_> = ch.slice_chunks(data).collect();
    let chunk_s = time(|| {
        std::hint::black_box(ch.slice_chunks(data).count());
    });
    let hash_s = time(|| {
        for r in &ranges {
            std::hint::black_box(keys.blob_id(&data[r.clone()]));
        }
    });
    let mut compressed = Vec::new();
    let mut z = zstd::bulk::Compressor::new(level).expect("zstd");
    let zstd_s = time(|| {
        for r in &ranges {
            compressed.push(z.compress(&data[r.clone()]).expect("zstd"));
        }
    });
    let seal_s = time(|| {
        for c in &compressed {
            std::hint::black_box(cairn::crypto::seal(&[1; 32], b"a", c));
        }
    });
    let n = data.len() as f64;
    [
        ("fastcdc", chunk_s / n),
        ("blake3", hash_s / n),
        ("zstd", zstd_s / n),
        ("xchacha20poly1305", seal_s / n),
    ]
}

fn backup_mbps(data: &[u8]) -> f64 {
    let b = Arc::new(ObjectBackend::memory().expect("memory"));
    let repo = Repository::init(
        b,
        &Secret::passphrase("bench"),
        InitOptions {
            argon2: Argon2Params::insecure_for_tests(),
            ..Default::default()
        },
    )
    .expect("init");
    let owned = data.to_vec();
    let secs = time(|| {
        repo.backup(BackupOptions {
            streams: vec![StreamSource::from_reader("s", std::io::Cursor::new(owned))],
            parent: ParentChoice::None,
            ..Default::default()
        })
        .expect("backup");
    });
    mbps(data.len(), secs)
}

fn main() {
    let mib: usize = std::env::var("CAIRN_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1) as f64;
    println!("pipeline bench: {mib} MiB per input, {cores} cores, zstd level 3, files profile");
    println!(
        "{:<8} {:>12} {:>12} {:>12} {:>14} {:>10}",
        "input", "fastcdc", "blake3", "zstd-3", "ceiling", "backup"
    );
    for (name, data) in [("random", random(mib << 20, 1)), ("sql", sql(mib << 20, 2))] {
        let costs = primitive_costs(&data, 3);
        // Incompressible chunks skip zstd after a 32 KiB probe (3%).
        let zstd_share = if name == "random" { 0.03 } else { 1.0 };
        let per_byte: f64 = costs
            .iter()
            .map(|(n, c)| if *n == "zstd" { c * zstd_share } else { *c })
            .sum();
        let ceiling = cores / per_byte / 1e6;
        let got = backup_mbps(&data);
        println!(
            "{name:<8} {:>9.0} MB/s {:>9.0} MB/s {:>9.0} MB/s {:>9.0} MB/s {:>7.0} MB/s ({:.0}% of ceiling)",
            1.0 / costs[0].1 / 1e6,
            1.0 / costs[1].1 / 1e6,
            1.0 / costs[2].1 / 1e6,
            ceiling,
            got,
            100.0 * got / ceiling
        );
    }
}
