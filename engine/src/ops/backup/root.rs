//! Assembling the root tree from source paths and named streams.

use super::files::{meta_of, save_tree, Walker};
use crate::error::{Error, Result};
use crate::id::BlobId;
use crate::repo::Repository;
use crate::tree::{Meta, Node, NodeKind, Tree};
use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// A directory level above the sources, built in memory.
#[derive(Default)]
pub(crate) struct VDir {
    meta: Meta,
    children: BTreeMap<Vec<u8>, VEntry>,
}

enum VEntry {
    Node(Node),
    Dir(VDir),
}

/// Splits an absolute, normalised path into name components.
pub(crate) fn components(path: &Path) -> Vec<Vec<u8>> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.as_bytes().to_vec()),
            _ => None,
        })
        .collect()
}

/// Makes a path absolute and removes `.` and `..` lexically.
pub(crate) fn normalize(path: &Path) -> Result<PathBuf> {
    let abs = std::path::absolute(path).map_err(|e| Error::io(path, e))?;
    let mut out = PathBuf::from("/");
    for c in abs.components() {
        match c {
            Component::Normal(s) => out.push(s),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Splits a stream name into components, refusing empty, `.` and `..`.
pub(crate) fn stream_components(name: &str) -> Result<Vec<Vec<u8>>> {
    let parts: Vec<&str> = name.split('/').collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || *p == "." || *p == "..")
    {
        return Err(Error::invalid(format!(
            "stream name {name:?} must be non-empty path components separated by '/'"
        )));
    }
    Ok(parts.into_iter().map(|p| p.as_bytes().to_vec()).collect())
}

fn dir_meta() -> Meta {
    Meta {
        mode: 0o040755,
        mtime_ns: crate::snapshot::now_ns(),
        ..Meta::default()
    }
}

impl VDir {
    /// The directory at `comps`, created with the metadata `meta_at(i)`.
    fn dir_at(&mut self, comps: &[Vec<u8>], meta_at: &dyn Fn(usize) -> Meta) -> Result<&mut VDir> {
        let mut cur = self;
        for (i, c) in comps.iter().enumerate() {
            let entry = cur.children.entry(c.clone()).or_insert_with(|| {
                VEntry::Dir(VDir {
                    meta: meta_at(i),
                    children: BTreeMap::new(),
                })
            });
            cur = match entry {
                VEntry::Dir(d) => d,
                VEntry::Node(_) => {
                    return Err(Error::invalid(format!(
                        "{:?} is both an entry and a directory in this backup",
                        String::from_utf8_lossy(c)
                    )))
                }
            };
        }
        Ok(cur)
    }

    /// Places a node at `comps` (the last component is its name).
    pub fn insert(
        &mut self,
        comps: &[Vec<u8>],
        node: Node,
        meta_at: &dyn Fn(usize) -> Meta,
    ) -> Result<()> {
        let (_, dirs) = comps
            .split_last()
            .ok_or_else(|| Error::invalid("empty path"))?;
        let d = self.dir_at(dirs, meta_at)?;
        if d.children
            .insert(node.name.clone(), VEntry::Node(node))
            .is_some()
        {
            return Err(Error::invalid(format!(
                "two sources share the name {:?}",
                String::from_utf8_lossy(comps.last().map(Vec::as_slice).unwrap_or_default())
            )));
        }
        Ok(())
    }

    /// Adds nodes at the top level (backing up `/` itself).
    pub fn merge_nodes(&mut self, nodes: Vec<Node>) {
        for n in nodes {
            self.children.insert(n.name.clone(), VEntry::Node(n));
        }
    }

    /// Stores this level and everything below; returns the tree id.
    pub fn save(self, writer: &crate::writer::Writer) -> Result<BlobId> {
        let mut tree = Tree::default();
        for (name, e) in self.children {
            match e {
                VEntry::Node(n) => tree.nodes.push(n),
                VEntry::Dir(d) => {
                    let meta = d.meta.clone();
                    let subtree = d.save(writer)?;
                    tree.nodes.push(Node {
                        name,
                        kind: NodeKind::Dir { subtree },
                        meta,
                    });
                }
            }
        }
        tree.sort();
        save_tree(writer, &tree)
    }
}

/// Adds one source path to the root.
pub(crate) fn add_path(
    root: &mut VDir,
    walker: &Walker<'_>,
    path: &Path,
    parent_root: Option<&Tree>,
) -> Result<()> {
    let comps = components(path);
    let repo = walker.writer.repo();
    let pnode = parent_root.and_then(|t| find_node(repo, t, &comps));
    if comps.is_empty() {
        root.merge_nodes(walker.dir_tree(path, parent_root)?.nodes);
        return Ok(());
    }
    let name = comps.last().cloned().unwrap_or_default();
    // Unreadable entries were recorded as warnings; excluded or special
    // files are simply not part of the snapshot.
    let Some(node) = walker.node_for(path, name, pnode.as_ref())? else {
        return Ok(());
    };
    let meta_at = |i: usize| {
        let prefix: PathBuf = std::iter::once(PathBuf::from("/"))
            .chain(
                comps[..=i]
                    .iter()
                    .map(|c| PathBuf::from(std::ffi::OsStr::from_bytes(c))),
            )
            .collect();
        std::fs::metadata(&prefix)
            .map(|m| meta_of(&m))
            .unwrap_or_else(|_| dir_meta())
    };
    root.insert(&comps, node, &meta_at)
}

/// Adds a stream node at its name.
pub(crate) fn add_stream(root: &mut VDir, comps: &[Vec<u8>], node: Node) -> Result<()> {
    root.insert(comps, node, &|_| dir_meta())
}

/// Follows `comps` from a root tree.
pub(crate) fn find_node(repo: &Repository, root: &Tree, comps: &[Vec<u8>]) -> Option<Node> {
    let (last, dirs) = comps.split_last()?;
    let mut tree = root.clone();
    for c in dirs {
        match &tree.find(c)?.kind {
            NodeKind::Dir { subtree } => tree = repo.load_tree(subtree).ok()?,
            _ => return None,
        }
    }
    tree.find(last).cloned()
}
