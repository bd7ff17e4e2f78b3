//! `cairn plan run|status|restore|verify|forget|drill|validate`.

mod drill;
pub use drill::{json as drill_json, print as drill_print};
mod forget;
mod restore;
mod run;
mod status;

use crate::cli::{Global, PlanCommand, PlanValidateArgs};
use anyhow::Result;
use cairn_plan::Plan;
use std::path::Path;
use std::process::ExitCode;

/// Runs a plan subcommand.
pub fn run(g: &Global, c: &PlanCommand) -> Result<ExitCode> {
    match c {
        PlanCommand::Run(a) => run::run(g, a),
        PlanCommand::Status(a) => status::run(g, a),
        PlanCommand::Restore(a) => restore::restore(g, a),
        PlanCommand::Verify(a) => restore::verify(g, a),
        PlanCommand::Forget(a) => forget::run(g, a),
        PlanCommand::Drill(a) => drill::run(g, a),
        PlanCommand::Validate(a) => validate(g, a),
    }
}

/// Reads a plan file with this binary's component kinds.
pub fn load(path: &Path) -> Result<Plan> {
    Ok(cairn_plan::read_plan(path, &crate::components::registry())?)
}

/// Each file parsed and validated; the first bad one fails the command.
fn validate(g: &Global, a: &PlanValidateArgs) -> Result<ExitCode> {
    for p in &a.plans {
        let plan = load(p)?;
        let pending: Vec<String> = plan
            .components
            .iter()
            .filter_map(|c| {
                c.component
                    .unavailable()
                    .map(|why| format!("{} {why}", c.name))
            })
            .collect();
        if g.json {
            crate::output::json(&serde_json::json!({
                "message_type": "plan", "file": p, "plan": plan.name,
                "components": plan.names(), "not_runnable": pending,
            }));
        } else if !g.quiet {
            crate::out!(
                "{}: plan {} is valid: {} components ({})",
                p.display(),
                plan.name,
                plan.components.len(),
                plan.names().join(", ")
            );
            for why in &pending {
                crate::out!("  not runnable yet: {why}");
            }
        }
    }
    super::ok()
}
