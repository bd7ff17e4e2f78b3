//! `cairn plan forget PLAN`.

use crate::cli::{Global, PlanForgetArgs};
use crate::{context, output};
use anyhow::Result;
use std::process::ExitCode;

pub fn run(g: &Global, a: &PlanForgetArgs) -> Result<ExitCode> {
    let plan = super::load(&a.plan)?;
    let repo = context::open_for_plan(g, &plan, false)?;
    let out = cairn_plan::forget_plan(&repo, &plan, a.dry_run)?;
    if g.json {
        let v: Vec<_> = out
            .iter()
            .map(|c| {
                serde_json::json!({
                    "name": c.name, "rule": c.rule,
                    "kept": c.kept,
                    "removed": c.removed.iter().map(|i| i.to_hex()).collect::<Vec<_>>(),
                })
            })
            .collect();
        output::json(
            &serde_json::json!({ "message_type": "plan_forget", "dry_run": a.dry_run, "components": v }),
        );
    } else if !g.quiet {
        for c in &out {
            crate::out!(
                "  {:<16} keep {}: {} kept, {} {}",
                c.name,
                c.rule,
                c.kept,
                c.removed.len(),
                if a.dry_run {
                    "would be removed"
                } else {
                    "removed"
                }
            );
        }
        if !a.dry_run && out.iter().any(|c| !c.removed.is_empty()) {
            crate::out!("run `cairn prune` to free their data");
        }
    }
    super::super::ok()
}
