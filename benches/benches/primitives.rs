//! Criterion micro benchmarks of the engine's primitives, on incompressible
//! data and on SQL-dump-like text.
//!
//! `cargo bench -p cairn-benches --bench primitives`

use cairn::{
    raw::{
        blob::{self, BlobKind},
        chunker::Chunker,
        crypto::{ChunkingSecret, Keys, MasterSecret},
        index::MemIndex,
        pack::{PackBlob, PackWriter},
    },
    BlobId, ChunkerParams, PackId,
};
use cairn_benches::{random, sql};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;

const MIB: usize = 1 << 20;

fn inputs() -> [(&'static str, Vec<u8>); 2] {
    [("random", random(16 * MIB, 1)), ("sql", sql(16 * MIB, 2))]
}

fn keys() -> Keys {
    let m = MasterSecret::generate();
    Keys::derive(&m, &ChunkingSecret::derive(&m))
}

fn chunking(c: &mut Criterion) {
    let mut g = c.benchmark_group("fastcdc");
    for (name, data) in inputs() {
        g.throughput(Throughput::Bytes(data.len() as u64));
        for (pname, p) in [
            ("files-1MiB", ChunkerParams::files()),
            ("database-16KiB", ChunkerParams::database()),
        ] {
            let ch = Chunker::new(p, 0x1234).expect("params");
            g.bench_with_input(BenchmarkId::new(pname, name), &data, |b, d| {
                b.iter(|| ch.slice_chunks(black_box(d)).count())
            });
            // The fastcdc crate's own sequential loop, same cut points.
            let (min, avg, max) = (
                p.min_size as usize,
                p.avg_size as usize,
                p.max_size as usize,
            );
            let level = fastcdc::v2020::Normalization::Level1;
            g.bench_with_input(
                BenchmarkId::new(format!("{pname}-crate"), name),
                &data,
                |b, d| {
                    b.iter(|| {
                        fastcdc::v2020::FastCDC::with_level_and_seed(
                            black_box(d),
                            min,
                            avg,
                            max,
                            level,
                            0x1234,
                        )
                        .count()
                    })
                },
            );
        }
    }
    g.finish();
}

fn hashing(c: &mut Criterion) {
    let k = keys();
    let mut g = c.benchmark_group("blake3-keyed");
    for (name, data) in inputs() {
        g.throughput(Throughput::Bytes(MIB as u64));
        g.bench_with_input(BenchmarkId::new("1MiB", name), &data[..MIB], |b, d| {
            b.iter(|| k.blob_id(black_box(d)))
        });
    }
    g.finish();
}

fn compression(c: &mut Criterion) {
    let mut g = c.benchmark_group("zstd");
    for (name, data) in inputs() {
        g.throughput(Throughput::Bytes(MIB as u64));
        for level in [1, 3, 6] {
            let mut z = zstd::bulk::Compressor::new(level).expect("zstd");
            g.bench_with_input(
                BenchmarkId::new(format!("level-{level}"), name),
                &data[..MIB],
                |b, d| b.iter(|| z.compress(black_box(d)).expect("compress")),
            );
        }
    }
    g.finish();
}

fn encryption(c: &mut Criterion) {
    let mut g = c.benchmark_group("xchacha20poly1305");
    let data = random(MIB, 3);
    g.throughput(Throughput::Bytes(MIB as u64));
    g.bench_function("seal-1MiB", |b| {
        b.iter(|| cairn::raw::crypto::seal(&[7; 32], b"aad", black_box(&data)))
    });
    let sealed = cairn::raw::crypto::seal(&[7; 32], b"aad", &data);
    g.bench_function("open-1MiB", |b| {
        b.iter(|| cairn::raw::crypto::open(&[7; 32], b"aad", black_box(&sealed)))
    });
    g.finish();
}

fn blobs(c: &mut Criterion) {
    let k = keys();
    let mut g = c.benchmark_group("blob-encode");
    for (name, data) in inputs() {
        let chunk = &data[..MIB];
        let id = k.blob_id(chunk);
        g.throughput(Throughput::Bytes(MIB as u64));
        g.bench_with_input(BenchmarkId::new("zstd3+seal", name), chunk, |b, d| {
            b.iter(|| blob::encode(&k, BlobKind::Data, &id, black_box(d), 3))
        });
    }
    g.finish();
}

fn packing(c: &mut Criterion) {
    let sealed: Vec<Vec<u8>> = (0..16).map(|i| random(MIB, 10 + i)).collect();
    let mut g = c.benchmark_group("pack-writer");
    g.throughput(Throughput::Bytes(16 * MIB as u64));
    g.bench_function("16x1MiB+header+id", |b| {
        b.iter(|| {
            let mut w = PackWriter::new(BlobKind::Data);
            for (i, s) in sealed.iter().enumerate() {
                w.add(BlobId([i as u8; 32]), MIB as u32, s.clone());
            }
            let p = w.finish(&[1; 32]);
            black_box(p.id())
        })
    });
    g.finish();
}

fn index(c: &mut Criterion) {
    let n = 100_000u32;
    let blobs: Vec<PackBlob> = (0..n)
        .map(|i| PackBlob {
            id: BlobId(*blake3::hash(&i.to_le_bytes()).as_bytes()),
            offset: i,
            length: 100,
            raw_len: 100,
        })
        .collect();
    let mut g = c.benchmark_group("index");
    g.throughput(Throughput::Elements(u64::from(n)));
    g.bench_function("insert-100k", |b| {
        b.iter(|| {
            let mut idx = MemIndex::new();
            for (i, chunk) in blobs.chunks(1000).enumerate() {
                idx.add_pack(PackId([i as u8; 32]), BlobKind::Data, 1, chunk);
            }
            idx.compact();
            black_box(idx.len())
        })
    });
    let mut idx = MemIndex::new();
    idx.add_pack(PackId([1; 32]), BlobKind::Data, 1, &blobs);
    idx.compact();
    g.bench_function("lookup-100k", |b| {
        b.iter(|| {
            blobs
                .iter()
                .filter(|p| idx.contains(black_box(&p.id)))
                .count()
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    chunking,
    hashing,
    compression,
    encryption,
    blobs,
    packing,
    index
);
criterion_main!(benches);
