//! Snapshot files: storing, loading, listing and resolving them.

use super::Repository;
use crate::backend::FileKind;
use crate::error::{Error, Result};
use crate::id::SnapshotId;
use crate::snapshot::Snapshot;
use rayon::prelude::*;

/// Snapshots with their ids, oldest first.
pub type SnapshotList = Vec<(SnapshotId, Snapshot)>;

impl Repository {
    /// Stores a snapshot. Its trees and index files must already be stored.
    pub fn save_snapshot(&self, snap: &Snapshot) -> Result<SnapshotId> {
        SnapshotId::from_hex(&self.save(snap)?)
    }

    /// Loads one snapshot.
    pub fn load_snapshot(&self, id: &SnapshotId) -> Result<Snapshot> {
        self.load(&id.to_hex())
    }

    /// All snapshots, oldest first. One unreadable snapshot fails the
    /// whole call: deciding what to delete needs every snapshot.
    pub fn snapshots(&self) -> Result<Vec<(SnapshotId, Snapshot)>> {
        let (all, mut damaged) = self.readable_snapshots()?;
        match damaged.is_empty() {
            true => Ok(all),
            false => Err(damaged.swap_remove(0)),
        }
    }

    /// The snapshots that can be read, oldest first, and the errors of
    /// those that cannot (each names its snapshot). For listing and
    /// restoring from a partly damaged repository.
    pub fn readable_snapshots(&self) -> Result<(SnapshotList, Vec<Error>)> {
        let names = self.inner.backend.list(FileKind::Snapshot)?;
        let loaded: Vec<Result<(SnapshotId, Snapshot)>> = names
            .par_iter()
            .map(|(n, _)| {
                let id = SnapshotId::from_hex(n)?;
                Ok((id, self.load_snapshot(&id)?))
            })
            .collect();
        let mut all = Vec::with_capacity(loaded.len());
        let mut damaged = Vec::new();
        for r in loaded {
            match r {
                Ok(s) => all.push(s),
                Err(e @ (Error::Corrupt { .. } | Error::UnsupportedVersion { .. })) => {
                    damaged.push(e)
                }
                Err(e) => return Err(e),
            }
        }
        all.sort_by(|a, b| a.1.time_ns.cmp(&b.1.time_ns).then(a.0.cmp(&b.0)));
        Ok((all, damaged))
    }

    /// Resolves `latest`, `latest~N` (the N-th before the newest), a full
    /// id, or an unambiguous id prefix.
    pub fn resolve_snapshot(&self, spec: &str) -> Result<SnapshotId> {
        self.resolve_snapshot_in(spec, &crate::ops::filter::SnapshotFilter::default())
    }

    /// [`resolve_snapshot`](Self::resolve_snapshot) with `latest` and
    /// `latest~N` counted among the snapshots that pass `filter` (an id
    /// or prefix is taken as given).
    pub fn resolve_snapshot_in(
        &self,
        spec: &str,
        filter: &crate::ops::filter::SnapshotFilter,
    ) -> Result<SnapshotId> {
        if let Some(rest) = spec.strip_prefix("latest") {
            let back: usize = match rest.strip_prefix('~') {
                None if rest.is_empty() => 0,
                Some(n) => n
                    .parse()
                    .map_err(|_| Error::invalid(format!("bad snapshot spec {spec:?}")))?,
                None => return Err(Error::invalid(format!("bad snapshot spec {spec:?}"))),
            };
            let (mut snaps, damaged) = self.readable_snapshots()?;
            for e in &damaged {
                tracing::warn!("skipped while resolving {spec}: {e}");
            }
            snaps.retain(|(_, s)| filter.matches(s));
            return snaps
                .len()
                .checked_sub(back + 1)
                .map(|i| snaps[i].0)
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "{spec}: the repository has only {} snapshots{}",
                        snaps.len(),
                        if filter.is_empty() {
                            ""
                        } else {
                            " that match the filter"
                        }
                    ))
                });
        }
        let spec_l = spec.to_ascii_lowercase();
        let hits: Vec<String> = self
            .inner
            .backend
            .list(FileKind::Snapshot)?
            .into_iter()
            .map(|(n, _)| n)
            .filter(|n| n.starts_with(&spec_l))
            .collect();
        match hits.as_slice() {
            [one] => SnapshotId::from_hex(one),
            [] => Err(Error::NotFound {
                kind: "snapshot".into(),
                name: spec.into(),
            }),
            _ => Err(Error::invalid(format!(
                "snapshot prefix {spec:?} is ambiguous: {} match ({}); give more of the id",
                hits.len(),
                hits.iter()
                    .take(10)
                    .map(|h| &h[..h.len().min(spec.len() + 4)])
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }
}
