//! `cairn plan status PLAN`.

use crate::cli::{Global, PlanFileArg};
use crate::{context, output};
use anyhow::Result;
use cairn_plan::{format_interval, PlanStatus};
use std::process::ExitCode;

pub fn run(g: &Global, a: &PlanFileArg) -> Result<ExitCode> {
    let plan = super::load(&a.plan)?;
    let repo = context::open_for_plan(g, &plan, false)?;
    let st = cairn_plan::plan_status(&repo, &plan, cairn::now_ns())?;
    let v = json(&st);
    if g.json {
        output::json(&v);
    } else if !g.quiet {
        print(&st);
    }
    crate::notify::plan_metrics(g, &repo, &plan);
    crate::notify::notify(g, "plan_status", st.healthy(), v);
    Ok(ExitCode::from(if st.healthy() {
        crate::exit::OK
    } else {
        crate::exit::OVERDUE
    }))
}

fn json(st: &PlanStatus) -> serde_json::Value {
    let comps: Vec<_> = st
        .components
        .iter()
        .map(|c| {
            serde_json::json!({
                "name": c.name, "kind": c.kind,
                "last_snapshot": c.last_good.map(|(id, _)| id.to_hex()),
                "last_time": c.last_good.map(|(_, t)| cairn::format_time(t)),
                "age_seconds": c.age.map(|a| a.as_secs()),
                "interval_seconds": c.interval.as_secs(), "overdue": c.overdue,
            })
        })
        .collect();
    let last = st.last_run.as_ref().map(|r| {
        serde_json::json!({
            "run": r.run, "started": r.started, "ended": r.ended,
            "status": st.last_run_status.map(|s| s.as_str()), "components": r.components,
            "errors": r.errors,
        })
    });
    serde_json::json!({
        "message_type": "plan_status", "plan": st.plan, "healthy": st.healthy(),
        "components": comps, "last_run": last,
    })
}

fn print(st: &PlanStatus) {
    crate::out!(
        "plan {}: {}",
        st.plan,
        if st.healthy() {
            "healthy"
        } else {
            "NEEDS ATTENTION"
        }
    );
    for c in &st.components {
        let last = match (c.last_good, c.age) {
            (Some((id, t)), Some(age)) => format!(
                "last {} at {} ({} ago)",
                id.short(),
                cairn::format_time(t),
                format_interval(age)
            ),
            _ => "never backed up".into(),
        };
        crate::out!(
            "  {:<16} {:<10} {:<8} {last}, expected every {}",
            c.name,
            c.kind,
            if c.overdue { "OVERDUE" } else { "ok" },
            format_interval(c.interval)
        );
    }
    match (&st.last_run, st.last_run_status) {
        (Some(r), Some(s)) => {
            crate::out!("  last run {} started {}: {}", r.run, r.started, s.as_str());
            if s == cairn_plan::RunStatus::Failed && r.status == cairn_plan::RunStatus::Running {
                crate::out!("    its process is gone: it was killed before it finished");
            }
            for c in r.components.iter().filter(|c| c.status != "ok") {
                crate::out!(
                    "    {}: {}{}",
                    c.name,
                    c.status,
                    c.error
                        .as_ref()
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default()
                );
            }
            for e in &r.errors {
                crate::out!("    {e}");
            }
        }
        _ => crate::out!("  no run recorded on this machine"),
    }
}
