//! `tag`: change a snapshot's tags.
//!
//! Snapshot files are content-addressed and never rewritten: the changed
//! snapshot is stored as a new file first, and only then is the old one
//! deleted, so a failure in between leaves both (never neither). The new
//! snapshot records the first id it had under `info["tag.original"]`.

use crate::backend::FileKind;
use crate::error::{Error, Result};
use crate::id::SnapshotId;
use crate::repo::Repository;

/// Info key of the id a retagged snapshot had first.
pub const INFO_ORIGINAL: &str = "tag.original";

/// What to do with the tags.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TagChange {
    /// Replace all tags with these (applied first).
    pub set: Option<Vec<String>>,
    /// Then add these.
    pub add: Vec<String>,
    /// Then remove these.
    pub remove: Vec<String>,
}

impl TagChange {
    /// A change.
    pub fn new(set: Option<Vec<String>>, add: Vec<String>, remove: Vec<String>) -> Self {
        TagChange { set, add, remove }
    }

    fn apply(&self, tags: &[String]) -> Vec<String> {
        let mut out: Vec<String> = self.set.clone().unwrap_or_else(|| tags.to_vec());
        for t in &self.add {
            if !out.contains(t) {
                out.push(t.clone());
            }
        }
        out.retain(|t| !self.remove.contains(t));
        out
    }
}

impl Repository {
    /// Applies `change` to snapshot `id`. Returns the new id, or `None`
    /// when the tags stay the same (nothing is written).
    pub fn retag(&self, id: &SnapshotId, change: &TagChange) -> Result<Option<SnapshotId>> {
        if change.set.is_none() && change.add.is_empty() && change.remove.is_empty() {
            return Err(Error::invalid("tag: give --set, --add or --remove"));
        }
        self.ensure_may_delete("tag")?;
        let mut snap = self.load_snapshot(id)?;
        let tags = change.apply(&snap.tags);
        if tags == snap.tags {
            return Ok(None);
        }
        snap.tags = tags;
        snap.info
            .entry(INFO_ORIGINAL.to_string())
            .or_insert_with(|| id.to_hex());
        let new = self.save_snapshot(&snap)?;
        self.backend().delete(FileKind::Snapshot, &id.to_hex())?;
        Ok(Some(new))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_then_add_then_remove() {
        let t = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let c = TagChange::new(None, t(&["b", "a"]), t(&["x"]));
        assert_eq!(c.apply(&t(&["x", "a"])), t(&["a", "b"]));
        let c = TagChange::new(Some(t(&["s"])), t(&["a"]), t(&["s"]));
        assert_eq!(c.apply(&t(&["x"])), t(&["a"]));
    }
}
