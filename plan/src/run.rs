//! `plan run`: every component in backup order, each into its own
//! snapshot, inside the plan's cold window when it has one.

use crate::backup::{backup_component, ComponentRun, Mode, PlanFacts};
use crate::hooks::{run_hook, HookEnv};
use crate::journal::{default_state_dir, Journal, RunRecord, RunStatus};
use crate::model::{Hook, Plan, PlanComponent};
use cairn::{BackupReport, Error, Progress, Repository, Result, Snapshot, SnapshotId};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// How to run a plan.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct RunOptions {
    /// Only these components (in plan order); empty: all.
    pub only: Vec<String>,
    /// Go on with the next component after one fails.
    pub continue_on_error: bool,
    /// Set (from a signal handler) to stop: the running component stores
    /// what it read and writes no snapshot, the rest are skipped, and the
    /// post hook runs.
    pub cancel: Option<Arc<AtomicBool>>,
    /// Live counters, shared by all components.
    pub progress: Option<Arc<Progress>>,
    /// Called with one line per step (for a log or a terminal).
    pub log: Option<crate::component::LogFn>,
}

impl RunOptions {
    /// Sets `only`.
    pub fn only(mut self, names: Vec<String>) -> Self {
        self.only = names;
        self
    }
    /// Sets `continue_on_error`.
    pub fn continue_on_error(mut self, yes: bool) -> Self {
        self.continue_on_error = yes;
        self
    }
    /// Sets the stop flag.
    pub fn cancel(mut self, flag: Arc<AtomicBool>) -> Self {
        self.cancel = Some(flag);
        self
    }
    /// Sets the progress counters.
    pub fn progress(mut self, p: Option<Arc<Progress>>) -> Self {
        self.progress = p;
        self
    }
    /// Sets the step logger.
    pub fn log(mut self, f: crate::component::LogFn) -> Self {
        self.log = Some(f);
        self
    }
}

/// One component's part of a run.
#[derive(Debug)]
#[non_exhaustive]
pub struct ComponentReport {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// `ok`, `failed`, `skipped` or `interrupted`.
    pub status: String,
    /// The backup, when it stored a snapshot.
    pub backup: Option<BackupReport>,
    /// Why it failed or was skipped.
    pub error: Option<String>,
}

/// What a run did.
#[derive(Debug)]
#[non_exhaustive]
pub struct RunReport {
    /// Run id.
    pub run: String,
    /// Plan name.
    pub plan: String,
    /// Cold or hot.
    pub mode: Mode,
    /// Outcome.
    pub status: RunStatus,
    /// Components in backup order.
    pub components: Vec<ComponentReport>,
    /// Failures outside components (hooks).
    pub errors: Vec<String>,
    /// The run record's directory.
    pub journal: std::path::PathBuf,
}

/// A new run id: the UTC start time to the millisecond, then 4 hex
/// digits, so that ids sort by start time (`20261202T100010.123Z-3f2a`).
pub fn new_run_id() -> String {
    let now = chrono::Utc::now();
    let salt = (now.timestamp_subsec_nanos() ^ std::process::id().rotate_left(16)) & 0xffff;
    format!("{}Z-{salt:04x}", now.format("%Y%m%dT%H%M%S%.3f"))
}

struct Runner<'a> {
    repo: &'a Repository,
    plan: &'a Plan,
    opts: &'a RunOptions,
    cancel: Arc<AtomicBool>,
    record: RunRecord,
    journal: Journal,
    mode: Mode,
}

