//! The encrypted pack header and the trailer that locates it.

use crate::blob::BlobKind;
use crate::crypto;
use crate::envelope;
use crate::error::{Error, Result};
use crate::id::BlobId;
use serde::{Deserialize, Serialize};

/// Trailer magic; the digit is the pack format version.
pub const PACK_MAGIC: &[u8; 8] = b"CRNPACK1";
/// Trailer length: header length (u32) plus magic.
pub const TRAILER_LEN: usize = 12;
const HEADER_AAD: &[u8] = b"cairn-pack-header-v1";
/// Upper bound on a header, checked before any allocation.
const MAX_HEADER: u32 = 256 * 1024 * 1024;

/// Where one blob sits in its pack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackBlob {
    /// Blob id.
    pub id: BlobId,
    /// Offset of the sealed blob from the start of the pack.
    pub offset: u32,
    /// Sealed length.
    pub length: u32,
    /// Plaintext length.
    pub raw_len: u32,
}

/// Decrypted pack header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackHeader {
    /// Kind shared by all blobs of the pack.
    pub kind: BlobKind,
    /// The blobs, in file order.
    pub blobs: Vec<PackBlob>,
}

/// Seals a header and appends the trailer. Returns the bytes to append.
pub fn encode_header(meta_key: &[u8; 32], header: &PackHeader) -> Vec<u8> {
    let sealed = crypto::seal(meta_key, HEADER_AAD, &envelope::encode(header));
    let mut out = sealed;
    out.extend_from_slice(&(out.len() as u32).to_le_bytes());
    out.extend_from_slice(PACK_MAGIC);
    out
}

/// Decodes the header from the tail of a pack. `tail` must end at the end
/// of the pack and contain at least the header and trailer; `pack_len` is
/// the full pack size, used to check blob bounds.
pub fn decode_header(
    meta_key: &[u8; 32],
    tail: &[u8],
    pack_len: u64,
    what: &str,
) -> Result<PackHeader> {
    if tail.len() < TRAILER_LEN || &tail[tail.len() - 8..] != PACK_MAGIC {
        let magic = &tail[tail.len().saturating_sub(8)..];
        if magic.len() == 8 && &magic[..7] == b"CRNPACK" && magic[7].is_ascii_digit() {
            return Err(Error::UnsupportedVersion {
                what: what.to_string(),
                found: u32::from(magic[7] - b'0'),
                supported: 1,
            });
        }
        return Err(Error::corrupt(what, "missing pack trailer (truncated?)"));
    }
    let n = tail.len();
    let mut len = [0u8; 4];
    len.copy_from_slice(&tail[n - 12..n - 8]);
    let hlen = u32::from_le_bytes(len);
    if hlen > MAX_HEADER || hlen as usize + TRAILER_LEN > n {
        return Err(Error::corrupt(
            what,
            format!("header length {hlen} out of range"),
        ));
    }
    let start = n - TRAILER_LEN - hlen as usize;
    let plain = crypto::open(meta_key, HEADER_AAD, &tail[start..n - TRAILER_LEN])
        .ok_or_else(|| Error::corrupt(what, "pack header failed authentication"))?;
    let header: PackHeader = envelope::decode(&plain, what)?;
    let blobs_end = pack_len.saturating_sub((hlen as usize + TRAILER_LEN) as u64);
    for b in &header.blobs {
        if u64::from(b.offset) + u64::from(b.length) > blobs_end {
            return Err(Error::corrupt(
                what,
                format!("blob {} lies outside the pack", b.id),
            ));
        }
    }
    Ok(header)
}

/// Length of the header+trailer region, read from the trailer alone.
pub fn header_region_len(trailer: &[u8]) -> Option<u64> {
    if trailer.len() != TRAILER_LEN || &trailer[4..] != PACK_MAGIC {
        return None;
    }
    let mut len = [0u8; 4];
    len.copy_from_slice(&trailer[..4]);
    Some(u64::from(u32::from_le_bytes(len)) + TRAILER_LEN as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_blob() -> impl Strategy<Value = PackBlob> {
        (any::<[u8; 32]>(), 0u32..1000, 0u32..1000, any::<u32>()).prop_map(|(id, o, l, r)| {
            PackBlob {
                id: BlobId(id),
                offset: o,
                length: l,
                raw_len: r,
            }
        })
    }

    proptest! {
        #[test]
        fn round_trip(blobs in prop::collection::vec(arb_blob(), 0..50), tree in any::<bool>()) {
            let kind = if tree { BlobKind::Tree } else { BlobKind::Data };
            let h = PackHeader { kind, blobs };
            let mut pack = vec![0u8; 2000];
            pack.extend_from_slice(&encode_header(&[9; 32], &h));
            let back = decode_header(&[9; 32], &pack, pack.len() as u64, "p").expect("decodes");
            prop_assert_eq!(back, h);
        }
    }

    #[test]
    fn truncation_and_tampering_fail() {
        let h = PackHeader {
            kind: BlobKind::Data,
            blobs: vec![],
        };
        let enc = encode_header(&[1; 32], &h);
        assert!(decode_header(&[1; 32], &enc[..enc.len() - 1], 100, "p").is_err());
        let mut bad = enc.clone();
        bad[0] ^= 1;
        assert!(decode_header(&[1; 32], &bad, 100, "p").is_err());
        assert!(decode_header(&[2; 32], &enc, 100, "p").is_err());
    }
}
