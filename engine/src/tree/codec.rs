//! The bytes of a tree blob.
//!
//! Version 2: [`TREE_V2_PREFIX`] (ten bytes: the postcard varint of
//! `u64::MAX`, which a version-1 reader takes for a node count it cannot
//! read, so it fails instead of misreading), one version byte (2), then
//! `postcard(Tree)`. Anything without the prefix is a version-1 tree.

use super::{v1, Tree};
use crate::envelope;
use crate::error::{Error, Result};

/// The first bytes of every version-2 tree blob.
pub const TREE_V2_PREFIX: [u8; 10] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01];

/// The tree version this build writes.
const TREE_VERSION: u8 = 2;

/// A tree blob's plaintext.
pub fn encode_tree(tree: &Tree) -> Vec<u8> {
    let body = envelope::encode(tree);
    let mut out = Vec::with_capacity(TREE_V2_PREFIX.len() + 1 + body.len());
    out.extend_from_slice(&TREE_V2_PREFIX);
    out.push(TREE_VERSION);
    out.extend_from_slice(&body);
    out
}

/// Decodes a tree blob's plaintext, of either version.
pub fn decode_tree(bytes: &[u8], what: &str) -> Result<Tree> {
    match bytes.strip_prefix(&TREE_V2_PREFIX[..]) {
        Some([TREE_VERSION, body @ ..]) => envelope::decode(body, what),
        Some([v, ..]) => Err(Error::UnsupportedVersion {
            what: what.to_string(),
            found: u32::from(*v),
            supported: u32::from(TREE_VERSION),
        }),
        Some([]) => Err(Error::corrupt(what, "tree version missing")),
        None => envelope::decode::<v1::Tree>(bytes, what).map(Tree::from),
    }
}
