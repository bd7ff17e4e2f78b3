//! `forget`: remove snapshots by a retention policy.

use super::retention::{Decision, GroupBy, RetentionPolicy};
use crate::backend::FileKind;
use crate::error::Result;
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
    /// Decides every snapshot by the policy and (unless `dry_run`) removes
    /// the snapshot files of those not kept. Data is freed by `prune`.
    pub fn forget(&self, opts: &ForgetOptions) -> Result<Vec<Decision>> {
        if !opts.dry_run {
            self.ensure_may_delete("forget")?;
        }
        let snaps = self.snapshots()?;
        let decisions = opts.policy.apply(&snaps, opts.group_by)?;
        if !opts.dry_run {
            for d in decisions.iter().filter(|d| !d.keep) {
                self.backend().delete(FileKind::Snapshot, &d.id.to_hex())?;
            }
        }
        Ok(decisions)
    }
}
