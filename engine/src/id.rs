//! Typed 32-byte identifiers.
//!
//! Every id is 32 bytes, printed as 64 lowercase hex characters. The macro
//! gives each kind of id its own type so a pack id can never be passed where
//! a snapshot id is expected.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! define_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
        pub struct $name(pub [u8; 32]);

        impl $name {
            /// Lowercase hex form (64 characters).
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }

            /// The first 8 hex characters, for display.
            pub fn short(&self) -> String {
                hex::encode(&self.0[..4])
            }

            /// Parses the 64-character hex form.
            pub fn from_hex(s: &str) -> Result<Self> {
                let mut out = [0u8; 32];
                hex::decode_to_slice(s, &mut out).map_err(|e| {
                    Error::invalid(format!("{s:?} is not a valid {}: {e}", stringify!($name)))
                })?;
                Ok(Self(out))
            }

            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.short())
            }
        }
    };
}

define_id!(
    /// Id of a blob: keyed BLAKE3 of its plaintext (data chunk or tree).
    BlobId
);
define_id!(
    /// Id of a pack file: BLAKE3 of its full stored bytes.
    PackId
);
define_id!(
    /// Id of a snapshot file: BLAKE3 of its stored bytes.
    SnapshotId
);
define_id!(
    /// Id of an index file: BLAKE3 of its stored bytes.
    IndexId
);
define_id!(
    /// Id of a key slot file (random).
    KeyId
);
define_id!(
    /// Random id of a repository, fixed at init.
    RepoId
);

/// Fills a fresh 32-byte array from the OS random source.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    // The OS RNG failing is not recoverable and cannot be worked around safely.
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut out).expect("the operating system random source failed");
    out
}

/// Content hash used to name packs, snapshots and index files.
pub fn content_hash(data: &[u8]) -> [u8; 32] {
    *blake3::hash(data).as_bytes()
}
