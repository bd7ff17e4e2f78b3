//! Which entries of a snapshot a restore writes: `include` paths (a
//! snapshot path and what is below it), `include` patterns (entries whose
//! path or name matches, and what is below them, with the directories
//! that lead to them), and `exclude` patterns (left out with everything
//! below). Patterns are those of backup's `--exclude`.

use crate::error::Result;
use crate::exclude::Excludes;
use crate::id::BlobId;
use crate::repo::Repository;
use crate::tree::{Node, NodeKind};
use std::path::Path;

/// The compiled selection.
pub(super) struct Selection {
    paths: Vec<String>,
    patterns: Option<Excludes>,
    exclude: Option<Excludes>,
}

/// True when `s` is a pattern rather than a plain path.
fn is_pattern(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

impl Selection {
    pub(super) fn new(include: &[String], exclude: &[String]) -> Result<Self> {
        let (pats, paths): (Vec<&String>, Vec<&String>) =
            include.iter().partition(|s| is_pattern(s));
        let paths = paths
            .into_iter()
            .map(|p| format!("/{}", p.trim_matches('/')))
            .collect();
        let patterns = (!pats.is_empty())
            .then(|| Excludes::new(&pats))
            .transpose()?;
        let exclude = (!exclude.is_empty())
            .then(|| Excludes::new(exclude))
            .transpose()?;
        Ok(Selection {
            paths,
            patterns,
            exclude,
        })
    }

    /// True when every entry is included (excludes aside).
    pub(super) fn includes_all(&self) -> bool {
        self.paths.is_empty() && self.patterns.is_none()
    }

    /// (restore this node, descend into it) for `node` at snapshot path
    /// `path`; `inside`: its directory is restored whole.
    pub(super) fn state(
        &self,
        repo: &Repository,
        path: &str,
        node: &Node,
        inside: bool,
    ) -> Result<(bool, bool)> {
        let is_dir = matches!(node.kind, NodeKind::Dir { .. });
        if self.excluded(path, is_dir) {
            return Ok((false, false));
        }
        if inside || self.includes_all() {
            return Ok((true, true));
        }
        let (mut this, mut descend) = self.path_state(path);
        if let Some(p) = &self.patterns {
            if p.is_excluded(Path::new(path), is_dir) {
                (this, descend) = (true, true);
            } else if let (NodeKind::Dir { subtree }, false) = (&node.kind, descend) {
                descend = self.has_match(repo, subtree, path)?;
            }
        }
        Ok((this, descend))
    }

    fn excluded(&self, path: &str, is_dir: bool) -> bool {
        self.exclude
            .as_ref()
            .is_some_and(|e| e.is_excluded(Path::new(path), is_dir))
    }

    fn path_state(&self, path: &str) -> (bool, bool) {
        let mut state = (false, false);
        for inc in &self.paths {
            if path == inc || inc == "/" || path.starts_with(&format!("{inc}/")) {
                return (true, true);
            }
            if inc.starts_with(&format!("{path}/")) {
                state.1 = true;
            }
        }
        state
    }

    /// Whether an include pattern matches something below tree `tree`
    /// (at `prefix`) that no exclude removes: only then is a directory on
    /// the way created.
    fn has_match(&self, repo: &Repository, tree: &BlobId, prefix: &str) -> Result<bool> {
        let Some(p) = &self.patterns else {
            return Ok(false);
        };
        for node in repo.load_tree(tree)?.nodes {
            let path = format!("{prefix}/{}", node.name_lossy());
            let is_dir = matches!(node.kind, NodeKind::Dir { .. });
            if self.excluded(&path, is_dir) {
                continue;
            }
            if p.is_excluded(Path::new(&path), is_dir) {
                return Ok(true);
            }
            if let NodeKind::Dir { subtree } = &node.kind {
                if self.has_match(repo, subtree, &path)? {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_select_their_subtree_and_the_way_to_it() {
        let s = Selection::new(&["srv/db/".to_string()], &[]).expect("selection");
        assert_eq!(s.path_state("/srv"), (false, true));
        assert_eq!(s.path_state("/srv/db"), (true, true));
        assert_eq!(s.path_state("/srv/db/x"), (true, true));
        assert_eq!(s.path_state("/srv/dbx"), (false, false));
        assert!(!s.includes_all());
    }

    #[test]
    fn excludes_win_and_bad_patterns_are_errors() {
        let s = Selection::new(&[], &["*.tmp".to_string(), "cache/".to_string()]).expect("sel");
        assert!(s.excluded("/a/b.tmp", false));
        assert!(s.excluded("/a/cache", true));
        assert!(!s.excluded("/a/cache", false));
        assert!(Selection::new(&["a[".to_string()], &[]).is_err());
    }
}
