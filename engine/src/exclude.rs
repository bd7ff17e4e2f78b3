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

/// A compiled set of exclusion patterns, and the rules decided with an
/// entry's metadata ([`ExcludeRules`]).
#[derive(Clone, Debug)]
pub struct Excludes {
    name_any: GlobSet,
    name_dir: GlobSet,
    path_any: GlobSet,
    path_dir: GlobSet,
    icase: Option<Box<Excludes>>,
    larger_than: Option<u64>,
    if_present: Vec<(String, Option<Vec<u8>>)>,
    devices: Option<Vec<u64>>,
}

/// `CACHEDIR.TAG`'s header, as the Cache Directory Tagging Specification
/// gives it.
pub const CACHEDIR_TAG_SIGNATURE: &str = "Signature: 8a477f597d28d172789f06886806bc55";

/// Exclusion rules beyond name patterns (restic's `--iexclude`,
/// `--exclude-larger-than`, `--exclude-if-present`, `--exclude-caches`,
/// `--one-file-system`).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ExcludeRules {
    /// Patterns as for excludes, matched ignoring case.
    pub ignore_case: Vec<String>,
    /// Files larger than this are left out.
    pub larger_than: Option<u64>,
    /// A directory holding a file of this name is left out; `NAME:HEADER`
    /// also requires the file to start with HEADER.
    pub if_present: Vec<String>,
    /// Directories tagged with a valid `CACHEDIR.TAG` are left out.
    pub caches: bool,
    /// Entries on another file system than the backed-up paths are left
    /// out (mount points included).
    pub one_file_system: bool,
}

impl Default for Excludes {
    fn default() -> Self {
        Excludes::new::<&str>(&[]).unwrap_or_else(|_| unreachable!())
    }
}

impl Excludes {
    /// Compiles patterns; an invalid pattern is an error naming it.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Self> {
        Self::compile(patterns, false)
    }

    /// Adds `rules`; `roots` are the backed-up paths (their file systems
    /// are the ones `one_file_system` keeps).
    pub fn with_rules(
        mut self,
        rules: &ExcludeRules,
        roots: &[std::path::PathBuf],
    ) -> Result<Self> {
        if !rules.ignore_case.is_empty() {
            self.icase = Some(Box::new(Self::compile(&rules.ignore_case, true)?));
        }
        self.larger_than = rules.larger_than;
        for p in &rules.if_present {
            let (name, header) = match p.split_once(':') {
                Some((n, h)) => (n, Some(h.as_bytes().to_vec())),
                None => (p.as_str(), None),
            };
            if name.is_empty() || name.contains('/') {
                return Err(Error::invalid(format!(
                    "bad --exclude-if-present {p:?}: a file name, optionally NAME:HEADER"
                )));
            }
            self.if_present.push((name.to_string(), header));
        }
        if rules.caches {
            self.if_present.push((
                "CACHEDIR.TAG".into(),
                Some(CACHEDIR_TAG_SIGNATURE.as_bytes().to_vec()),
            ));
        }
        if rules.one_file_system {
            use std::os::unix::fs::MetadataExt;
            let mut devs = Vec::new();
            for r in roots {
                let m = std::fs::metadata(r).map_err(|e| Error::io(r, e))?;
                devs.push(m.dev());
            }
            self.devices = Some(devs);
        }
        Ok(self)
    }

    /// Whether the case-insensitive patterns (from
    /// [`ExcludeRules::ignore_case`]) match `path`.
    pub fn matches_ignoring_case(&self, path: &Path, is_dir: bool) -> bool {
        self.icase
            .as_ref()
            .is_some_and(|i| i.is_excluded(path, is_dir))
    }

    /// True when the entry at `path`, with metadata `m`, must be left out:
    /// by a pattern, or by one of the rules.
    pub fn excludes(&self, path: &Path, m: &std::fs::Metadata) -> bool {
        use std::os::unix::fs::MetadataExt;
        let is_dir = m.is_dir();
        self.is_excluded(path, is_dir)
            || self
                .icase
                .as_ref()
                .is_some_and(|i| i.is_excluded(path, is_dir))
            || (m.is_file() && self.larger_than.is_some_and(|l| m.len() > l))
            || self.devices.as_ref().is_some_and(|d| !d.contains(&m.dev()))
            || (is_dir
                && self
                    .if_present
                    .iter()
                    .any(|(n, h)| tagged(path, n, h.as_deref())))
    }

    fn compile<S: AsRef<str>>(patterns: &[S], ignore_case: bool) -> Result<Self> {
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
                .case_insensitive(ignore_case)
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
            icase: None,
            larger_than: None,
            if_present: Vec::new(),
            devices: None,
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

/// Whether directory `dir` holds a file `name` (starting with `header`).
fn tagged(dir: &Path, name: &str, header: Option<&[u8]>) -> bool {
    let p = dir.join(name);
    match header {
        None => std::fs::symlink_metadata(&p).is_ok(),
        Some(h) => {
            use std::io::Read;
            let mut buf = vec![0u8; h.len()];
            std::fs::File::open(&p)
                .and_then(|mut f| f.read_exact(&mut buf))
                .is_ok_and(|()| buf == h)
        }
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
