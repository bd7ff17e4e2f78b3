//! Trees: one directory level of a snapshot, stored as a tree blob.
//!
//! Tree blobs are written in version 2 ([`codec`]): a prefix that a
//! version-1 reader cannot take for a tree, then the nodes with full Unix
//! metadata (owners by id and name, atime, link count, extended attributes
//! and ACLs, holes of sparse files, FIFOs, devices and sockets). Version-1
//! trees are still read ([`v1`]).

mod codec;
mod v1;

pub use codec::{decode_tree, encode_tree, TREE_V2_PREFIX};

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

/// One extended attribute (POSIX ACLs are the `system.posix_acl_access`
/// and `system.posix_acl_default` attributes).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Xattr {
    /// Attribute name, e.g. `user.comment`.
    pub name: Vec<u8>,
    /// Raw value.
    pub value: Vec<u8>,
}

/// The file changed while it was read: its content is what was read, which
/// may mix old and new bytes, or stop short.
pub const FLAG_CHANGED: u32 = 1;

/// Unix metadata of a node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// Permission and type bits (`st_mode`).
    pub mode: u32,
    /// Owner id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
    /// Owner name at backup time (empty when unknown).
    pub user: String,
    /// Group name at backup time (empty when unknown).
    pub group: String,
    /// Modification time, Unix nanoseconds.
    pub mtime_ns: i64,
    /// Access time, Unix nanoseconds.
    pub atime_ns: i64,
    /// Status-change time, Unix nanoseconds (recorded, never restored).
    pub ctime_ns: i64,
    /// Inode number (unchanged-file detection, hard links).
    pub inode: u64,
    /// Device number of the file system holding it.
    pub dev: u64,
    /// Hard link count.
    pub nlink: u64,
    /// Extended attributes, sorted by name.
    pub xattrs: Vec<Xattr>,
    /// [`FLAG_CHANGED`] and future flags.
    pub flags: u32,
}

/// A hole of a sparse file: `len` bytes from `offset` read as zeros and
/// occupy no disk space.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hole {
    /// Start offset.
    pub offset: u64,
    /// Length in bytes.
    pub len: u64,
}

/// What a node is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeKind {
    /// A regular file.
    File {
        /// Size in bytes.
        size: u64,
        /// Its chunks (holes included, as zeros).
        content: Content,
        /// Holes of a sparse file, sorted, not overlapping; empty when the
        /// file has none.
        holes: Vec<Hole>,
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
    /// A named pipe.
    Fifo,
    /// A character device.
    CharDevice {
        /// Device number (`st_rdev`).
        rdev: u64,
    },
    /// A block device.
    BlockDevice {
        /// Device number (`st_rdev`).
        rdev: u64,
    },
    /// A Unix socket (recorded; restore skips it, as a socket belongs to
    /// the process that listens on it).
    Socket,
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

    /// Size in bytes (0 for everything but files and streams).
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
            NodeKind::Fifo => 'p',
            NodeKind::CharDevice { .. } => 'c',
            NodeKind::BlockDevice { .. } => 'b',
            NodeKind::Socket => '=',
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

    /// Checks that the names are valid path components, unique and sorted
    /// bytewise (restore and lookups rely on all three).
    pub fn check_names(&self) -> Result<(), String> {
        for (i, node) in self.nodes.iter().enumerate() {
            check_name(&node.name)?;
            if let Some(prev) = i.checked_sub(1).map(|p| &self.nodes[p]) {
                if prev.name >= node.name {
                    return Err(format!(
                        "names not unique and sorted: {:?} before {:?}",
                        prev.name_lossy(),
                        node.name_lossy()
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
