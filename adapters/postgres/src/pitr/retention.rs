//! Retention of a restore window: the base backups a restore to any point
//! of the window needs, every WAL file after the oldest of them, nothing
//! older.

use super::base::BaseInfo;
use super::catalog::{Archived, Catalog};
use super::name::WalKind;
use super::recover::bases;
use cairn::{ForgetOptions, Repository, Result, SnapshotId};

/// What keeping a window means for this archive.
#[derive(Clone, Debug, Default)]
pub struct WindowPlan {
    /// Start of the window, Unix nanoseconds.
    pub window_start_ns: i64,
    /// Base backups kept (the window's, and the newest one before it).
    pub keep_bases: Vec<BaseInfo>,
    /// Older base backups.
    pub forget_bases: Vec<BaseInfo>,
    /// WAL files before the oldest kept base backup's start.
    pub forget_wal: Vec<Archived>,
    /// WAL files kept.
    pub keep_wal: usize,
}

impl WindowPlan {
    /// The snapshots to forget.
    pub fn ids(&self) -> Result<Vec<SnapshotId>> {
        let mut ids: Vec<SnapshotId> = self.forget_bases.iter().map(|b| b.id).collect();
        for a in &self.forget_wal {
            ids.push(a.id()?);
        }
        Ok(ids)
    }
}

/// Decides, without deleting anything. With no base backup at all nothing
/// is forgotten: the WAL is all there is.
pub fn plan_window(catalog: &Catalog, window_ns: i64, now_ns: i64) -> WindowPlan {
    let start = now_ns.saturating_sub(window_ns);
    let all = bases(catalog);
    // The newest base that ended before the window starts reaches its start.
    let first_kept = all.iter().rposition(|b| b.ended_ns < start).unwrap_or(0);
    let (forget_bases, keep_bases) = all.split_at(first_kept);
    let mut plan = WindowPlan {
        window_start_ns: start,
        keep_bases: keep_bases.to_vec(),
        forget_bases: forget_bases.to_vec(),
        ..Default::default()
    };
    let Some(oldest_needed) = keep_bases.iter().map(|b| b.start_segment()).min() else {
        plan.keep_wal = catalog.wal.len();
        return plan;
    };
    let size = catalog.segment_size();
    for a in &catalog.wal {
        let old = a
            .wal_name()
            .is_some_and(|n| n.kind != WalKind::History && n.number(size) < oldest_needed);
        if old {
            plan.forget_wal.push(a.clone());
        } else {
            plan.keep_wal += 1;
        }
    }
    plan
}

/// Forgets what [`plan_window`] decided (unless `dry_run`); `cairn prune`
/// then frees the space.
pub fn forget_window(repo: &Repository, plan: &WindowPlan, dry_run: bool) -> Result<usize> {
    let ids = plan.ids()?;
    if dry_run || ids.is_empty() {
        return Ok(ids.len());
    }
    let report = repo.forget(ForgetOptions::default().ids(ids))?;
    Ok(report.removed.len())
}
