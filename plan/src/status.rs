//! `plan status`: for each component, its last good backup, its age, and
//! whether it is overdue; and how the last run ended.

use crate::backup::{belongs, started_ns};
use crate::journal::{default_state_dir, Journal, RunRecord, RunStatus};
use crate::model::Plan;
use cairn::{Repository, Result, SnapshotId};
use std::time::Duration;

/// The interval assumed for components with none (one day).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(86400);

/// One component's state.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ComponentStatus {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// Newest snapshot, and when its backup started (Unix ns).
    pub last_good: Option<(SnapshotId, i64)>,
    /// How old it is.
    pub age: Option<Duration>,
    /// Expected interval (the component's, the plan's, or one day).
    pub interval: Duration,
    /// Older than the interval plus a quarter of it, or never backed up.
    pub overdue: bool,
}

/// A plan's state.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PlanStatus {
    /// Plan name.
    pub plan: String,
    /// Components in plan order.
    pub components: Vec<ComponentStatus>,
    /// The newest run record on this machine, if any.
    pub last_run: Option<RunRecord>,
    /// Its status, a killed run counted as failed.
    pub last_run_status: Option<RunStatus>,
}

impl PlanStatus {
    /// Nothing overdue and the last run (if any) did not fail.
    pub fn healthy(&self) -> bool {
        !self.components.iter().any(|c| c.overdue)
            && !matches!(
                self.last_run_status,
                Some(RunStatus::Failed | RunStatus::Interrupted)
            )
    }
}

/// The state of every component at `now_ns`.
pub fn plan_status(repo: &Repository, plan: &Plan, now_ns: i64) -> Result<PlanStatus> {
    let (snaps, damaged) = repo.readable_snapshots()?;
    for e in damaged {
        eprintln!("cairn: warning: {e}; not counted");
    }
    let components = plan
        .components
        .iter()
        .map(|c| {
            let last = snaps
                .iter()
                .filter(|(_, s)| belongs(s, &plan.name, &c.name))
                .map(|(id, s)| (*id, started_ns(s)))
                .max_by_key(|(_, t)| *t);
            let interval = plan.interval_of(c).unwrap_or(DEFAULT_INTERVAL);
            let age =
                last.map(|(_, t)| Duration::from_nanos(now_ns.saturating_sub(t).max(0) as u64));
            let overdue = age.is_none_or(|a| a > interval + interval / 4);
            ComponentStatus {
                name: c.name.clone(),
                kind: c.component.kind().into(),
                last_good: last,
                age,
                interval,
                overdue,
            }
        })
        .collect();
    let dir = match &plan.state_dir {
        Some(d) => d.clone(),
        None => default_state_dir()?,
    };
    let last_run = Journal::new(&dir, &plan.name).list()?.pop();
    Ok(PlanStatus {
        plan: plan.name.clone(),
        components,
        last_run_status: last_run.as_ref().map(RunRecord::effective_status),
        last_run,
    })
}
