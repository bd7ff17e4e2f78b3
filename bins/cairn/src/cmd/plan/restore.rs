//! `cairn plan restore PLAN [RUN]` and `cairn plan verify PLAN [RUN]`.

use crate::cli::{Global, PlanPickArgs, PlanRestoreArgs};
use crate::{context, output};
use anyhow::Result;
use cairn_plan::{Pick, PlanRestoreOptions, PlanRestoreReport};
use std::process::ExitCode;
use std::sync::Arc;

fn pick(a: &PlanPickArgs) -> Pick {
    match (&a.run, a.latest) {
        (Some(r), _) => Pick::Run(r.clone()),
        (None, true) => Pick::LatestEach,
        (None, false) => Pick::LatestComplete,
    }
}

pub fn restore(g: &Global, a: &PlanRestoreArgs) -> Result<ExitCode> {
    let plan = super::load(&a.pick.plan)?;
    let repo = context::open_for_plan(g, &plan, false)?;
    let (set, violations) = cairn_plan::restore_set(&repo, &plan, &pick(&a.pick), &a.pick.only)?;
    if !violations.is_empty() && !a.force {
        for v in &violations {
            crate::err!("cairn: ordering rule broken: {v}");
        }
        crate::err!(
            "cairn: refusing to restore: nothing was touched (pick another run, or --force)"
        );
        if g.json {
            output::json(&serde_json::json!({
                "message_type": "error", "message": "ordering rule broken", "violations": violations,
                "exit_code": crate::exit::ORDER_REFUSED,
            }));
        }
        return Ok(ExitCode::from(crate::exit::ORDER_REFUSED));
    }
    if !g.json && !g.quiet {
        crate::out!(
            "{} plan {}:",
            if a.dry_run {
                "would restore"
            } else {
                "restoring"
            },
            plan.name
        );
        for line in cairn_plan::runbook(&plan, &set) {
            crate::out!("  {line}");
        }
    }
    let quiet = g.quiet || g.json;
    let opts = PlanRestoreOptions::default()
        .pick(pick(&a.pick))
        .only(a.pick.only.clone())
        .force(a.force)
        .dry_run(a.dry_run)
        .log(Arc::new(move |line: &str| {
            if !quiet {
                crate::err!("cairn: {line}");
            }
        }));
    let report = cairn_plan::restore_chosen(&repo, &plan, set, violations, &opts)?;
    if g.json {
        output::json(&json(&report));
    } else if !g.quiet {
        print(&report);
    }
    Ok(ExitCode::from(if report.ok() {
        crate::exit::OK
    } else {
        crate::exit::PLAN_FAILED
    }))
}

fn json(r: &PlanRestoreReport) -> serde_json::Value {
    let steps: Vec<_> = r
        .steps
        .iter()
        .map(|s| {
            let mut v = serde_json::json!({
                "name": s.name, "kind": s.kind, "snapshot_id": s.snapshot.to_hex(), "run": s.run,
                "target": s.target, "status": s.status, "error": s.error,
            });
            if let Some(o) = &s.outcome {
                v["outcome"] = crate::cmd::component::outcome_json(&s.kind, &s.snapshot, o);
            }
            v
        })
        .collect();
    serde_json::json!({
        "message_type": "plan_restore", "ok": r.ok(), "dry_run": r.dry_run, "steps": steps,
        "runbook": r.runbook, "checklist": r.checklist, "violations": r.violations, "errors": r.errors,
    })
}

fn print(r: &PlanRestoreReport) {
    for s in &r.steps {
        let what = match (&s.outcome, &s.error) {
            (Some(o), _) => o.summary.clone(),
            (_, Some(e)) => e.clone(),
            _ => String::new(),
        };
        crate::out!("  {:<16} {:<10} {:<8} {what}", s.name, s.kind, s.status);
    }
    for v in &r.violations {
        crate::out!("  forced past: {v}");
    }
    for e in &r.errors {
        crate::out!("  error: {e}");
    }
    if !r.checklist.is_empty() {
        crate::out!("checklist after the restore:");
        for c in &r.checklist {
            crate::out!("  [ ] {c}");
        }
    }
}

pub fn verify(g: &Global, a: &PlanPickArgs) -> Result<ExitCode> {
    let plan = super::load(&a.plan)?;
    let repo = context::open_for_plan(g, &plan, false)?;
    let steps = cairn_plan::verify_plan(&repo, &plan, &pick(a), &a.only)?;
    let ok = steps.iter().all(|s| s.result.is_ok());
    if g.json {
        let v: Vec<_> = steps
            .iter()
            .map(|s| match &s.result {
                Ok(o) => {
                    let mut v = crate::cmd::component::outcome_json(&s.kind, &s.snapshot, o);
                    v["name"] = s.name.clone().into();
                    v["ok"] = true.into();
                    v
                }
                Err(e) => serde_json::json!({
                    "name": s.name, "kind": s.kind, "snapshot_id": s.snapshot.to_hex(), "ok": false, "error": e,
                }),
            })
            .collect();
        output::json(
            &serde_json::json!({ "message_type": "plan_verify", "ok": ok, "components": v }),
        );
    } else if !g.quiet {
        for s in &steps {
            match &s.result {
                Ok(o) => {
                    crate::out!(
                        "  {:<16} {:<10} ok       snapshot {}: {}",
                        s.name,
                        s.kind,
                        s.snapshot.short(),
                        o.summary
                    );
                    for d in &o.details {
                        crate::out!("      {d}");
                    }
                }
                Err(e) => crate::out!(
                    "  {:<16} {:<10} FAILED   snapshot {}: {e}",
                    s.name,
                    s.kind,
                    s.snapshot.short()
                ),
            }
        }
        crate::out!(
            "plan {}: {}",
            plan.name,
            if ok {
                "every component verified"
            } else {
                "verification FAILED"
            }
        );
    }
    Ok(ExitCode::from(if ok {
        crate::exit::OK
    } else {
        crate::exit::PLAN_FAILED
    }))
}
