//! Parsing repository locations.

use crate::backend::{Backend, ObjectBackend};
use crate::error::{Error, Result};
use std::sync::Arc;

/// Opens the backend for a location string: a local path (optionally
/// `local:` prefixed). `s3://bucket/prefix` arrives with the S3 backend.
///
/// With `create` false, a missing local directory is
/// [`Error::RepositoryNotFound`] and nothing is created.
pub fn open_backend(location: &str, create: bool) -> Result<Arc<dyn Backend>> {
    if location.starts_with("s3://") {
        return Err(Error::invalid(format!(
            "{location}: S3 repositories are not supported by this build yet"
        )));
    }
    let path = location.strip_prefix("local:").unwrap_or(location);
    if path.is_empty() {
        return Err(Error::invalid("empty repository location"));
    }
    let dir = std::path::Path::new(path);
    if !create && !dir.is_dir() {
        return Err(Error::RepositoryNotFound(location.to_string()));
    }
    Ok(Arc::new(ObjectBackend::local(dir)?))
}
