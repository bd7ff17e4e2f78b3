//! Blobs: one chunk of data or one metadata item, compressed and sealed.
//!
//! Plaintext inside the AEAD: `compression (1 byte) || payload`, where
//! compression is 0 (raw) or 1 (zstd). AAD: `"cairn-blob" || kind || id`.

use crate::crypto;
use crate::crypto::Keys;
use crate::error::{Error, Result};
use crate::id::BlobId;
use crate::pool::{BufferPool, Pooled};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What a blob holds. Data and tree blobs live in separate packs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BlobKind {
    /// File or stream content.
    Data,
    /// Metadata: trees and chunk lists.
    Tree,
}

impl BlobKind {
    fn byte(self) -> u8 {
        match self {
            BlobKind::Data => b'D',
            BlobKind::Tree => b'T',
        }
    }
}

const RAW: u8 = 0;
const ZSTD: u8 = 1;

/// Largest plaintext blob any reader accepts (bounds every allocation).
pub const MAX_BLOB_SIZE: u32 = 64 * 1024 * 1024;

fn aad(kind: BlobKind, id: &BlobId) -> [u8; 43] {
    let mut a = [0u8; 43];
    a[..10].copy_from_slice(b"cairn-blob");
    a[10] = kind.byte();
    a[11..].copy_from_slice(&id.0);
    a
}

fn key(keys: &Keys, kind: BlobKind) -> &[u8; 32] {
    match kind {
        BlobKind::Data => &keys.data,
        BlobKind::Tree => &keys.meta,
    }
}

/// Compresses (when it pays) and seals a blob.
pub fn encode(keys: &Keys, kind: BlobKind, id: &BlobId, plain: &[u8], level: i32) -> Vec<u8> {
    encode_buf(keys, kind, id, PlainBuf::copy_of(plain), level).0
}

/// Room a [`PlainBuf`] keeps in front of its plaintext: nonce and flag byte.
const HEADROOM: usize = crypto::NONCE_LEN + 1;

/// A blob's plaintext with room in front for the nonce and flag byte and
/// spare capacity for the tag, so an incompressible blob is sealed where it
/// lies: copying a chunk out of its source is then the only copy.
pub struct PlainBuf(Vec<u8>);

impl PlainBuf {
    /// Copies `data` into a new buffer.
    pub fn copy_of(data: &[u8]) -> Self {
        Self::copy_into(Vec::new(), data)
    }

    /// Copies `data` into `buf` (emptied first; grown when too small).
    pub fn copy_into(buf: Vec<u8>, data: &[u8]) -> Self {
        let mut v = Self::in_buffer(buf, data.len());
        v.0.extend_from_slice(data);
        v
    }

    /// An empty plaintext in `buf` (emptied first), with room for `n` bytes.
    pub fn in_buffer(mut buf: Vec<u8>, n: usize) -> Self {
        buf.clear();
        buf.reserve_exact(Self::capacity_for(n));
        buf.resize(HEADROOM, 0);
        PlainBuf(buf)
    }

    /// The buffer capacity `n` bytes of plaintext need, sealed in place.
    pub const fn capacity_for(n: usize) -> usize {
        HEADROOM + n + crypto::TAG_LEN
    }

    /// The plaintext.
    pub fn data(&self) -> &[u8] {
        &self.0[HEADROOM..]
    }

    /// Plaintext length.
    pub fn len(&self) -> usize {
        self.0.len() - HEADROOM
    }

    /// True when there is no plaintext.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The buffer to append plaintext to (its first bytes are the room).
    pub fn tail(&mut self) -> &mut Vec<u8> {
        &mut self.0
    }

    /// The underlying buffer, for reuse.
    pub fn into_vec(self) -> Vec<u8> {
        self.0
    }
}

impl From<Vec<u8>> for PlainBuf {
    fn from(v: Vec<u8>) -> Self {
        PlainBuf::copy_of(&v)
    }
}

