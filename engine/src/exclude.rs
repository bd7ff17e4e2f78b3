//! Exclusion patterns for file trees.
//!
//! - A pattern without `/` matches the entry's name anywhere (`TEMP.*`).
//! - A pattern with `/` matches the whole absolute path; a relative one may
//!   start at any depth (`a/b` behaves as `**/a/b`).
//! - A trailing `/` restricts the pattern to directories (`tmp/`).
//! - `*` never crosses `/`; `**` does.

use crate::error::{Error, Result};
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use std::path::Path;

/// Temporary data the source documents exclude from every backup.
pub const SEED_TEMP_EXCLUDES: &[&str] = &["TEMP.*", "tmp/", "DR_TMP_DIR/", "pending/"];

/// A compiled set of exclusion patterns.
#[derive(Clone, Debug)]
pub struct Excludes {
    name_any: GlobSet,
    name_dir: GlobSet,
    path_any: GlobSet,
    path_dir: GlobSet,
}

impl Default for Excludes {
    fn default() -> Self {
        Excludes::new::<&str>(&[]).unwrap_or_else(|_| unreachable!())
    }
}

impl Excludes {
    /// Compiles patterns; an invalid pattern is an error naming it.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Self> {
        let mut sets: [GlobSetBuilder; 4] = std::array::from_fn(|_| GlobSetBuilder::new());
        for p in patterns {
            let p = p.as_ref().trim();
            if p.is_empty() || p.starts_with('#') {
                continue;
            }
            let dir_only = p.ends_with('/') && p.len() > 1;
            let body = p.trim_end_matches('/');
            let has_slash = body.contains('/');
            let glob_text = match (has_slash, body.starts_with('/')) {
                (false, _) | (true, true) => body.to_string(),
                (true, false) => format!("**/{body}"),
            };
            let glob = GlobBuilder::new(&glob_text)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .map_err(|e| Error::invalid(format!("bad exclude pattern {p:?}: {e}")))?;
            let slot = usize::from(has_slash) * 2 + usize::from(dir_only);
            sets[slot].add(glob);
        }
        let build = |b: &GlobSetBuilder| {
            b.build()
                .map_err(|e| Error::invalid(format!("bad exclude patterns: {e}")))
        };
        Ok(Excludes {
            name_any: build(&sets[0])?,
            name_dir: build(&sets[1])?,
            path_any: build(&sets[2])?,
            path_dir: build(&sets[3])?,
        })
    }

    /// True when the entry at `path` must be left out.
    pub fn is_excluded(&self, path: &Path, is_dir: bool) -> bool {
        let name = path.file_name().map(Path::new).unwrap_or(path);
        self.name_any.is_match(name)
            || self.path_any.is_match(path)
            || (is_dir && (self.name_dir.is_match(name) || self.path_dir.is_match(path)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_document_patterns() {
        let e = Excludes::new(SEED_TEMP_EXCLUDES).expect("valid");
        assert!(e.is_excluded(Path::new("/data/TEMP.upload"), false));
        assert!(e.is_excluded(Path::new("/data/x/tmp"), true));
        assert!(
            !e.is_excluded(Path::new("/data/x/tmp"), false),
            "a file named tmp stays"
        );
        assert!(e.is_excluded(Path::new("/srv/DR_TMP_DIR"), true));
        assert!(e.is_excluded(Path::new("/srv/a/pending"), true));
        assert!(!e.is_excluded(Path::new("/srv/a/pending.txt"), false));
        assert!(!e.is_excluded(Path::new("/srv/TEMPLATE.txt"), false));
    }

    #[test]
    fn path_patterns() {
        let e = Excludes::new(&["/var/cache/**", "logs/*.log", "*.o"]).expect("valid");
        assert!(e.is_excluded(Path::new("/var/cache/x/y"), false));
        assert!(e.is_excluded(Path::new("/home/u/app/logs/a.log"), false));
        assert!(!e.is_excluded(Path::new("/home/u/app/logs/sub/a.log"), false));
        assert!(e.is_excluded(Path::new("/x/main.o"), false));
        assert!(!e.is_excluded(Path::new("/x/main.rs"), false));
        assert!(Excludes::new(&["a/[b"]).is_err());
    }
}
