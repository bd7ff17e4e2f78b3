//! `forget`: remove snapshots by a retention policy.

use super::retention::{Decision, GroupBy, RetentionPolicy};
use crate::backend::FileKind;
use crate::error::{Error, Result};
use crate::id::SnapshotId;
use crate::repo::Repository;

/// Options for [`Repository::forget`].
#[derive(Clone, Debug, Default)]
pub struct ForgetOptions {
    /// What to keep.
    pub policy: RetentionPolicy,
    /// How snapshots are grouped before the policy applies.
    pub group_by: GroupBy,
    /// Only decide; remove nothing.
    pub dry_run: bool,
}

impl Repository {
    /// Decides every readable snapshot by the policy and (unless
    /// `dry_run`) removes the snapshot files of those not kept. Data is
    /// freed by `prune`. A snapshot that cannot be read is neither kept nor
    /// removed by a policy (its time and host are unknown): it is logged,
    /// and [`Repository::forget_ids`] removes it by name.
    pub fn forget(&self, opts: &ForgetOptions) -> Result<Vec<Decision>> {
        if !opts.dry_run {
            self.ensure_may_delete("forget")?;
        }
        let (snaps, damaged) = self.readable_snapshots()?;
        for e in &damaged {
            tracing::warn!("{e}; not decided by the policy (remove it with `forget ID`)");
        }
        let decisions = opts.policy.apply(&snaps, opts.group_by)?;
        if !opts.dry_run {
            for d in decisions.iter().filter(|d| !d.keep) {
                self.backend().delete(FileKind::Snapshot, &d.id.to_hex())?;
            }
        }
        Ok(decisions)
    }

    /// Removes the named snapshots, readable or damaged (each must exist).
    /// Returns them; with `dry_run`, removes nothing.
    pub fn forget_ids(&self, ids: &[SnapshotId], dry_run: bool) -> Result<Vec<SnapshotId>> {
        if !dry_run {
            self.ensure_may_delete("forget")?;
        }
        let stored: std::collections::HashSet<String> = self
            .backend()
            .list(FileKind::Snapshot)?
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        if let Some(missing) = ids.iter().find(|id| !stored.contains(&id.to_hex())) {
            return Err(Error::NotFound {
                kind: "snapshot".into(),
                name: missing.to_hex(),
            });
        }
        if !dry_run {
            for id in ids {
                self.backend().delete(FileKind::Snapshot, &id.to_hex())?;
            }
        }
        Ok(ids.to_vec())
    }
}