/// [`encode`] for a [`PlainBuf`]. An incompressible blob is sealed in place
/// and its buffer returned; a compressed one gets an exact-size buffer, and
/// the plaintext's buffer comes back second, for reuse.
pub fn encode_buf(
    keys: &Keys,
    kind: BlobKind,
    id: &BlobId,
    plain: PlainBuf,
    level: i32,
) -> (Vec<u8>, Option<Vec<u8>>) {
    let (key, aad) = (key(keys, kind), aad(kind, id));
    let sealed = with_compressed(plain.data(), level, |c| {
        let mut out = Vec::with_capacity(HEADROOM + c.len() + crypto::TAG_LEN);
        out.resize(crypto::NONCE_LEN, 0);
        out.push(ZSTD);
        out.extend_from_slice(c);
        crypto::seal_prepared(key, &aad, &mut out);
        out
    });
    match sealed {
        Some(out) => (out, Some(plain.0)),
        None => {
            let mut buf = plain.0;
            buf[crypto::NONCE_LEN] = RAW;
            crypto::seal_prepared(key, &aad, &mut buf);
            (buf, None)
        }
    }
}

/// Seals `body` (flag byte and payload) exactly as given, without
/// compressing: lets the fuzz targets hand arbitrary frames to [`decode`].
#[doc(hidden)]
pub fn seal_body_for_fuzzing(keys: &Keys, kind: BlobKind, id: &BlobId, body: &[u8]) -> Vec<u8> {
    crypto::seal(key(keys, kind), &aad(kind, id), body)
}

/// A zstd compression context kept for one level.
type LevelCompressor = (i32, zstd::bulk::Compressor<'static>);

thread_local! {
    /// Reusable zstd contexts per thread: the probe level and the main one.
    static COMPRESSORS: std::cell::RefCell<Vec<LevelCompressor>> =
        const { std::cell::RefCell::new(Vec::new()) };
    /// Reusable output buffer per thread for compressed bytes.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// Compresses `data` into `out` (replacing its contents); its length.
fn zstd_compress(data: &[u8], level: i32, out: &mut Vec<u8>) -> Option<usize> {
    out.clear();
    out.reserve(zstd::zstd_safe::compress_bound(data.len()));
    COMPRESSORS.with(|cell| {
        let mut all = cell.borrow_mut();
        let pos = match all.iter().position(|(l, _)| *l == level) {
            Some(p) => p,
            None => {
                if all.len() >= 2 {
                    all.remove(0);
                }
                all.push((level, zstd::bulk::Compressor::new(level).ok()?));
                all.len() - 1
            }
        };
        all[pos].1.compress_to_buffer(data, out).ok()
    })
}

/// Decompresses `data` after the end of `out`, into its spare capacity: a
/// frame larger than that capacity is an error, so the caller's buffer
/// bounds what a hostile frame can make us allocate.
fn zstd_decompress_into(data: &[u8], out: &mut Vec<u8>) -> std::io::Result<usize> {
    DECOMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(zstd::bulk::Decompressor::new()?);
        }
        match slot.as_mut() {
            Some(d) => d.decompress_to_buffer(data, out),
            None => Err(std::io::Error::other("no zstd context")),
        }
    })
}

/// Blobs longer than four times this are probed first: a sample of this
/// size is compressed at level 1, and the blob is stored raw when the
/// sample does not pay, so incompressible data costs almost nothing.
pub const PROBE_SAMPLE: usize = 32 * 1024;

/// Compressed output of `len` bytes is kept only when shorter than this: it
/// must save at least 1/32.
pub const fn pays_below(len: usize) -> usize {
    len - len / 32
}

/// Calls `f` with the compressed bytes when they pay ([`pays_below`]);
/// `None` when compression is off or does not pay.
fn with_compressed<R>(plain: &[u8], level: i32, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
    if level == 0 || plain.len() < 64 {
        return None;
    }
    SCRATCH.with(|cell| {
        let mut out = cell.borrow_mut();
        if plain.len() > 4 * PROBE_SAMPLE {
            let probe = zstd_compress(&plain[..PROBE_SAMPLE], 1, &mut out)?;
            if probe > pays_below(PROBE_SAMPLE) {
                return None;
            }
        }
        let n = zstd_compress(plain, level, &mut out)?;
        (n < pays_below(plain.len())).then(|| f(&out))
    })
}

/// Opens, decompresses and verifies a blob. `what` names the blob's place
/// (pack and offset) for error messages.
pub fn decode(
    keys: &Keys,
    kind: BlobKind,
    id: &BlobId,
    raw_len: u32,
    sealed: &[u8],
    what: &str,
) -> Result<Vec<u8>> {
    // A pool that keeps nothing: the buffers are ordinary allocations.
    let unpooled = Arc::new(BufferPool::new(0));
    decode_pooled(keys, kind, id, raw_len, sealed, what, &unpooled).map(Pooled::into_vec)
}

