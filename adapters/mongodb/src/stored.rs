//! Reading a MongoDB snapshot back: its index, each collection's metadata
//! and its documents, checked against the index's counts and hashes.

use crate::counter::Counter;
use crate::doc::Splitter;
use crate::index::{data_path, meta_path, Index, Stored, INDEX_STREAM};
use crate::meta::Meta;
use cairn::{Error, Repository, Result, Snapshot, SnapshotId};

/// The index of a snapshot.
pub fn read_index(repo: &Repository, id: &SnapshotId, snap: &Snapshot) -> Result<Index> {
    if !snap.paths.iter().any(|p| p == INDEX_STREAM) {
        return Err(Error::invalid(format!(
            "snapshot {} holds no MongoDB backup (no {INDEX_STREAM})",
            id.short()
        )));
    }
    let mut bytes = Vec::new();
    repo.dump(id, INDEX_STREAM, &mut bytes)?;
    Index::parse(&bytes)
}

/// A collection's metadata.
pub fn read_meta(repo: &Repository, id: &SnapshotId, c: &Stored) -> Result<Meta> {
    let path = meta_path(&c.db, &c.collection);
    let mut bytes = Vec::new();
    repo.dump(id, &path, &mut bytes)?;
    let text = String::from_utf8(bytes).map_err(|e| Error::corrupt(&path, e))?;
    let m = Meta::parse(&text, &path)?;
    if m.name != c.collection {
        return Err(Error::corrupt(
            &path,
            format!("it describes {}, not {}", m.name, c.collection),
        ));
    }
    Ok(m)
}

/// Hands every document of a collection to `each`, in stored order, and
/// checks the count and hashes against the index once all were read.
pub fn each_doc(
    repo: &Repository,
    id: &SnapshotId,
    c: &Stored,
    mut each: impl FnMut(Vec<u8>) -> Result<()>,
) -> Result<Counter> {
    let mut counter = Counter::default();
    if c.kind == "view" {
        return Ok(counter);
    }
    let path = data_path(&c.db, &c.collection);
    let mut split = Splitter::new(path.clone(), |d: Vec<u8>| {
        counter.add(&d);
        each(d)
    });
    repo.dump(id, &path, &mut split)?;
    split.finish()?;
    if let Some(d) = counter.differs(c) {
        return Err(Error::corrupt(
            format!("{path} in snapshot {}", id.short()),
            d,
        ));
    }
    Ok(counter)
}