impl Runner<'_> {
    fn log(&self, line: &str) {
        if let Some(f) = &self.opts.log {
            f(line);
        }
    }

    fn save(&self) {
        if let Err(e) = self.journal.save(&self.record) {
            self.log(&format!("warning: cannot write the run record: {e}"));
        }
    }

    fn env(&self, component: &str, phase: &str, status: &str) -> HookEnv {
        HookEnv {
            plan: self.plan.name.clone(),
            run: self.record.run.clone(),
            component: component.into(),
            phase: phase.into(),
            status: status.into(),
        }
    }

    fn hook(&self, hook: &Hook, env: HookEnv, interruptible: bool) -> Result<()> {
        self.log(&format!("{} hook: {}", env.phase, hook.command));
        let stop = interruptible.then_some(self.cancel.as_ref());
        run_hook(hook, &env, stop)
    }

    fn stopped(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }

    /// One component, inside its own hooks.
    fn component(
        &mut self,
        pc: &PlanComponent,
        snaps: &[(SnapshotId, Snapshot)],
    ) -> Result<BackupReport> {
        let mut result = Ok(None);
        if let Some(pre) = &pc.hooks.pre {
            result = self
                .hook(pre, self.env(&pc.name, "pre", ""), true)
                .map(|_| None);
        }
        if result.is_ok() {
            self.log(&format!(
                "backing up {} ({}): {}",
                pc.name,
                pc.component.kind(),
                pc.component.describe()
            ));
            let mut tags = self.plan.tags.clone();
            tags.extend(pc.tags.iter().cloned());
            let run = ComponentRun::default()
                .plan(PlanFacts {
                    plan: self.plan.name.clone(),
                    run: self.record.run.clone(),
                    component: pc.name.clone(),
                    mode: self.mode,
                })
                .tags(tags)
                .host(self.plan.host.clone())
                .progress(self.opts.progress.clone())
                .cancel(Some(self.cancel.clone()));
            result = backup_component(self.repo, pc.component.as_ref(), &run, snaps).map(Some);
        }
        // The post hook runs whenever the pre hook was started (or there is
        // none), whatever happened since.
        if let Some(post) = &pc.hooks.post {
            let status = status_word(&result);
            if let Err(e) = self.hook(post, self.env(&pc.name, "post", status), false) {
                match result {
                    Ok(_) => result = Err(e),
                    Err(_) => self
                        .record
                        .errors
                        .push(format!("{} post hook: {e}", pc.name)),
                }
            }
        }
        result.and_then(|r| r.ok_or_else(|| Error::internal("no backup report")))
    }
}

fn status_word<T>(r: &Result<T>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(Error::Interrupted(_)) => "interrupted",
        Err(_) => "failed",
    }
}

/// The components a run covers, in plan order; refuses unknown names and
/// components whose adapter is not built.
pub fn selected<'p>(plan: &'p Plan, only: &[String]) -> Result<Vec<&'p PlanComponent>> {
    for n in only {
        plan.find(n)?;
    }
    let chosen: Vec<&PlanComponent> = plan
        .components
        .iter()
        .filter(|c| only.is_empty() || only.contains(&c.name))
        .collect();
    let blocked: Vec<String> = chosen
        .iter()
        .filter_map(|c| {
            c.component
                .unavailable()
                .map(|why| format!("{} ({}) {why}", c.name, c.component.kind()))
        })
        .collect();
    if !blocked.is_empty() {
        return Err(Error::invalid(format!(
            "plan {} cannot run: {}; nothing was backed up (leave them out with --only)",
            plan.name,
            blocked.join("; ")
        )));
    }
    Ok(chosen)
}

