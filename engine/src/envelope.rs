//! The envelope every encrypted repository file (config, index, snapshot)
//! shares, and the postcard encoding of its contents.
//!
//! Layout: `magic "CRN" (3) || kind (1) || version u32 LE (4) || sealed body`.
//! The 8-byte header is the AAD of the sealed body, so a file cannot be
//! passed off as another kind or version.

use crate::crypto;
use crate::error::{Error, Result};
use serde::{de::DeserializeOwned, Serialize};

/// Magic prefix of every envelope.
pub const MAGIC: &[u8; 3] = b"CRN";
/// Length of the plaintext header.
pub const HEADER_LEN: usize = 8;

/// The kinds of enveloped files and their kind byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnvelopeKind {
    /// `config`.
    Config = b'C' as isize,
    /// `keys/<id>`: not sealed as a whole, see `keyslot` and the format document.
    Key = b'K' as isize,
    /// `index/<id>`.
    Index = b'I' as isize,
    /// `snapshots/<id>`.
    Snapshot = b'S' as isize,
    /// `garbage/<id>`: a deletion plan.
    Plan = b'G' as isize,
    /// `sessions/<id>`: a running backup.
    Session = b'L' as isize,
    /// `checks/<id>`: progress of a rotating data check.
    Check = b'R' as isize,
}

impl EnvelopeKind {
    fn name(self) -> &'static str {
        match self {
            EnvelopeKind::Config => "config",
            EnvelopeKind::Key => "key slot",
            EnvelopeKind::Index => "index file",
            EnvelopeKind::Snapshot => "snapshot",
            EnvelopeKind::Plan => "deletion plan",
            EnvelopeKind::Session => "session marker",
            EnvelopeKind::Check => "check progress record",
        }
    }
}

/// Builds the 8-byte header.
pub fn header(kind: EnvelopeKind, version: u32) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..3].copy_from_slice(MAGIC);
    h[3] = kind as u8;
    h[4..].copy_from_slice(&version.to_le_bytes());
    h
}

/// Checks the header and returns the body after it.
pub fn check_header<'a>(
    kind: EnvelopeKind,
    supported: u32,
    bytes: &'a [u8],
    what: &str,
) -> Result<&'a [u8]> {
    if bytes.len() < HEADER_LEN || &bytes[..3] != MAGIC || bytes[3] != kind as u8 {
        return Err(Error::corrupt(
            what,
            format!("not a cairn {} (bad magic)", kind.name()),
        ));
    }
    let mut v = [0u8; 4];
    v.copy_from_slice(&bytes[4..8]);
    let version = u32::from_le_bytes(v);
    if version == 0 || version > supported {
        return Err(Error::UnsupportedVersion {
            what: what.to_string(),
            found: version,
            supported,
        });
    }
    Ok(&bytes[HEADER_LEN..])
}

/// The version in an envelope's header (for structures read in several
/// versions); `Corrupt` without the magic.
pub fn header_version(bytes: &[u8], what: &str) -> Result<u32> {
    if bytes.len() < HEADER_LEN || &bytes[..3] != MAGIC {
        return Err(Error::corrupt(what, "not a cairn file (bad magic)"));
    }
    let mut v = [0u8; 4];
    v.copy_from_slice(&bytes[4..8]);
    Ok(u32::from_le_bytes(v))
}

/// Serialises `value` with postcard, seals it, and prefixes the header.
pub fn seal<T: Serialize>(kind: EnvelopeKind, version: u32, key: &[u8; 32], value: &T) -> Vec<u8> {
    let h = header(kind, version);
    let plain = encode(value);
    let mut out = Vec::with_capacity(HEADER_LEN + plain.len() + crypto::SEAL_OVERHEAD);
    out.extend_from_slice(&h);
    out.extend_from_slice(&crypto::seal(key, &h, &plain));
    out
}

/// Opens an envelope written by [`seal`].
pub fn open<T: DeserializeOwned>(
    kind: EnvelopeKind,
    supported: u32,
    key: &[u8; 32],
    bytes: &[u8],
    what: &str,
) -> Result<T> {
    let body = check_header(kind, supported, bytes, what)?;
    let plain = crypto::open(key, &bytes[..HEADER_LEN], body).ok_or_else(|| {
        Error::corrupt(
            what,
            "authentication failed (tampered, truncated, or sealed with another key)",
        )
    })?;
    decode(&plain, what)
}

/// postcard encoding; infallible for the engine's own types.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_allocvec(value).unwrap_or_default()
}

/// postcard decoding with a clear error naming the object.
pub fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T> {
    postcard::from_bytes(bytes).map_err(|e| Error::corrupt(what, format!("cannot decode: {e}")))
}
