//! `cairn forget`.

use crate::cli::{ForgetArgs, Global, PruneArgs};
use crate::{context, output};
use anyhow::Result;
use cairn::{parse_tag_list, ForgetOptions, GroupBy, RetentionPolicy};
use std::process::ExitCode;

pub fn run(g: &Global, a: &ForgetArgs) -> Result<ExitCode> {
    let policy = RetentionPolicy {
        last: a.keep_last,
        hourly: a.keep_hourly,
        daily: a.keep_daily,
        weekly: a.keep_weekly,
        monthly: a.keep_monthly,
        yearly: a.keep_yearly,
        within: a.keep_within,
        within_hourly: a.keep_within_hourly,
        within_daily: a.keep_within_daily,
        within_weekly: a.keep_within_weekly,
        within_monthly: a.keep_within_monthly,
        within_yearly: a.keep_within_yearly,
        tags: a.keep_tag.iter().map(|t| parse_tag_list(t)).collect(),
    };
    crate::select::no_latest(&a.filter, "forget")?;
    let repo = context::open(g)?;
    if !a.ids.is_empty() {
        return forget_ids(g, &repo, a);
    }
    let snaps: std::collections::HashMap<_, _> = repo.readable_snapshots()?.0.into_iter().collect();
    let decisions = repo
        .forget(
            ForgetOptions::default()
                .policy(policy)
                .group_by(GroupBy::parse(&a.group_by)?)
                .filter(crate::select::filter(&a.filter)?)
                .dry_run(a.dry_run),
        )?
        .decisions;
    if g.json {
        let v: Vec<_> = decisions
            .iter()
            .map(|d| {
                let s = snaps.get(&d.id);
                serde_json::json!({
                    "id": d.id.to_hex(), "short_id": d.id.short(), "keep": d.keep, "reasons": d.reasons,
                    "group": d.group, "time": s.map(|s| s.time_string()), "host": s.map(|s| s.host.clone()),
                    "tags": s.map(|s| s.tags.clone()), "dry_run": a.dry_run,
                })
            })
            .collect();
        output::json(&serde_json::Value::Array(v));
    } else {
        for d in &decisions {
            let s = snaps.get(&d.id);
            crate::out!(
                "{} {}  {}  {:<12} {}",
                if d.keep { "keep  " } else { "remove" },
                d.id.short(),
                s.map(|s| s.time_string()).unwrap_or_default(),
                s.map(|s| s.host.clone()).unwrap_or_default(),
                d.reasons.join(", ")
            );
        }
        let removed = decisions.iter().filter(|d| !d.keep).count();
        let verb = if a.dry_run { "would remove" } else { "removed" };
        crate::out!("{verb} {removed} of {} snapshots", decisions.len());
    }
    if a.prune && !a.dry_run {
        let p = PruneArgs {
            grace: "1h".into(),
            repack_threshold: 0.5,
            dry_run: false,
            stale_session: "24h".into(),
        };
        return super::prune::run(g, &p);
    }
    super::ok()
}

/// `forget ID...`: the named snapshots, damaged or not.
fn forget_ids(g: &Global, repo: &cairn::Repository, a: &ForgetArgs) -> Result<ExitCode> {
    let ids = a
        .ids
        .iter()
        .map(|s| repo.resolve_snapshot(s))
        .collect::<cairn::Result<Vec<_>>>()?;
    let removed = repo
        .forget(ForgetOptions::default().ids(ids).dry_run(a.dry_run))?
        .removed;
    if g.json {
        let v: Vec<_> = removed
            .iter()
            .map(|id| serde_json::json!({"id": id.to_hex(), "keep": false, "dry_run": a.dry_run}))
            .collect();
        output::json(&serde_json::Value::Array(v));
    } else {
        let verb = if a.dry_run { "would remove" } else { "removed" };
        for id in &removed {
            crate::out!("{verb} snapshot {}", id.short());
        }
    }
    if a.prune && !a.dry_run {
        let p = PruneArgs {
            grace: "1h".into(),
            repack_threshold: 0.5,
            dry_run: false,
            stale_session: "24h".into(),
        };
        return super::prune::run(g, &p);
    }
    super::ok()
}