/// [`decode`] into buffers from `pool`. The plaintext of a raw blob stays
/// where it was decrypted, so it is copied once (out of `sealed`); a
/// compressed one is decompressed into a second pooled buffer.
pub(crate) fn decode_pooled(
    keys: &Keys,
    kind: BlobKind,
    id: &BlobId,
    raw_len: u32,
    sealed: &[u8],
    what: &str,
    pool: &Arc<BufferPool>,
) -> Result<Pooled> {
    check_claim(raw_len, what)?;
    let mut buf = pool.take(sealed.len());
    buf.extend_from_slice(sealed);
    let opened = crypto::open_in_place(key(keys, kind), &aad(kind, id), &mut buf);
    let sealed_buf = Pooled::new(buf, 0..sealed.len(), pool);
    let body = opened.ok_or_else(|| auth_failed(id, what))?;
    if body.is_empty() {
        return Err(Error::corrupt(what, "empty blob"));
    }
    let payload = body.start + 1..body.end;
    let plain = match sealed_buf[body.start] {
        RAW => sealed_buf.narrow(payload),
        ZSTD => {
            let mut out = pool.take(raw_len as usize);
            let n = zstd_decompress_into(&sealed_buf[payload], &mut out)
                .map_err(|e| zstd_failed(id, what, e))?;
            Pooled::new(out, 0..n, pool)
        }
        other => return Err(unknown_flag(other, what)),
    };
    verify(keys, id, raw_len, &plain, what)?;
    Ok(plain)
}

/// Refuses a size claim above the limit before anything is allocated.
fn check_claim(raw_len: u32, what: &str) -> Result<()> {
    if raw_len > MAX_BLOB_SIZE {
        return Err(Error::corrupt(what, format!("blob claims {raw_len} bytes")));
    }
    Ok(())
}

fn auth_failed(id: &BlobId, what: &str) -> Error {
    Error::corrupt(what, format!("blob {id} failed authentication"))
}

fn zstd_failed(id: &BlobId, what: &str, e: std::io::Error) -> Error {
    Error::corrupt(what, format!("blob {id}: zstd: {e}"))
}

fn unknown_flag(flag: u8, what: &str) -> Error {
    Error::corrupt(what, format!("unknown compression {flag}"))
}

