//! `plan forget`: each component's own retention, applied to that
//! component's snapshots alone (restic's rules).

use crate::backup::belongs;
use crate::model::{Keep, Plan};
use cairn::{Decision, ForgetOptions, GroupBy, Repository, Result, SnapshotId};

/// What retention decided for one component.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ComponentForget {
    /// Name.
    pub name: String,
    /// The rule, in words.
    pub rule: String,
    /// One decision per snapshot of the component.
    pub decisions: Vec<Decision>,
    /// Snapshots of the component that stay.
    pub kept: usize,
    /// Removed (or, dry, to be removed).
    pub removed: Vec<SnapshotId>,
}

fn rule_text(k: &Keep) -> String {
    match k {
        Keep::Unset => "no rule set: everything kept".into(),
        Keep::Forever => "forever".into(),
        Keep::Policy(p) => {
            let counts = [
                ("last", p.last),
                ("hourly", p.hourly),
                ("daily", p.daily),
                ("weekly", p.weekly),
                ("monthly", p.monthly),
                ("yearly", p.yearly),
            ];
            let spans = [
                ("within", &p.within),
                ("within_hourly", &p.within_hourly),
                ("within_daily", &p.within_daily),
                ("within_weekly", &p.within_weekly),
                ("within_monthly", &p.within_monthly),
                ("within_yearly", &p.within_yearly),
            ];
            let mut parts: Vec<String> = counts
                .iter()
                .filter_map(|(n, v)| v.map(|v| format!("{n} {v}")))
                .collect();
            parts.extend(
                spans
                    .iter()
                    .filter_map(|(n, d)| d.as_ref().map(|d| format!("{n} {d}"))),
            );
            parts.extend(p.tags.iter().map(|t| format!("tags {}", t.join(","))));
            parts.join(", ")
        }
    }
}

/// Applies every component's retention. With `dry_run`, decides only.
pub fn forget_plan(repo: &Repository, plan: &Plan, dry_run: bool) -> Result<Vec<ComponentForget>> {
    plan.validate()?;
    let (snaps, damaged) = repo.readable_snapshots()?;
    for e in damaged {
        eprintln!("cairn: warning: {e}; not decided (remove it with `forget ID`)");
    }
    let mut out = Vec::new();
    for c in &plan.components {
        let mine: Vec<_> = snaps
            .iter()
            .filter(|(_, s)| belongs(s, &plan.name, &c.name))
            .cloned()
            .collect();
        let decisions = match &c.keep {
            Keep::Policy(p) if !mine.is_empty() => p.apply(
                &mine,
                GroupBy {
                    host: false,
                    tags: false,
                    paths: false,
                },
            )?,
            _ => Vec::new(),
        };
        let removed: Vec<SnapshotId> = decisions.iter().filter(|d| !d.keep).map(|d| d.id).collect();
        if !removed.is_empty() {
            repo.forget(
                ForgetOptions::default()
                    .ids(removed.clone())
                    .dry_run(dry_run),
            )?;
        }
        out.push(ComponentForget {
            name: c.name.clone(),
            rule: rule_text(&c.keep),
            decisions,
            kept: mine.len() - removed.len(),
            removed,
        });
    }
    Ok(out)
}
