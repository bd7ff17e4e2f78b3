//! Trees: one directory level of a snapshot, stored as a tree blob.

use crate::id::BlobId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Content lists longer than this are moved into chunk-list blobs.
pub const INLINE_CHUNKS: usize = 256;
/// Chunk ids per chunk-list blob (256 KiB of ids).
pub const CHUNKS_PER_LIST: usize = 8192;

/// A file's or stream's chunk list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Content {
    /// The chunk ids themselves.
    Inline(Vec<BlobId>),
    /// Ids of chunk-list tree blobs, each a postcard `Vec<BlobId>`, to be
    /// concatenated in order. Keeps one node small for a stream of millions
    /// of chunks.
    Indirect(Vec<BlobId>),
}

impl Default for Content {
    fn default() -> Self {
        Content::Inline(Vec::new())
    }
}

/// Unix metadata of a node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// Permission and type bits (`st_mode`).
    pub mode: u32,
    /// Modification time, Unix nanoseconds.
    pub mtime_ns: i64,
    /// Status-change time, Unix nanoseconds.
    pub ctime_ns: i64,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Inode number (used to detect unchanged files).
    pub inode: u64,
    /// Device number.
    pub dev: u64,
}

/// What a node is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeKind {
    /// A regular file.
    File {
        /// Size in bytes.
        size: u64,
        /// Its chunks.
        content: Content,
    },
    /// A directory.
    Dir {
        /// Tree blob of its entries.
        subtree: BlobId,
    },
    /// A symbolic link.
    Symlink {
        /// Link target, raw bytes.
        target: Vec<u8>,
    },
    /// A named stream (stdin, a command, an adapter's dump).
    Stream {
        /// Size in bytes.
        size: u64,
        /// Its chunks.
        content: Content,
        /// Free-form facts from the source (tool versions, sizes, ...).
        info: BTreeMap<String, String>,
    },
}

/// One entry of a tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// File name: raw bytes, one path component.
    pub name: Vec<u8>,
    /// Kind and kind-specific data.
    pub kind: NodeKind,
    /// Unix metadata.
    pub meta: Meta,
}

impl Node {
    /// The name as (lossy) text.
    pub fn name_lossy(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }

    /// Size in bytes (0 for directories and symlinks).
    pub fn size(&self) -> u64 {
        match &self.kind {
            NodeKind::File { size, .. } | NodeKind::Stream { size, .. } => *size,
            _ => 0,
        }
    }

    /// Content, for files and streams.
    pub fn content(&self) -> Option<&Content> {
        match &self.kind {
            NodeKind::File { content, .. } | NodeKind::Stream { content, .. } => Some(content),
            _ => None,
        }
    }

    /// Single-letter type for listings.
    pub fn type_char(&self) -> char {
        match self.kind {
            NodeKind::File { .. } => 'f',
            NodeKind::Dir { .. } => 'd',
            NodeKind::Symlink { .. } => 'l',
            NodeKind::Stream { .. } => 's',
        }
    }
}

/// Checks that `name` is one safe path component: not empty, not `.` or
/// `..`, and without `/` or NUL. A tree from storage is checked before any
/// of its names is used on a local file system.
pub fn check_name(name: &[u8]) -> Result<(), String> {
    let bad = name.is_empty()
        || name == b"."
        || name == b".."
        || name.contains(&b'/')
        || name.contains(&0);
    match bad {
        true => Err(format!(
            "unsafe file name {:?}",
            String::from_utf8_lossy(name)
        )),
        false => Ok(()),
    }
}

/// One directory level, nodes sorted by name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tree {
    /// The entries.
    pub nodes: Vec<Node>,
}

impl Tree {
    /// Finds a node by name (nodes are sorted).
    pub fn find(&self, name: &[u8]) -> Option<&Node> {
        self.nodes
            .binary_search_by(|n| n.name.as_slice().cmp(name))
            .ok()
            .map(|i| &self.nodes[i])
    }

    /// Sorts nodes by name.
    pub fn sort(&mut self) {
        self.nodes.sort_by(|a, b| a.name.cmp(&b.name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope;
    use proptest::prelude::*;

    fn arb_node() -> impl Strategy<Value = Node> {
        let kind = prop_oneof![
            (any::<u64>(), prop::collection::vec(any::<[u8; 32]>(), 0..5)).prop_map(
                |(size, ids)| NodeKind::File {
                    size,
                    content: Content::Inline(ids.into_iter().map(BlobId).collect())
                }
            ),
            any::<[u8; 32]>().prop_map(|id| NodeKind::Dir {
                subtree: BlobId(id)
            }),
            any::<Vec<u8>>().prop_map(|target| NodeKind::Symlink { target }),
            (
                any::<u64>(),
                prop::collection::vec(any::<[u8; 32]>(), 0..3),
                any::<BTreeMap<String, String>>()
            )
                .prop_map(|(size, ids, info)| NodeKind::Stream {
                    size,
                    content: Content::Indirect(ids.into_iter().map(BlobId).collect()),
                    info
                }),
        ];
        let meta =
            (any::<u32>(), any::<i64>(), any::<u64>()).prop_map(|(mode, mtime_ns, inode)| Meta {
                mode,
                mtime_ns,
                inode,
                ..Meta::default()
            });
        (any::<Vec<u8>>(), kind, meta).prop_map(|(name, kind, meta)| Node { name, kind, meta })
    }

    proptest! {
        #[test]
        fn round_trip(nodes in prop::collection::vec(arb_node(), 0..10)) {
            let t = Tree { nodes };
            let back: Tree = envelope::decode(&envelope::encode(&t), "t").expect("decodes");
            prop_assert_eq!(back, t);
        }
    }
}
