//! Opening a backend from a location string, through a registry of
//! schemes.
//!
//! A location is `SCHEME:REST` (or `SCHEME://REST`); a location without a
//! known scheme is a local path. Each scheme names one opener; a new
//! backend adds one entry to [`SCHEMES`], and every caller (the CLI, the
//! adapters, the tests) reaches it through [`open_backend`].

use super::{Backend, LocalBackend, ObjectBackend};
use crate::error::{Error, Result};
use std::sync::Arc;

/// How to open a backend. `Default` opens an existing repository's
/// storage with the default network settings.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct BackendOptions {
    /// Create the location if it does not exist (`init`); otherwise a
    /// missing local directory is [`Error::RepositoryNotFound`] and nothing
    /// is created.
    pub create: bool,
    /// Endpoint, credentials, concurrency, retries and timeout for S3.
    #[cfg(feature = "s3")]
    pub s3: super::S3Options,
    /// Upload limit in bytes per second, over all threads.
    pub limit_upload: Option<u64>,
    /// Download limit in bytes per second, over all threads.
    pub limit_download: Option<u64>,
    /// Keep every write in memory and never change the store
    /// ([`super::DryRunBackend`]).
    pub dry_run: bool,
}

impl BackendOptions {
    /// Options that create the location when it is missing.
    pub fn creating() -> Self {
        BackendOptions {
            create: true,
            ..Default::default()
        }
    }

    /// Sets [`BackendOptions::create`].
    pub fn create(mut self, create: bool) -> Self {
        self.create = create;
        self
    }

    /// Sets the bandwidth limits, in bytes per second.
    pub fn limits(mut self, upload: Option<u64>, download: Option<u64>) -> Self {
        self.limit_upload = upload;
        self.limit_download = download;
        self
    }

    /// Sets [`BackendOptions::dry_run`].
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Sets [`BackendOptions::s3`].
    #[cfg(feature = "s3")]
    pub fn s3(mut self, s3: super::S3Options) -> Self {
        self.s3 = s3;
        self
    }
}

/// One registered scheme.
pub struct Scheme {
    /// The scheme's name, as written before `:` in a location.
    pub name: &'static str,
    /// What it stores to, for `--help` texts and errors.
    pub describes: &'static str,
    open: fn(&str, &BackendOptions) -> Result<Arc<dyn Backend>>,
}

impl std::fmt::Debug for Scheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Scheme({})", self.name)
    }
}

/// Every scheme this build knows.
pub const SCHEMES: &[Scheme] = &[
    Scheme {
        name: "local",
        describes: "a directory on a local or mounted file system (also a plain path)",
        open: open_local,
    },
    Scheme {
        name: "memory",
        describes: "memory of this process (tests and examples; gone at exit)",
        open: open_memory,
    },
    #[cfg(feature = "s3")]
    Scheme {
        name: "s3",
        describes: "an S3 bucket or S3-compatible store: s3://bucket/prefix",
        open: open_s3,
    },
];

/// Opens the backend for `location`: `s3://bucket/prefix`, `memory:`,
/// `local:PATH` or a plain path.
pub fn open_backend(location: &str, opts: &BackendOptions) -> Result<Arc<dyn Backend>> {
    if location.is_empty() {
        return Err(Error::invalid("empty repository location"));
    }
    let mut b = match scheme_of(location) {
        Some(name) => match SCHEMES.iter().find(|s| s.name == name) {
            Some(s) => (s.open)(location, opts)?,
            None => return Err(unknown_scheme(name)),
        },
        None => open_local(location, opts)?,
    };
    if opts.limit_upload.is_some() || opts.limit_download.is_some() {
        b = Arc::new(super::ThrottledBackend::new(
            b,
            opts.limit_upload,
            opts.limit_download,
        ));
    }
    if opts.dry_run {
        b = Arc::new(super::DryRunBackend::new(b));
    }
    Ok(b)
}

/// The scheme a location names: the text before `://`, or before `:`
/// when that is a registered name (so `C:` style or `a:b` paths stay paths).
fn scheme_of(location: &str) -> Option<&str> {
    if let Some((s, _)) = location.split_once("://") {
        let plain = !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+');
        return plain.then_some(s);
    }
    let (s, _) = location.split_once(':')?;
    SCHEMES.iter().any(|k| k.name == s).then_some(s)
}

fn unknown_scheme(name: &str) -> Error {
    let known: Vec<&str> = SCHEMES.iter().map(|s| s.name).collect();
    let hint = match name {
        "s3" => " (this build was made without the `s3` feature)",
        _ => "",
    };
    Error::invalid(format!(
        "unknown storage scheme {name:?}{hint}; this build knows: {}",
        known.join(", ")
    ))
}

fn open_local(location: &str, opts: &BackendOptions) -> Result<Arc<dyn Backend>> {
    let path = location.strip_prefix("local:").unwrap_or(location);
    let path = path.strip_prefix("//").unwrap_or(path);
    if path.is_empty() {
        return Err(Error::invalid("empty repository location"));
    }
    match LocalBackend::new(std::path::Path::new(path), opts.create) {
        Err(Error::RepositoryNotFound(_)) => Err(Error::RepositoryNotFound(location.to_string())),
        other => Ok(Arc::new(other?)),
    }
}

fn open_memory(_location: &str, _opts: &BackendOptions) -> Result<Arc<dyn Backend>> {
    Ok(Arc::new(ObjectBackend::memory()?))
}

/// S3 backends are wrapped in a [`super::RetryBackend`] with the options'
/// tries.
#[cfg(feature = "s3")]
fn open_s3(location: &str, opts: &BackendOptions) -> Result<Arc<dyn Backend>> {
    let mut s3 = opts.s3.clone();
    if s3.concurrency == 0 {
        s3.concurrency = 8;
    }
    let inner: Arc<dyn Backend> = Arc::new(ObjectBackend::s3(location, &s3)?);
    Ok(Arc::new(super::RetryBackend::new(
        inner,
        s3.tries(),
        std::time::Duration::from_millis(200),
        std::time::Duration::from_secs(10),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_are_found_and_paths_stay_paths() {
        assert_eq!(scheme_of("s3://b/p"), Some("s3"));
        assert_eq!(scheme_of("memory:"), Some("memory"));
        assert_eq!(scheme_of("local:/srv/repo"), Some("local"));
        assert_eq!(scheme_of("/srv/repo"), None);
        assert_eq!(scheme_of("backups:2026/repo"), None);
        assert_eq!(scheme_of("ftp://host/x"), Some("ftp"));
    }

    #[test]
    fn an_unknown_scheme_names_the_known_ones() {
        let err =
            open_backend("ftp://host/x", &BackendOptions::default()).expect_err("no ftp backend");
        let text = err.to_string();
        assert!(text.contains("\"ftp\"") && text.contains("local"), "{text}");
    }

    #[test]
    fn a_missing_local_directory_is_not_created_unless_asked() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().join("repo");
        let loc = dir.to_str().expect("utf8");
        let err = open_backend(loc, &BackendOptions::default()).expect_err("missing");
        assert!(matches!(err, Error::RepositoryNotFound(_)), "{err}");
        assert!(!dir.exists());
        open_backend(loc, &BackendOptions::creating()).expect("created");
        assert!(dir.is_dir());
    }
}
