//! Create-only writes that never accept a partial object as complete.

use super::{Backend, FileKind};
use crate::error::{Error, Result};
use bytes::Bytes;

/// Stores a content-addressed (or randomly named) object. When the name is
/// already taken, the existing object is accepted only if its size equals
/// ours: a name that is a content hash, or random, and has the right size
/// holds our bytes. An object of another size is what an interrupted write
/// on a non-atomic store leaves behind; it is replaced once.
pub fn create_checked(
    b: &dyn Backend,
    kind: FileKind,
    name: &str,
    parts: Vec<Bytes>,
) -> Result<()> {
    let want: u64 = parts.iter().map(|p| p.len() as u64).sum();
    match b.create_parts(kind, name, parts.clone()) {
        Err(Error::AlreadyExists { .. }) => {}
        other => return other,
    }
    let found = match b.size(kind, name) {
        Ok(s) => s,
        // Deleted between our create and the check (prune of a leftover):
        // write it again.
        Err(e) if e.is_not_found() => return b.create_parts(kind, name, parts),
        Err(e) => return Err(e),
    };
    if found == want {
        return Ok(());
    }
    tracing::warn!(
        "{} {name} exists with {found} bytes instead of {want}: a partial write; replacing it",
        kind.name()
    );
    b.delete(kind, name)?;
    b.create_parts(kind, name, parts)
}
