//! Reading a snapshot's objects back: each stream parsed, and checked to be
//! the object its path names.

use crate::index::{Index, INDEX_STREAM};
use crate::object::ObjectKey;
use cairn::{Error, Repository, Result, Snapshot, SnapshotId};
use serde_json::Value;

/// One stored object.
pub struct Stored {
    /// Who it is.
    pub key: ObjectKey,
    /// The object.
    pub object: Value,
    /// Its stored size.
    pub bytes: u64,
}

/// The index and every object of a snapshot, in path order.
pub fn read_snapshot(
    repo: &Repository,
    id: &SnapshotId,
    snap: &Snapshot,
) -> Result<(Index, Vec<Stored>)> {
    if !snap.paths.iter().any(|p| p == INDEX_STREAM) {
        return Err(Error::invalid(format!(
            "snapshot {} holds no Kubernetes backup (no {INDEX_STREAM})",
            id.short()
        )));
    }
    let mut bytes = Vec::new();
    repo.dump(id, INDEX_STREAM, &mut bytes)?;
    let index = Index::parse(&bytes)?;
    let mut out = Vec::new();
    for path in &snap.paths {
        let Some(key) = ObjectKey::from_path(path) else {
            continue;
        };
        let mut bytes = Vec::new();
        repo.dump(id, path, &mut bytes)?;
        let damaged = |d: String| Error::corrupt(format!("{path} in snapshot {}", id.short()), d);
        let object: Value = serde_json::from_slice(&bytes).map_err(|e| damaged(e.to_string()))?;
        let own = ObjectKey::of(&object).map_err(|e| damaged(e.to_string()))?;
        if own != key {
            return Err(damaged(format!(
                "it holds {}, not {}",
                own.describe(),
                key.describe()
            )));
        }
        out.push(Stored {
            key,
            object,
            bytes: bytes.len() as u64,
        });
    }
    Ok((index, out))
}
