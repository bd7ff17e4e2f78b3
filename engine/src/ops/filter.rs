//! Choosing snapshots by host, tags and paths, as restic's `--host`,
//! `--tag` and `--path` do.

use crate::snapshot::Snapshot;

/// Which snapshots a command considers. Empty lists do not restrict.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SnapshotFilter {
    /// The snapshot's host is one of these.
    pub hosts: Vec<String>,
    /// The snapshot has every tag of at least one of these lists.
    pub tags: Vec<Vec<String>>,
    /// The snapshot holds every one of these paths (absolute, or stream
    /// names).
    pub paths: Vec<String>,
}

impl SnapshotFilter {
    /// A filter of these hosts, tag lists and paths.
    pub fn new(hosts: Vec<String>, tags: Vec<Vec<String>>, paths: Vec<String>) -> Self {
        SnapshotFilter { hosts, tags, paths }
    }

    /// Whether it lets every snapshot through.
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty() && self.tags.is_empty() && self.paths.is_empty()
    }

    /// Whether `s` passes.
    pub fn matches(&self, s: &Snapshot) -> bool {
        (self.hosts.is_empty() || self.hosts.contains(&s.host))
            && (self.tags.is_empty() || self.tags.iter().any(|set| has_tags(s, set)))
            && (self.paths.is_empty() || self.paths.iter().all(|p| s.paths.contains(p)))
    }
}

/// A tag list as `--tag` gives it; an empty list (`--tag ""`) means a
/// snapshot without tags.
fn has_tags(s: &Snapshot, set: &[String]) -> bool {
    match set.iter().all(String::is_empty) {
        true => s.tags.is_empty(),
        false => set
            .iter()
            .filter(|t| !t.is_empty())
            .all(|t| s.tags.contains(t)),
    }
}

/// Of a list sorted oldest first, the newest `n` of each (host, paths)
/// group, still oldest first.
pub fn latest_per_group<T>(list: Vec<(T, Snapshot)>, n: usize) -> Vec<(T, Snapshot)> {
    let mut seen: std::collections::HashMap<(String, Vec<String>), usize> = Default::default();
    let mut keep: Vec<(T, Snapshot)> = Vec::new();
    for (id, s) in list.into_iter().rev() {
        let k = seen.entry((s.host.clone(), s.paths.clone())).or_default();
        if *k < n {
            *k += 1;
            keep.push((id, s));
        }
    }
    keep.reverse();
    keep
}
