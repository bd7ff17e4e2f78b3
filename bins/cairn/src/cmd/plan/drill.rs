//! `cairn plan drill PLAN`.

use crate::cli::{Global, PlanDrillArgs};
use crate::{context, output};
use anyhow::Result;
use cairn_plan::{DrillOptions, DrillPick, DrillReport};
use std::process::ExitCode;

fn pick_text(p: DrillPick) -> String {
    match p {
        DrillPick::Latest => "latest".into(),
        DrillPick::Nth(n) => n.to_string(),
        DrillPick::Random(seed) => format!("random:{seed}"),
    }
}

pub fn run(g: &Global, a: &PlanDrillArgs) -> Result<ExitCode> {
    let plan = super::load(&a.plan)?;
    let pick = DrillPick::parse(&a.pick)?;
    let repo = context::open_for_plan(g, &plan, false)?;
    let opts = DrillOptions::default()
        .pick(pick)
        .only(a.only.clone())
        .scratch_dir(a.scratch_dir.clone());
    let report = cairn_plan::drill_plan(&repo, &plan, &opts)?;
    let v = json(&report);
    if g.json {
        output::json(&v);
    } else if !g.quiet {
        print(&report);
    }
    crate::notify::plan_metrics(g, &repo, &plan);
    crate::notify::notify(g, "plan_drill", report.ok(), v);
    Ok(ExitCode::from(if report.ok() {
        crate::exit::OK
    } else {
        crate::exit::PLAN_FAILED
    }))
}

pub fn json(r: &DrillReport) -> serde_json::Value {
    let steps: Vec<_> = r
        .steps
        .iter()
        .map(|s| {
            let mut v = match &s.result {
                Ok(o) => crate::cmd::component::outcome_json(&s.kind, &s.snapshot, o),
                Err(e) => serde_json::json!({ "snapshot_id": s.snapshot.to_hex(), "kind": s.kind, "error": e }),
            };
            v["name"] = s.name.clone().into();
            v["run"] = s.run.clone().into();
            v["candidates"] = s.candidates.into();
            v["rto_ms"] = (s.rto.as_millis() as u64).into();
            v["ok"] = s.result.is_ok().into();
            v
        })
        .collect();
    serde_json::json!({
        "message_type": "drill", "plan": r.plan, "pick": pick_text(r.pick), "ok": r.ok(),
        "started": cairn::format_time(r.started_ns), "components": steps, "missing": r.missing,
    })
}

pub fn print(r: &DrillReport) {
    crate::out!(
        "drill of {} (pick {}, replay with --pick {}):",
        r.plan,
        pick_text(r.pick),
        pick_text(r.pick)
    );
    for s in &r.steps {
        let (word, what) = match &s.result {
            Ok(o) => ("passed", o.summary.clone()),
            Err(e) => ("FAILED", e.clone()),
        };
        crate::out!(
            "  {:<16} {:<10} {word:<7} snapshot {} (1 of {}), restored in {:.1}s: {what}",
            s.name,
            s.kind,
            s.snapshot.short(),
            s.candidates,
            s.rto.as_secs_f64()
        );
        if let Ok(o) = &s.result {
            for d in &o.details {
                crate::out!("      {d}");
            }
        }
    }
    for m in &r.missing {
        crate::out!("  {m:<16} no snapshot to drill");
    }
    crate::out!(
        "{}: drill {}",
        r.plan,
        if r.ok() { "passed" } else { "FAILED" }
    );
}
