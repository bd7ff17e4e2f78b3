//! Version-1 trees (written before 2026-12-01), read and converted.

use super::{Content, Hole};
use crate::id::BlobId;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct Meta {
    mode: u32,
    mtime_ns: i64,
    ctime_ns: i64,
    uid: u32,
    gid: u32,
    inode: u64,
    dev: u64,
}

#[derive(Deserialize)]
enum NodeKind {
    File {
        size: u64,
        content: Content,
    },
    Dir {
        subtree: BlobId,
    },
    Symlink {
        target: Vec<u8>,
    },
    Stream {
        size: u64,
        content: Content,
        info: BTreeMap<String, String>,
    },
}

#[derive(Deserialize)]
struct Node {
    name: Vec<u8>,
    kind: NodeKind,
    meta: Meta,
}

/// A version-1 tree.
#[derive(Deserialize)]
pub(super) struct Tree {
    nodes: Vec<Node>,
}

impl From<Tree> for super::Tree {
    fn from(t: Tree) -> Self {
        let nodes = t
            .nodes
            .into_iter()
            .map(|n| super::Node {
                name: n.name,
                kind: match n.kind {
                    NodeKind::File { size, content } => super::NodeKind::File {
                        size,
                        content,
                        holes: Vec::<Hole>::new(),
                    },
                    NodeKind::Dir { subtree } => super::NodeKind::Dir { subtree },
                    NodeKind::Symlink { target } => super::NodeKind::Symlink { target },
                    NodeKind::Stream {
                        size,
                        content,
                        info,
                    } => super::NodeKind::Stream {
                        size,
                        content,
                        info,
                    },
                },
                // Version 1 kept no atime (restore used the mtime), no
                // names, link counts or extended attributes.
                meta: super::Meta {
                    mode: n.meta.mode,
                    uid: n.meta.uid,
                    gid: n.meta.gid,
                    mtime_ns: n.meta.mtime_ns,
                    atime_ns: n.meta.mtime_ns,
                    ctime_ns: n.meta.ctime_ns,
                    inode: n.meta.inode,
                    dev: n.meta.dev,
                    ..super::Meta::default()
                },
            })
            .collect();
        super::Tree { nodes }
    }
}
