//! One fuzz entry per decoder of repository bytes.

use super::keys;
use crate::blob::BlobKind;
use crate::config::{Config, FORMAT_VERSION};
use crate::crypto;
use crate::envelope::{self, EnvelopeKind};
use crate::id::BlobId;
use crate::index::{IndexFile, MemIndex, INDEX_VERSION};
use crate::keyslot::{KeySlot, Secret};
use crate::pack;
use crate::snapshot::{Snapshot, SNAPSHOT_VERSION};
use crate::tree::Tree;
use serde::de::DeserializeOwned;

/// Opens `data` as an envelope, and seals it as a body and opens that.
fn envelope_both<T: DeserializeOwned>(kind: EnvelopeKind, version: u32, data: &[u8]) -> Vec<T> {
    let key = keys().meta;
    let mut out = Vec::new();
    if let Ok(v) = envelope::open::<T>(kind, version, &key, data, "fuzz") {
        out.push(v);
    }
    let h = envelope::header(kind, version);
    let mut sealed = h.to_vec();
    sealed.extend_from_slice(&crypto::seal(&key, &h, data));
    if let Ok(v) = envelope::open::<T>(kind, version, &key, &sealed, "fuzz") {
        out.push(v);
    }
    out
}

/// A pack's tail: trailer parsing, then a header sealed from `data`.
pub fn pack_header(data: &[u8]) {
    let key = keys().meta;
    let len = data.len() as u64;
    if data.len() >= pack::TRAILER_LEN {
        let _ = pack::header_region_len(&data[data.len() - pack::TRAILER_LEN..]);
    }
    let _ = pack::decode_header(&key, data, len, "fuzz");
    // The same bytes as a decrypted header: sealed with the right key and
    // given a valid trailer, so decoding and the bounds checks run.
    let mut sealed = crypto::seal(&key, b"cairn-pack-header-v1", data);
    let hlen = sealed.len() as u32;
    sealed.extend_from_slice(&hlen.to_le_bytes());
    sealed.extend_from_slice(pack::PACK_MAGIC);
    let claimed = u64::from(data.first().copied().unwrap_or(0)) << 12;
    let _ = pack::decode_header(&key, &sealed, claimed + sealed.len() as u64, "fuzz");
}

/// An index file, then its packs loaded into the in-memory index.
pub fn index_file(data: &[u8]) {
    for f in envelope_both::<IndexFile>(EnvelopeKind::Index, INDEX_VERSION, data) {
        let mut idx = MemIndex::new();
        for p in f.packs {
            idx.add_pack(p.id, p.kind, p.size, &p.blobs);
        }
        idx.compact();
        let _ = idx.get(&BlobId([0; 32]));
    }
    for p in envelope_both::<crate::ops::check_progress::CheckProgress>(
        EnvelopeKind::Check,
        crate::ops::check_progress::CHECK_PROGRESS_VERSION,
        data,
    ) {
        let packs = vec![
            (crate::id::PackId([1; 32]), 10),
            (crate::id::PackId([9; 32]), 10),
        ];
        let _ = crate::ops::check_progress::rotate(packs, &p, 2, Some(5), 0);
    }
}

/// A snapshot.
pub fn snapshot(data: &[u8]) {
    for s in envelope_both::<Snapshot>(EnvelopeKind::Snapshot, SNAPSHOT_VERSION, data) {
        let _ = s.time_string();
    }
}

/// Session markers (versions 2 and 3), deletion plans and check progress
/// records: the files prune and check decide from.
pub fn gc_files(data: &[u8]) {
    let key = keys().meta;
    let name = "ab".repeat(32);
    for version in [2u32, crate::gc::SESSION_VERSION] {
        let h = envelope::header(EnvelopeKind::Session, version);
        let mut sealed = h.to_vec();
        sealed.extend_from_slice(&crypto::seal(&key, &h, data));
        for bytes in [data, &sealed[..]] {
            if let Ok(s) = crate::gc::Session::decode(bytes, &key, &name) {
                let _ = s.is_dead_here();
            }
        }
    }
    for p in envelope_both::<crate::gc::Plan>(EnvelopeKind::Plan, crate::gc::PLAN_VERSION, data) {
        let mut idx = MemIndex::new();
        for pack in p.packs {
            idx.add_doomed_pack(pack.id, pack.kind, pack.size, &pack.blobs);
        }
        let _ = idx.get(&BlobId([0; 32]));
    }
}

/// A tree, decoded directly and through the blob codec.
pub fn tree(data: &[u8]) {
    if let Ok(t) = envelope::decode::<Tree>(data, "fuzz") {
        for n in &t.nodes {
            let _ = (n.name_lossy(), n.size(), n.type_char());
        }
    }
    let k = keys();
    let id = k.blob_id(data);
    let sealed = crate::blob::encode(&k, BlobKind::Tree, &id, data, 3);
    if let Ok(plain) =
        crate::blob::decode(&k, BlobKind::Tree, &id, data.len() as u32, &sealed, "fuzz")
    {
        let _ = envelope::decode::<Tree>(&plain, "fuzz");
    }
}

/// A key slot, and an unlock attempt with a key-file secret (never a
/// passphrase: argon2 costs are bounded, but a 1 GiB slot per input would
/// slow the fuzzer to a crawl).
pub fn key_slot(data: &[u8]) {
    // The bytes as a whole file, and as a body given a valid header and
    // checksum so that the decoder behind the checksum is reached.
    let mut file = envelope::header(EnvelopeKind::Key, crate::keyslot::KEY_VERSION).to_vec();
    file.extend_from_slice(data);
    let sum = blake3::hash(&file);
    file.extend_from_slice(sum.as_bytes());
    for bytes in [data, &file[..]] {
        if let Ok(slot) = KeySlot::from_bytes(bytes, "fuzz") {
            if matches!(slot.kdf, crate::crypto::Kdf::Blake3 { .. }) {
                let _ = slot.unwrap_master(&Secret::KeyFile([7; 32]));
            }
        }
    }
}

/// A config, then the checks `Repository::open` applies.
pub fn config(data: &[u8]) {
    for c in envelope_both::<Config>(EnvelopeKind::Config, FORMAT_VERSION, data) {
        if c.validate().is_ok() {
            for name in c.profiles.keys() {
                let p = c.profile(name).expect("listed profile");
                let _ = crate::chunker::Chunker::new(p, 1);
            }
        }
    }
}

/// A sealed blob: raw bytes with a claimed length, and `data` sealed as a
/// blob body (flag byte plus payload), so zstd frames from the fuzzer reach
/// the decompressor with every claimed size.
pub fn blob(data: &[u8]) {
    let k = keys();
    let (claim, rest) = match data.split_first_chunk::<4>() {
        Some((c, r)) => (u32::from_le_bytes(*c), r),
        None => (0, data),
    };
    let id = BlobId(*blake3::hash(rest).as_bytes());
    let _ = crate::blob::decode(&k, BlobKind::Data, &id, claim, rest, "fuzz");
    let sealed = crate::blob::seal_body_for_fuzzing(&k, BlobKind::Data, &id, rest);
    let _ = crate::blob::decode(&k, BlobKind::Data, &id, claim, &sealed, "fuzz");
}