/// Checks the plaintext's length and content against the index and its id.
fn verify(keys: &Keys, id: &BlobId, raw_len: u32, plain: &[u8], what: &str) -> Result<()> {
    if plain.len() != raw_len as usize {
        return Err(Error::corrupt(
            what,
            format!("blob {id} has {} bytes, index says {raw_len}", plain.len()),
        ));
    }
    if keys.blob_id(plain) != *id {
        return Err(Error::corrupt(
            what,
            format!("blob {id} content hash mismatch"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{ChunkingSecret, MasterSecret};
    use proptest::prelude::*;

    fn keys() -> Keys {
        let m = MasterSecret([3; 32]);
        Keys::derive(&m, &ChunkingSecret::derive(&m))
    }

    proptest! {
        #[test]
        fn round_trip(data in prop::collection::vec(any::<u8>(), 0..5000), repeat in 1usize..50, level in 0i32..5) {
            let k = keys();
            let plain = data.repeat(repeat);
            let id = k.blob_id(&plain);
            let sealed = encode(&k, BlobKind::Data, &id, &plain, level);
            let back = decode(&k, BlobKind::Data, &id, plain.len() as u32, &sealed, "t").expect("decodes");
            prop_assert_eq!(back, plain);
        }

        /// The in-place path seals raw and compressed blobs alike, and the
        /// result decodes to the same bytes.
        #[test]
        fn plain_buf_round_trip(seed in any::<u64>(), len in 0usize..300_000, text in any::<bool>(), level in 0i32..5) {
            let k = keys();
            let mut rng = seed | 1;
            let plain: Vec<u8> = (0..len).map(|i| {
                rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
                if text { b"INSERT INTO t VALUES "[i % 21] } else { rng as u8 }
            }).collect();
            let id = k.blob_id(&plain);
            let buf = PlainBuf::copy_of(&plain);
            prop_assert_eq!(buf.data(), plain.as_slice());
            let (sealed, _) = encode_buf(&k, BlobKind::Data, &id, buf, level);
            if !text && len > 1000 {
                prop_assert_eq!(sealed.len(), len + 1 + crypto::SEAL_OVERHEAD, "random data is stored raw");
            }
            let back = decode(&k, BlobKind::Data, &id, plain.len() as u32, &sealed, "t").expect("decodes");
            let pool = Arc::new(BufferPool::new(16 << 20));
            let pooled = decode_pooled(&k, BlobKind::Data, &id, plain.len() as u32, &sealed, "t", &pool).expect("decodes");
            prop_assert_eq!(&pooled[..], plain.as_slice());
            prop_assert_eq!(back, plain);
        }
    }

    /// The pooled decoder refuses what the plain one refuses.
    #[test]
    fn pooled_decode_rejects_bad_blobs() {
        let k = keys();
        let pool = Arc::new(BufferPool::new(16 << 20));
        let text = b"some text some text some text some text some text".repeat(10);
        let zeros = vec![0u8; 10 * 1024 * 1024];
        for plain in [text, zeros] {
            let id = k.blob_id(&plain);
            let n = plain.len() as u32;
            let sealed = encode(&k, BlobKind::Data, &id, &plain, 3);
            let d = |kind, id: &BlobId, n, bytes: &[u8]| {
                decode_pooled(&k, kind, id, n, bytes, "t", &pool)
            };
            assert_eq!(
                &d(BlobKind::Data, &id, n, &sealed).expect("decodes")[..],
                plain.as_slice()
            );
            assert!(d(BlobKind::Tree, &id, n, &sealed).is_err(), "wrong kind");
            assert!(
                d(BlobKind::Data, &k.blob_id(b"x"), n, &sealed).is_err(),
                "wrong id"
            );
            assert!(
                d(BlobKind::Data, &id, n - 1, &sealed).is_err(),
                "short claim"
            );
            assert!(
                d(BlobKind::Data, &id, u32::MAX, &sealed).is_err(),
                "huge claim"
            );
            let mut bad = sealed.clone();
            bad[30] ^= 1;
            assert!(d(BlobKind::Data, &id, n, &bad).is_err(), "tampered");
            assert!(
                d(BlobKind::Data, &id, n, &sealed[..20]).is_err(),
                "truncated"
            );
        }
        // A raw blob of random bytes decodes where it was decrypted.
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let plain: Vec<u8> = (0..200_000)
            .map(|_| {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                rng as u8
            })
            .collect();
        let id = k.blob_id(&plain);
        let sealed = encode(&k, BlobKind::Data, &id, &plain, 3);
        assert_eq!(
            sealed.len(),
            plain.len() + 1 + crypto::SEAL_OVERHEAD,
            "stored raw"
        );
        let n = plain.len() as u32;
        let out = decode_pooled(&k, BlobKind::Data, &id, n, &sealed, "t", &pool).expect("decodes");
        assert_eq!(&out[..], plain.as_slice());
    }

    #[test]
    fn swapped_kind_or_id_is_rejected() {
        let k = keys();
        let plain = b"some text some text some text some text some text".repeat(10);
        let id = k.blob_id(&plain);
        let sealed = encode(&k, BlobKind::Data, &id, &plain, 3);
        let n = plain.len() as u32;
        assert!(decode(&k, BlobKind::Tree, &id, n, &sealed, "t").is_err());
        let other = k.blob_id(b"x");
        assert!(decode(&k, BlobKind::Data, &other, n, &sealed, "t").is_err());
        assert!(decode(&k, BlobKind::Data, &id, n - 1, &sealed, "t").is_err());
    }

    #[test]
    fn bomb_is_refused() {
        let k = keys();
        let plain = vec![0u8; 10 * 1024 * 1024];
        let id = k.blob_id(&plain);
        let sealed = encode(&k, BlobKind::Data, &id, &plain, 3);
        assert!(sealed.len() < 10_000, "zeros compress");
        // An index that under-reports the size cannot make us allocate more.
        let err = decode(&k, BlobKind::Data, &id, 1024, &sealed, "t").expect_err("refused");
        assert!(matches!(err, Error::Corrupt { .. }));
        let err = decode(&k, BlobKind::Data, &id, u32::MAX, &sealed, "t").expect_err("refused");
        assert!(matches!(err, Error::Corrupt { .. }));
    }
}
