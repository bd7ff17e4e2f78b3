//! The end-to-end backup of an in-memory stream into the memory backend,
//! next to the throughput its primitives allow on this machine.
//!
//! `cargo bench -p cairn-benches --bench pipeline` (set CAIRN_BENCH_MIB to
//! change the input size, default 512; CAIRN_BENCH_ROUNDS for the rounds
//! each figure is the median of, default 5; CAIRN_BENCH_INPUT=random or sql
//! runs one input).

use cairn::{
    raw::{
        blob::{pays_below, PROBE_SAMPLE},
        chunker::Chunker,
        crypto::{ChunkingSecret, Keys, MasterSecret},
    },
    Argon2Params, Backend, BackupOptions, ChunkerParams, FileKind, InitOptions, ObjectBackend,
    ParentChoice, Repository, Secret, StreamSource,
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
            std::hint::black_box(cairn::raw::crypto::seal(&[1; 32], b"a", c));
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

/// The primitives alone as a streaming pipeline, the ceiling the brief
/// measures: this thread cuts the stream and copies each chunk out, and one
/// worker per core names, compresses and seals it. Nothing is packed,
/// indexed or stored. With `probe`, compression follows the engine's rule
/// (a 32 KiB level-1 sample decides whether a large chunk is compressed,
/// and output that saves under 1/32 is dropped); without it every chunk
/// goes through zstd. With [`Mode::ProbeStore`], a further thread gathers
/// the sealed chunks into 16 MiB packs and puts them into a memory backend,
/// as the engine must.
fn primitive_pipeline_mbps(data: &[u8], level: i32, mode: Mode, workers: usize) -> f64 {
    let probe = mode != Mode::Plain;
    let m = MasterSecret::generate();
    let keys = Arc::new(Keys::derive(&m, &ChunkingSecret::derive(&m)));
    let ch = Chunker::new(ChunkerParams::files(), 7).expect("params");
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(workers * 2);
    let rx = Arc::new(std::sync::Mutex::new(rx));
    let (sealed_tx, sealed_rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(workers * 2);
    let secs = time(|| {
        let store =
            (mode == Mode::ProbeStore).then(|| std::thread::spawn(move || store_packs(sealed_rx)));
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let (rx, keys, out) = (rx.clone(), keys.clone(), sealed_tx.clone());
                std::thread::spawn(move || {
                    let mut z1 = zstd::bulk::Compressor::new(1).expect("zstd");
                    let mut z = zstd::bulk::Compressor::new(level).expect("zstd");
                    loop {
                        let Ok(chunk) = rx.lock().expect("lock").recv() else {
                            return;
                        };
                        let id = keys.blob_id(&chunk);
                        let skip = probe && chunk.len() > 4 * PROBE_SAMPLE && {
                            let sample = z1.compress(&chunk[..PROBE_SAMPLE]).expect("zstd");
                            sample.len() > pays_below(PROBE_SAMPLE)
                        };
                        let packed = (!skip).then(|| z.compress(&chunk).expect("zstd"));
                        let body = match packed {
                            Some(c) if !probe || c.len() < pays_below(chunk.len()) => c,
                            _ => chunk,
                        };
                        let sealed = cairn::raw::crypto::seal(&[1; 32], &id.0, &body);
                        if mode == Mode::ProbeStore {
                            out.send(sealed).expect("store thread");
                        } else {
                            std::hint::black_box(sealed);
                        }
                    }
                })
            })
            .collect();
        let mut stream = ch.stream(std::io::Cursor::new(data));
        while let Some(chunk) = stream.next_chunk().expect("read") {
            tx.send(chunk.to_vec()).expect("send");
        }
        drop(tx);
        for h in handles {
            h.join().expect("worker");
        }
        drop(sealed_tx);
        if let Some(s) = store {
            s.join().expect("store");
        }
    });
    mbps(data.len(), secs)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// What the primitive pipeline does with each chunk.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// zstd on every chunk; the sealed chunk is dropped.
    Plain,
    /// The engine's compressibility probe; the sealed chunk is dropped.
    Probe,
    /// The probe, and the sealed chunks are stored as packs.
    ProbeStore,
}

