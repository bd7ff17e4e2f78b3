//! Which snapshots make up a restore: one run's, the latest complete run's,
//! or the latest of each component; and the ordering rules they must keep.

use crate::backup::{belongs, keys, started_ns};
use crate::model::{Plan, PlanComponent};
use cairn::{format_time, Error, Repository, Result, Snapshot, SnapshotId};
use std::collections::BTreeMap;

/// Which snapshots to take.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Pick {
    /// The newest run that stored every selected component.
    #[default]
    LatestComplete,
    /// This run (an id or a unique prefix of one).
    Run(String),
    /// The newest snapshot of each component, from whichever run.
    LatestEach,
}

/// One component's snapshot in a restore set.
#[derive(Clone)]
pub struct Chosen<'p> {
    /// The component.
    pub component: &'p PlanComponent,
    /// Its snapshot.
    pub id: SnapshotId,
    /// The snapshot.
    pub snapshot: Snapshot,
}

impl Chosen<'_> {
    /// The run the snapshot belongs to.
    pub fn run(&self) -> &str {
        self.snapshot
            .info
            .get(keys::RUN)
            .map(String::as_str)
            .unwrap_or("?")
    }
}

/// A run's snapshots by component name.
pub type RunMembers = BTreeMap<String, (SnapshotId, Snapshot)>;

/// Snapshots of each run of a plan: run id → component → snapshot, runs in
/// time order.
pub fn runs(plan: &Plan, snaps: &[(SnapshotId, Snapshot)]) -> Vec<(String, RunMembers)> {
    let mut by_run: BTreeMap<String, RunMembers> = BTreeMap::new();
    for (id, s) in snaps {
        let (Some(run), Some(comp)) = (s.info.get(keys::RUN), s.info.get(keys::COMPONENT)) else {
            continue;
        };
        if s.info.get(keys::PLAN) != Some(&plan.name) {
            continue;
        }
        by_run
            .entry(run.clone())
            .or_default()
            .insert(comp.clone(), (*id, s.clone()));
    }
    // Run ids start with their UTC start time, so they sort by time.
    by_run.into_iter().collect()
}

/// Picks the snapshots of `components` (plan order) for a restore.
pub fn choose<'p>(
    repo: &Repository,
    plan: &'p Plan,
    pick: &Pick,
    components: &[&'p PlanComponent],
) -> Result<Vec<Chosen<'p>>> {
    let (snaps, damaged) = repo.readable_snapshots()?;
    for e in damaged {
        eprintln!("cairn: warning: {e}; not considered");
    }
    let all_runs = runs(plan, &snaps);
    let from_run = |members: &RunMembers| -> Option<Vec<Chosen<'p>>> {
        components
            .iter()
            .map(|c| {
                members.get(&c.name).map(|(id, s)| Chosen {
                    component: c,
                    id: *id,
                    snapshot: s.clone(),
                })
            })
            .collect()
    };
    match pick {
        Pick::LatestComplete => all_runs
            .iter()
            .rev()
            .find_map(|(_, m)| from_run(m))
            .ok_or_else(|| {
                Error::invalid(format!(
                    "no run of plan {} stored all of {}; name a run, use --only, or take the latest snapshot of each with --latest",
                    plan.name,
                    names(components)
                ))
            }),
        Pick::Run(prefix) => {
            let hits: Vec<_> = all_runs.iter().filter(|(r, _)| r.starts_with(prefix.as_str())).collect();
            let (run, members) = match hits.as_slice() {
                [one] => *one,
                [] => return Err(Error::NotFound { kind: "run".into(), name: format!("{prefix} of plan {}", plan.name) }),
                _ => return Err(Error::invalid(format!("run {prefix:?} is ambiguous: {} runs match", hits.len()))),
            };
            from_run(members).ok_or_else(|| {
                let missing: Vec<&str> = components.iter().filter(|c| !members.contains_key(&c.name)).map(|c| c.name.as_str()).collect();
                Error::invalid(format!(
                    "run {run} has no snapshot of {} (it failed or was skipped there); use --only for the others",
                    missing.join(", ")
                ))
            })
        }
        Pick::LatestEach => components
            .iter()
            .map(|c| {
                snaps
                    .iter()
                    .rev()
                    .find(|(_, s)| belongs(s, &plan.name, &c.name))
                    .map(|(id, s)| Chosen { component: c, id: *id, snapshot: s.clone() })
                    .ok_or_else(|| Error::NotFound {
                        kind: "snapshot".into(),
                        name: format!("of component {} in plan {}", c.name, plan.name),
                    })
            })
            .collect(),
    }
}

fn names(cs: &[&PlanComponent]) -> String {
    cs.iter()
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every `older_than` rule the set breaks, one sentence each.
pub fn order_violations(chosen: &[Chosen<'_>]) -> Vec<String> {
    let mut out = Vec::new();
    for a in chosen {
        for b_name in &a.component.older_than {
            let Some(b) = chosen.iter().find(|c| &c.component.name == b_name) else {
                continue;
            };
            let (ta, tb) = (started_ns(&a.snapshot), started_ns(&b.snapshot));
            if ta >= tb {
                out.push(format!(
                    "{} (snapshot {}, taken {}) is not older than {} (snapshot {}, taken {}): restored together, {} could refer to data that {} does not hold",
                    a.component.name,
                    a.id.short(),
                    format_time(ta),
                    b.component.name,
                    b.id.short(),
                    format_time(tb),
                    a.component.name,
                    b.component.name
                ));
            }
        }
    }
    out
}
