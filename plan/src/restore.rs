//! `plan restore`: every component in the plan's restore order, the
//! ordering rules checked first, the runbook printed as it is executed.

use crate::component::{Outcome, RestoreCx};
use crate::hooks::{run_hook, HookEnv};
use crate::model::{Plan, PlanComponent};
use crate::select::{choose, order_violations, Chosen, Pick};
use cairn::{format_time, Error, Repository, Result};

/// How to restore a plan.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct PlanRestoreOptions {
    /// Which snapshots.
    pub pick: Pick,
    /// Only these components; empty: all.
    pub only: Vec<String>,
    /// Restore even when the set breaks an ordering rule.
    pub force: bool,
    /// Print the plan of action, touch nothing.
    pub dry_run: bool,
    /// One line per step.
    pub log: Option<crate::component::LogFn>,
}

impl PlanRestoreOptions {
    /// Sets the pick.
    pub fn pick(mut self, p: Pick) -> Self {
        self.pick = p;
        self
    }
    /// Sets `only`.
    pub fn only(mut self, names: Vec<String>) -> Self {
        self.only = names;
        self
    }
    /// Sets `force`.
    pub fn force(mut self, yes: bool) -> Self {
        self.force = yes;
        self
    }
    /// Sets `dry_run`.
    pub fn dry_run(mut self, yes: bool) -> Self {
        self.dry_run = yes;
        self
    }
    /// Sets the logger.
    pub fn log(mut self, f: crate::component::LogFn) -> Self {
        self.log = Some(f);
        self
    }
}

/// One step of a restore.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Step {
    /// Component name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// Snapshot restored.
    pub snapshot: cairn::SnapshotId,
    /// Its run.
    pub run: String,
    /// Where it goes, in words.
    pub target: String,
    /// `done`, `failed`, `not run`, or `planned` (dry run).
    pub status: String,
    /// What it did.
    pub outcome: Option<Outcome>,
    /// Why it failed.
    pub error: Option<String>,
}

/// What a plan restore did (or, dry, would do).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PlanRestoreReport {
    /// Steps in restore order.
    pub steps: Vec<Step>,
    /// The runbook: every action in order, as printed.
    pub runbook: Vec<String>,
    /// The checklist to work through afterwards.
    pub checklist: Vec<String>,
    /// Ordering rules the set breaks (only non-empty with `force`).
    pub violations: Vec<String>,
    /// Failures of hooks.
    pub errors: Vec<String>,
    /// Nothing was touched.
    pub dry_run: bool,
}

impl PlanRestoreReport {
    /// Every step done and every hook succeeded.
    pub fn ok(&self) -> bool {
        self.errors.is_empty()
            && self
                .steps
                .iter()
                .all(|s| s.status == "done" || s.status == "planned")
    }
}

/// The selected components in restore order.
pub fn restore_components<'p>(plan: &'p Plan, only: &[String]) -> Result<Vec<&'p PlanComponent>> {
    for n in only {
        plan.find(n)?;
    }
    Ok(plan
        .restore_order()?
        .into_iter()
        .filter(|c| only.is_empty() || only.contains(&c.name))
        .collect())
}

/// The runbook: numbered actions in order, then the checklist.
pub fn runbook(plan: &Plan, set: &[Chosen<'_>]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut n = 0;
    let mut step = |lines: &mut Vec<String>, s: String| {
        n += 1;
        lines.push(format!("{n}. {s}"));
    };
    if let Some(h) = &plan.restore.hooks.pre {
        step(
            &mut lines,
            format!("run the restore pre hook: {}", h.command),
        );
    }
    for c in set {
        step(
            &mut lines,
            format!(
                "restore {} ({}) from snapshot {} (run {}, taken {}) into {}",
                c.component.name,
                c.component.component.kind(),
                c.id.short(),
                c.run(),
                format_time(crate::backup::started_ns(&c.snapshot)),
                c.component.component.restore_target()
            ),
        );
    }
    if let Some(h) = &plan.restore.hooks.post {
        step(
            &mut lines,
            format!("run the restore post hook: {}", h.command),
        );
    }
    lines
}

/// The snapshots a restore of `plan` uses, in restore order, and the
/// ordering rules they break (empty when none).
pub fn restore_set<'p>(
    repo: &Repository,
    plan: &'p Plan,
    pick: &Pick,
    only: &[String],
) -> Result<(Vec<Chosen<'p>>, Vec<String>)> {
    plan.validate()?;
    let comps = restore_components(plan, only)?;
    let mut set = choose(repo, plan, pick, &comps)?;
    // choose() keeps the order it was given: the restore order.
    set.sort_by_key(|c| comps.iter().position(|p| p.name == c.component.name));
    let violations = order_violations(&set);
    Ok((set, violations))
}

