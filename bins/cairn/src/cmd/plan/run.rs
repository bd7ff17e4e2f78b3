//! `cairn plan run PLAN`.

use crate::cli::{Global, PlanRunArgs};
use crate::{context, output, progress};
use anyhow::Result;
use cairn_plan::{RunOptions, RunReport, RunStatus};
use std::process::ExitCode;
use std::sync::Arc;

pub fn run(g: &Global, a: &PlanRunArgs) -> Result<ExitCode> {
    let plan = super::load(&a.plan)?;
    // Refuse unknown or unbuilt components before opening anything.
    cairn_plan::selected(&plan, &a.only)?;
    let repo = context::open_for_plan(g, &plan, true)?;
    let stop = crate::signals::stop_flag();
    let reporter = progress::Reporter::start("plan run", g.json, g.quiet);
    let quiet = g.quiet || g.json;
    let opts = RunOptions::default()
        .only(a.only.clone())
        .continue_on_error(a.continue_on_error)
        .cancel(stop)
        .progress(Some(reporter.counters.clone()))
        .log(Arc::new(move |line: &str| {
            if !quiet {
                crate::err!("cairn: {line}");
            }
        }));
    let report = cairn_plan::run_plan(&repo, &plan, &opts);
    drop(reporter);
    let report = report?;
    let v = json(&report);
    if g.json {
        output::json(&v);
    } else if !g.quiet {
        print(&report);
    }
    crate::notify::plan_metrics(g, &repo, &plan);
    crate::notify::notify(g, "plan_run", report.status == RunStatus::Ok, v);
    Ok(ExitCode::from(match report.status {
        RunStatus::Ok => crate::exit::OK,
        RunStatus::Interrupted => crate::exit::INTERRUPTED,
        _ => crate::exit::PLAN_FAILED,
    }))
}

fn json(r: &RunReport) -> serde_json::Value {
    let comps: Vec<_> = r
        .components
        .iter()
        .map(|c| {
            let mut v = serde_json::json!({
                "name": c.name, "kind": c.kind, "status": c.status, "error": c.error,
            });
            if let Some(b) = &c.backup {
                v["snapshot_id"] = b.id.to_hex().into();
                v["summary"] = output::summary_json(&b.snapshot.summary);
                let facts = |prefix: &str| -> serde_json::Map<String, serde_json::Value> {
                    b.snapshot
                        .info
                        .iter()
                        .filter(|(k, _)| k.starts_with(prefix))
                        .map(|(k, x)| (k[prefix.len()..].to_string(), x.clone().into()))
                        .collect()
                };
                v["marker"] = facts(cairn_plan::keys::MARKER).into();
                v["started"] = b
                    .snapshot
                    .info
                    .get(cairn_plan::keys::STARTED)
                    .cloned()
                    .into();
                v["ended"] = b.snapshot.info.get(cairn_plan::keys::ENDED).cloned().into();
                v["consistency"] = b
                    .snapshot
                    .info
                    .get(cairn_plan::keys::CONSISTENCY)
                    .cloned()
                    .into();
            }
            v
        })
        .collect();
    serde_json::json!({
        "message_type": "plan_run", "plan": r.plan, "run": r.run, "status": r.status.as_str(),
        "mode": r.mode.as_str(), "consistency": r.mode.explain(), "components": comps,
        "errors": r.errors, "journal": r.journal,
    })
}

fn print(r: &RunReport) {
    crate::out!("plan {} run {}: {}", r.plan, r.run, r.status.as_str());
    crate::out!("  {}", r.mode.explain());
    for c in &r.components {
        match &c.backup {
            Some(b) => {
                crate::out!(
                    "  {:<16} {:<10} ok      snapshot {}: {}",
                    c.name,
                    c.kind,
                    b.id.short(),
                    output::transfer(&b.snapshot.summary)
                );
            }
            None => crate::out!(
                "  {:<16} {:<10} {:<7} {}",
                c.name,
                c.kind,
                c.status,
                c.error.as_deref().unwrap_or("")
            ),
        }
    }
    for e in &r.errors {
        crate::out!("  error: {e}");
    }
}