/// Puts sealed chunks into a memory backend as packs of about 16 MiB.
fn store_packs(rx: std::sync::mpsc::Receiver<Vec<u8>>) {
    let backend = ObjectBackend::memory().expect("memory");
    let (mut parts, mut size, mut n) = (Vec::new(), 0, 0u64);
    let put = |parts: Vec<bytes::Bytes>, n: u64| {
        let name = format!("{n:064x}");
        backend
            .create_parts(FileKind::Pack, &name, parts)
            .expect("put");
    };
    for sealed in rx {
        size += sealed.len();
        parts.push(bytes::Bytes::from(sealed));
        if size >= 16 << 20 {
            put(std::mem::take(&mut parts), n);
            (size, n) = (0, n + 1);
        }
    }
    if !parts.is_empty() {
        put(parts, n);
    }
}

fn backup_mbps(data: &[u8]) -> f64 {
    let b = Arc::new(ObjectBackend::memory().expect("memory"));
    let repo = Repository::init(
        b,
        &Secret::passphrase("bench"),
        InitOptions::default().argon2(Argon2Params::insecure_for_tests()),
    )
    .expect("init");
    let owned = data.to_vec();
    let secs = time(|| {
        repo.backup(
            BackupOptions::default()
                .streams(vec![StreamSource::from_reader(
                    "s",
                    std::io::Cursor::new(owned),
                )])
                .parent(ParentChoice::None),
        )
        .expect("backup");
    });
    mbps(data.len(), secs)
}

fn main() {
    let mib: usize = std::env::var("CAIRN_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512);
    let reps: usize = std::env::var("CAIRN_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    println!("pipeline bench: {mib} MiB per input, {cores} cores, zstd level 3, files profile, median of {reps} rounds");
    println!("  single-core primitives, MB/s: fastcdc, keyed blake3, zstd-3 on every chunk, seal");
    println!(
        "  sum: {cores} cores / the sum of the primitives' costs per byte (probe rule on random)"
    );
    println!("  stream: the primitives as a streaming {cores}-worker pipeline, no storage");
    println!("  +probe: the same with the engine's compressibility probe");
    println!("  +store: the same, storing the sealed chunks as packs in a memory backend");
    println!(
        "{:<7} {:>6} {:>6} {:>6} {:>6} | {:>6} {:>6} {:>6} {:>6} | {:>6}  of: stream +probe +store",
        "input", "cdc", "blake3", "zstd-3", "seal", "sum", "stream", "+probe", "+store", "backup",
    );
    // CAIRN_BENCH_INPUT=random or sql runs one input only (for profiling).
    let only = std::env::var("CAIRN_BENCH_INPUT").unwrap_or_default();
    for name in ["random", "sql"] {
        if !only.is_empty() && only != name {
            continue;
        }
        let data = if name == "random" {
            random(mib << 20, 1)
        } else {
            sql(mib << 20, 2)
        };
        let costs = primitive_costs(&data, 3);
        // Incompressible chunks skip zstd after a 32 KiB probe (3%).
        let zstd_share = if name == "random" { 0.03 } else { 1.0 };
        let per_byte: f64 = costs
            .iter()
            .map(|(n, c)| if *n == "zstd" { c * zstd_share } else { *c })
            .sum();
        let sum = cores as f64 / per_byte / 1e6;
        // Rounds interleave the four pipelines, so a slow minute of the
        // machine hits them alike; each figure is the median of its rounds.
        let mut rounds: [Vec<f64>; 4] = Default::default();
        for _ in 0..reps {
            rounds[0].push(primitive_pipeline_mbps(&data, 3, Mode::Plain, cores));
            rounds[1].push(primitive_pipeline_mbps(&data, 3, Mode::Probe, cores));
            rounds[2].push(primitive_pipeline_mbps(&data, 3, Mode::ProbeStore, cores));
            rounds[3].push(backup_mbps(&data));
        }
        let [stream, probed, stored, got] = rounds.map(median);
        let single = |i: usize| 1.0 / costs[i].1 / 1e6;
        let pct = |c: f64| 100.0 * got / c;
        println!(
            "{name:<7} {:>6.0} {:>6.0} {:>6.0} {:>6.0} | {sum:>6.0} {stream:>6.0} {probed:>6.0} {stored:>6.0} | {got:>6.0}  of: {:>5.0}% {:>5.0}% {:>5.0}%",
            single(0),
            single(1),
            single(2),
            single(3),
            pct(stream),
            pct(probed),
            pct(stored),
        );
    }
}
