//! `forget`: remove snapshots by a retention policy.

use super::retention::{Decision, GroupBy, RetentionPolicy};
use crate::backend::FileKind;
use crate::error::{Error, Result};
use crate::id::SnapshotId;
use crate::repo::Repository;

/// Options for [`Repository::forget`].
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ForgetOptions {
    /// What to keep.
    pub policy: RetentionPolicy,
    /// How snapshots are grouped before the policy applies.
    pub group_by: GroupBy,
    /// Only decide; remove nothing.
    pub dry_run: bool,
    /// Remove exactly these snapshots, readable or damaged, instead of
    /// applying a policy (which must then be empty).
    pub ids: Vec<SnapshotId>,
    /// The policy decides only the snapshots that pass this filter; the
    /// others are neither kept nor removed (not in the decisions).
    pub filter: super::filter::SnapshotFilter,
}

super::setters!(ForgetOptions {
    policy: RetentionPolicy,
    group_by: GroupBy,
    dry_run: bool,
    ids: Vec<SnapshotId>,
    filter: super::filter::SnapshotFilter,
});

/// What [`Repository::forget`] decided and removed.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ForgetReport {
    /// By policy: every readable snapshot, kept or not, with its reasons.
    pub decisions: Vec<Decision>,
    /// The snapshots removed (or, with `dry_run`, that would be).
    pub removed: Vec<SnapshotId>,
}

impl Repository {
    /// Decides every readable snapshot by the policy and (unless
    /// `dry_run`) removes the snapshot files of those not kept. Data is
    /// freed by `prune`. A snapshot that cannot be read is neither kept nor
    /// removed by a policy (its time and host are unknown): it is logged,
    /// and `ids` removes it by name.
    ///
    /// With `ids`, removes exactly those snapshots instead (each must
    /// exist), damaged or not.
    ///
    /// ```
    /// # fn main() -> cairn::Result<()> {
    /// # use std::sync::Arc;
    /// # let opts = cairn::InitOptions::default().argon2(cairn::Argon2Params::insecure_for_tests());
    /// # let secret = cairn::Secret::passphrase("example");
    /// # let repo = cairn::Repository::init(Arc::new(cairn::ObjectBackend::memory()?), &secret, opts.clone())?;
    /// # let stream = cairn::StreamSource::from_reader("db/dump.sql", &b"CREATE TABLE t();"[..]);
    /// # let first = repo.backup(cairn::BackupOptions::default().streams(vec![stream]))?;
    /// let newer = cairn::StreamSource::from_reader("db/dump.sql", &b"v2"[..]);
    /// repo.backup(cairn::BackupOptions::default().streams(vec![newer]))?;
    /// let policy = cairn::RetentionPolicy { last: Some(1), ..Default::default() };
    /// let report = repo.forget(cairn::ForgetOptions::default().policy(policy))?;
    /// assert_eq!(report.removed, vec![first.id]);
    /// assert_eq!(repo.snapshots()?.len(), 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn forget(&self, opts: ForgetOptions) -> Result<ForgetReport> {
        if !opts.ids.is_empty() {
            if !opts.policy.is_empty() {
                return Err(Error::invalid(
                    "forget takes snapshot ids or a policy, not both",
                ));
            }
            let removed = self.forget_ids(&opts.ids, opts.dry_run)?;
            return Ok(ForgetReport {
                decisions: Vec::new(),
                removed,
            });
        }
        if !opts.dry_run {
            self.ensure_may_delete("forget")?;
        }
        let (mut snaps, damaged) = self.readable_snapshots()?;
        for e in &damaged {
            tracing::warn!("{e}; not decided by the policy (remove it with `forget ID`)");
        }
        snaps.retain(|(_, s)| opts.filter.matches(s));
        let decisions = opts.policy.apply(&snaps, opts.group_by)?;
        if !opts.dry_run {
            for d in decisions.iter().filter(|d| !d.keep) {
                self.backend().delete(FileKind::Snapshot, &d.id.to_hex())?;
            }
        }
        let removed = decisions.iter().filter(|d| !d.keep).map(|d| d.id).collect();
        Ok(ForgetReport { decisions, removed })
    }

    /// Removes the named snapshots, readable or damaged (each must exist).
    /// Returns them; with `dry_run`, removes nothing.
    fn forget_ids(&self, ids: &[SnapshotId], dry_run: bool) -> Result<Vec<SnapshotId>> {
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
