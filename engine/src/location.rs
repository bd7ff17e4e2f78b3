//! Parsing repository locations.

use crate::backend::{Backend, LocalBackend, ObjectBackend, RetryBackend, S3Options};
use crate::error::{Error, Result};
use std::sync::Arc;

/// Opens the backend for a location string: a local path (optionally
/// `local:` prefixed) or `s3://bucket/prefix` (see [`S3Options`] for where
/// its endpoint and credentials come from).
///
/// With `create` false, a missing local directory is
/// [`Error::RepositoryNotFound`] and nothing is created.
pub fn open_backend(location: &str, create: bool) -> Result<Arc<dyn Backend>> {
    open_backend_with(location, create, &S3Options::default())
}

/// As [`open_backend`], with explicit S3 options. S3 backends are wrapped
/// in a [`RetryBackend`].
pub fn open_backend_with(location: &str, create: bool, s3: &S3Options) -> Result<Arc<dyn Backend>> {
    if location.starts_with("s3://") {
        let mut opts = s3.clone();
        if opts.concurrency == 0 {
            opts.concurrency = 8;
        }
        let inner: Arc<dyn Backend> = Arc::new(ObjectBackend::s3(location, &opts)?);
        return Ok(Arc::new(RetryBackend::new(
            inner,
            opts.tries(),
            std::time::Duration::from_millis(200),
            std::time::Duration::from_secs(10),
        )));
    }
    let path = location.strip_prefix("local:").unwrap_or(location);
    if path.is_empty() {
        return Err(Error::invalid("empty repository location"));
    }
    match LocalBackend::new(std::path::Path::new(path), create) {
        Err(Error::RepositoryNotFound(_)) => Err(Error::RepositoryNotFound(location.to_string())),
        other => Ok(Arc::new(other?)),
    }
}