/// Runs a plan: the plan's `pre` hook, every selected component in order
/// (each inside its own hooks, each into its own snapshot), and the plan's
/// `post` hook, which runs whenever `pre` was started, whatever happened
/// after. A failing component fails the run; the others' snapshots stay.
pub fn run_plan(repo: &Repository, plan: &Plan, opts: &RunOptions) -> Result<RunReport> {
    plan.validate()?;
    let chosen = selected(plan, &opts.only)?;
    let state_dir = match &plan.state_dir {
        Some(d) => d.clone(),
        None => default_state_dir()?,
    };
    let mode = if plan.hooks.pre.is_some() {
        Mode::Cold
    } else {
        Mode::Hot
    };
    let run = new_run_id();
    let names: Vec<&str> = chosen.iter().map(|c| c.name.as_str()).collect();
    let mut r = Runner {
        repo,
        plan,
        opts,
        cancel: opts.cancel.clone().unwrap_or_default(),
        record: RunRecord::new(&run, &plan.name, mode.as_str(), &names),
        journal: Journal::new(&state_dir, &plan.name),
        mode,
    };
    r.journal.save(&r.record)?;
    r.log(&format!(
        "run {run} of plan {}: {}",
        plan.name,
        mode.explain()
    ));
    let mut reports = Vec::new();
    let mut pre_ok = true;
    if let Some(pre) = &plan.hooks.pre {
        if let Err(e) = r.hook(pre, r.env("", "pre", ""), true) {
            r.record.errors.push(format!("plan pre hook: {e}"));
            pre_ok = false;
        }
        r.save();
    }
    let (snaps, damaged) = repo.readable_snapshots()?;
    for e in damaged {
        r.log(&format!("warning: {e}; not considered as a parent"));
    }
    let mut stop_rest: Option<String> = (!pre_ok).then(|| "the plan's pre hook failed".into());
    for pc in &chosen {
        if stop_rest.is_none() && r.stopped() {
            stop_rest = Some("the run was stopped (SIGINT or SIGTERM)".into());
        }
        if let Some(why) = &stop_rest {
            reports.push(skip(pc, why));
            mark(&mut r.record, &pc.name, "skipped", None, Some(why.clone()));
            continue;
        }
        mark(&mut r.record, &pc.name, "running", None, None);
        r.save();
        let res = r.component(pc, &snaps);
        let rep = match res {
            Ok(b) => {
                r.log(&format!("{}: snapshot {} saved", pc.name, b.id.short()));
                mark(&mut r.record, &pc.name, "ok", Some(b.id.to_hex()), None);
                component_report(pc, "ok", Some(b), None)
            }
            Err(e) => {
                let word = if matches!(e, Error::Interrupted(_)) {
                    "interrupted"
                } else {
                    "failed"
                };
                r.log(&format!("{}: {word}: {e}", pc.name));
                mark(&mut r.record, &pc.name, word, None, Some(e.to_string()));
                if word == "interrupted" {
                    stop_rest = Some("the run was stopped (SIGINT or SIGTERM)".into());
                } else if !opts.continue_on_error {
                    stop_rest = Some(format!("component {} failed", pc.name));
                }
                component_report(pc, word, None, Some(e.to_string()))
            }
        };
        r.save();
        reports.push(rep);
    }
    if let Some(post) = &plan.hooks.post {
        let status = run_status(&reports, &r.record.errors, r.stopped());
        if let Err(e) = r.hook(post, r.env("", "post", status.as_str()), false) {
            r.record.errors.push(format!(
                "plan post hook: {e} (processing may still be paused: resume it by hand)"
            ));
        }
    }
    let status = run_status(&reports, &r.record.errors, r.stopped());
    r.record.status = status;
    r.record.ended = Some(cairn::format_time(cairn::now_ns()));
    r.journal.save(&r.record)?;
    let _ = r.journal.trim();
    Ok(RunReport {
        run,
        plan: plan.name.clone(),
        mode,
        status,
        components: reports,
        errors: r.record.errors.clone(),
        journal: r.journal.dir().to_path_buf(),
    })
}

fn run_status(reports: &[ComponentReport], errors: &[String], stopped: bool) -> RunStatus {
    if stopped || reports.iter().any(|c| c.status == "interrupted") {
        RunStatus::Interrupted
    } else if !errors.is_empty() || reports.iter().any(|c| c.status != "ok") {
        RunStatus::Failed
    } else {
        RunStatus::Ok
    }
}

fn mark(r: &mut RunRecord, name: &str, status: &str, snap: Option<String>, err: Option<String>) {
    if let Some(c) = r.component_mut(name) {
        c.status = status.into();
        c.snapshot = snap;
        c.error = err;
    }
}

fn component_report(
    pc: &PlanComponent,
    status: &str,
    backup: Option<BackupReport>,
    error: Option<String>,
) -> ComponentReport {
    ComponentReport {
        name: pc.name.clone(),
        kind: pc.component.kind().into(),
        status: status.into(),
        backup,
        error,
    }
}

fn skip(pc: &PlanComponent, why: &str) -> ComponentReport {
    component_report(pc, "skipped", None, Some(why.into()))
}