/// Restores a plan. Refuses (before touching anything) a set that breaks
/// an `older_than` rule unless forced; stops at the first failing
/// component; runs the restore post hook whenever the pre hook was started.
pub fn restore_plan(
    repo: &Repository,
    plan: &Plan,
    opts: &PlanRestoreOptions,
) -> Result<PlanRestoreReport> {
    let (set, violations) = restore_set(repo, plan, &opts.pick, &opts.only)?;
    restore_chosen(repo, plan, set, violations, opts)
}

/// Restores a set [`restore_set`] chose (`opts.pick` and `opts.only` are
/// not used again): the caller can show it first without choosing twice.
pub fn restore_chosen(
    repo: &Repository,
    plan: &Plan,
    set: Vec<Chosen<'_>>,
    violations: Vec<String>,
    opts: &PlanRestoreOptions,
) -> Result<PlanRestoreReport> {
    if !violations.is_empty() && !opts.force {
        return Err(Error::invalid(format!(
            "refusing to restore plan {}: {}; nothing was restored (pick another run, or --force)",
            plan.name,
            violations.join("; ")
        )));
    }
    let log = |s: &str| {
        if let Some(f) = &opts.log {
            f(s)
        }
    };
    let mut report = PlanRestoreReport {
        steps: set
            .iter()
            .map(|c| Step {
                name: c.component.name.clone(),
                kind: c.component.component.kind().into(),
                snapshot: c.id,
                run: c.run().into(),
                target: c.component.component.restore_target(),
                status: if opts.dry_run { "planned" } else { "not run" }.into(),
                outcome: None,
                error: None,
            })
            .collect(),
        runbook: runbook(plan, &set),
        checklist: plan.restore.checklist.clone(),
        violations,
        errors: Vec::new(),
        dry_run: opts.dry_run,
    };
    if opts.dry_run {
        return Ok(report);
    }
    let env = |phase: &str, status: &str| HookEnv {
        plan: plan.name.clone(),
        run: set.first().map(|c| c.run().to_string()).unwrap_or_default(),
        phase: phase.into(),
        status: status.into(),
        ..Default::default()
    };
    let mut failed = false;
    if let Some(h) = &plan.restore.hooks.pre {
        log(&format!("restore pre hook: {}", h.command));
        if let Err(e) = run_hook(h, &env("restore-pre", ""), None) {
            report.errors.push(format!("restore pre hook: {e}"));
            failed = true;
        }
    }
    for (c, step) in set.iter().zip(report.steps.iter_mut()) {
        if failed {
            break;
        }
        log(&format!(
            "restoring {} from snapshot {} into {}",
            c.component.name,
            c.id.short(),
            step.target
        ));
        let cx = RestoreCx {
            repo,
            id: c.id,
            snapshot: &c.snapshot,
            log: opts.log.as_ref().map(|f| {
                let (f, name) = (f.clone(), c.component.name.clone());
                std::sync::Arc::new(move |l: &str| f(&format!("{name}: {l}")))
                    as crate::component::LogFn
            }),
        };
        match c.component.component.restore(&cx) {
            Ok(o) => {
                log(&format!("{}: {}", c.component.name, o.summary));
                step.status = "done".into();
                step.outcome = Some(o);
            }
            Err(e) => {
                log(&format!("{}: failed: {e}", c.component.name));
                step.status = "failed".into();
                step.error = Some(e.to_string());
                failed = true;
            }
        }
    }
    if let Some(h) = &plan.restore.hooks.post {
        log(&format!("restore post hook: {}", h.command));
        let status = if failed { "failed" } else { "ok" };
        if let Err(e) = run_hook(h, &env("restore-post", status), None) {
            report.errors.push(format!("restore post hook: {e}"));
        }
    }
    Ok(report)
}

/// What verifying one component's snapshot found.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct VerifyStep {
    /// Component name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// Snapshot.
    pub snapshot: cairn::SnapshotId,
    /// Its run.
    pub run: String,
    /// The result.
    pub result: std::result::Result<Outcome, String>,
}

/// Verifies the snapshots a restore would use, every component in restore
/// order, each on its own: one failing does not hide the others.
pub fn verify_plan(
    repo: &Repository,
    plan: &Plan,
    pick: &Pick,
    only: &[String],
) -> Result<Vec<VerifyStep>> {
    let (set, _) = restore_set(repo, plan, pick, only)?;
    Ok(set
        .iter()
        .map(|c| {
            let cx = RestoreCx {
                repo,
                id: c.id,
                snapshot: &c.snapshot,
                log: None,
            };
            VerifyStep {
                name: c.component.name.clone(),
                kind: c.component.component.kind().into(),
                snapshot: c.id,
                run: c.run().into(),
                result: c.component.component.verify(&cx).map_err(|e| e.to_string()),
            }
        })
        .collect())
}
