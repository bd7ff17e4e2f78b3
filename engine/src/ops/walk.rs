//! Walking and comparing snapshot trees.

use crate::error::Result;
use crate::id::BlobId;
use crate::repo::Repository;
use crate::tree::{Node, NodeKind};
use serde::Serialize;

/// One difference between two snapshots.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    /// `+` added, `-` removed, `M` content or metadata changed, `T` type changed.
    pub change: char,
    /// Path in the snapshot.
    pub path: String,
}

impl Repository {
    /// Visits every node below tree `tree` depth-first in name order.
    /// `prefix` is the path of `tree` itself ("" for the root).
    pub fn walk_tree(
        &self,
        tree: &BlobId,
        prefix: &str,
        f: &mut dyn FnMut(&str, &Node) -> Result<()>,
    ) -> Result<()> {
        for node in self.load_tree(tree)?.nodes {
            let path = format!("{prefix}/{}", node.name_lossy());
            f(&path, &node)?;
            if let NodeKind::Dir { subtree } = &node.kind {
                self.walk_tree(subtree, &path, f)?;
            }
        }
        Ok(())
    }

    /// Differences from tree `a` to tree `b`. Identical subtrees (same id)
    /// are skipped without loading them.
    pub fn diff_trees(
        &self,
        a: &BlobId,
        b: &BlobId,
        prefix: &str,
        out: &mut Vec<Change>,
    ) -> Result<()> {
        if a == b {
            return Ok(());
        }
        let (ta, tb) = (self.load_tree(a)?, self.load_tree(b)?);
        let (mut i, mut j) = (0, 0);
        while i < ta.nodes.len() || j < tb.nodes.len() {
            let ord = match (ta.nodes.get(i), tb.nodes.get(j)) {
                (Some(x), Some(y)) => x.name.cmp(&y.name),
                (Some(_), None) => std::cmp::Ordering::Less,
                _ => std::cmp::Ordering::Greater,
            };
            match ord {
                std::cmp::Ordering::Less => {
                    self.all_as(&ta.nodes[i], prefix, '-', out)?;
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    self.all_as(&tb.nodes[j], prefix, '+', out)?;
                    j += 1;
                }
                std::cmp::Ordering::Equal => {
                    self.diff_nodes(&ta.nodes[i], &tb.nodes[j], prefix, out)?;
                    i += 1;
                    j += 1;
                }
            }
        }
        Ok(())
    }

    fn diff_nodes(&self, x: &Node, y: &Node, prefix: &str, out: &mut Vec<Change>) -> Result<()> {
        let path = format!("{prefix}/{}", x.name_lossy());
        match (&x.kind, &y.kind) {
            (NodeKind::Dir { subtree: sa }, NodeKind::Dir { subtree: sb }) => {
                if x.meta.mode != y.meta.mode {
                    out.push(Change {
                        change: 'M',
                        path: path.clone(),
                    });
                }
                self.diff_trees(sa, sb, &path, out)
            }
            (a, b) if std::mem::discriminant(a) != std::mem::discriminant(b) => {
                out.push(Change { change: 'T', path });
                Ok(())
            }
            (a, b) => {
                if a != b || x.meta.mode != y.meta.mode {
                    out.push(Change { change: 'M', path });
                }
                Ok(())
            }
        }
    }

    fn all_as(&self, node: &Node, prefix: &str, change: char, out: &mut Vec<Change>) -> Result<()> {
        let path = format!("{prefix}/{}", node.name_lossy());
        out.push(Change {
            change,
            path: path.clone(),
        });
        if let NodeKind::Dir { subtree } = &node.kind {
            self.walk_tree(subtree, &path, &mut |p, _| {
                out.push(Change {
                    change,
                    path: p.to_string(),
                });
                Ok(())
            })?;
        }
        Ok(())
    }
}
