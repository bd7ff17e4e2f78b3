//! One component into one snapshot: the single backup path every
//! component takes, inside a plan run or alone (`cairn backup postgres`).

use crate::component::{CaptureCx, Component};
use cairn::{
    now_ns, BackupOptions, BackupReport, Progress, Repository, Result, Snapshot, SnapshotId,
};
use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Snapshot info keys written for every component backup.
pub mod keys {
    /// Plan name.
    pub const PLAN: &str = "plan.name";
    /// Run id.
    pub const RUN: &str = "plan.run";
    /// Component name in the plan.
    pub const COMPONENT: &str = "plan.component";
    /// Component kind.
    pub const KIND: &str = "plan.kind";
    /// `cold` or `hot`.
    pub const MODE: &str = "plan.mode";
    /// When this component's backup started (RFC 3339, nanoseconds).
    pub const STARTED: &str = "plan.started";
    /// When everything was read.
    pub const ENDED: &str = "plan.ended";
    /// What one consistent point the snapshot is, in words.
    pub const CONSISTENCY: &str = "plan.consistency";
    /// Prefix of the consistency marker's entries.
    pub const MARKER: &str = "marker.";
}

/// Cold: the plan's `pre` hook paused processing for the whole run, so the
/// components agree with each other. Hot: they were taken one after the
/// other while the platform ran, so they are not atomic across components.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Processing paused by the plan's hooks.
    Cold,
    /// Not paused.
    Hot,
}

impl Mode {
    /// `cold` or `hot`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Mode::Cold => "cold",
            Mode::Hot => "hot",
        }
    }

    /// The sentence a run report prints.
    pub fn explain(&self) -> &'static str {
        match self {
            Mode::Cold => {
                "cold: the plan's pre hook paused processing for the whole run, so the components are consistent with each other"
            }
            Mode::Hot => {
                "hot: components were backed up one after another while the platform ran; each is consistent on its own, but the set is not atomic across components"
            }
        }
    }
}

/// The plan a component backup belongs to.
#[derive(Clone, Debug)]
pub struct PlanFacts {
    /// Plan name.
    pub plan: String,
    /// Run id.
    pub run: String,
    /// Component name.
    pub component: String,
    /// Cold or hot.
    pub mode: Mode,
}

/// How one component backup is written.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct ComponentRun {
    /// The plan run, if any.
    pub plan: Option<PlanFacts>,
    /// Snapshot tags.
    pub tags: Vec<String>,
    /// Host to record (default: this machine's).
    pub host: Option<String>,
    /// Live counters.
    pub progress: Option<Arc<Progress>>,
    /// Set to stop: what was read is stored, no snapshot is written.
    pub cancel: Option<Arc<AtomicBool>>,
}

impl ComponentRun {
    /// Sets the plan facts.
    pub fn plan(mut self, p: PlanFacts) -> Self {
        self.plan = Some(p);
        self
    }
    /// Sets the tags.
    pub fn tags(mut self, t: Vec<String>) -> Self {
        self.tags = t;
        self
    }
    /// Sets the host.
    pub fn host(mut self, h: Option<String>) -> Self {
        self.host = h;
        self
    }
    /// Sets the progress counters.
    pub fn progress(mut self, p: Option<Arc<Progress>>) -> Self {
        self.progress = p;
        self
    }
    /// Sets the stop flag.
    pub fn cancel(mut self, c: Option<Arc<AtomicBool>>) -> Self {
        self.cancel = c;
        self
    }
}

/// Whether a snapshot belongs to this plan component.
pub fn belongs(s: &Snapshot, plan: &str, component: &str) -> bool {
    s.info.get(keys::PLAN).map(String::as_str) == Some(plan)
        && s.info.get(keys::COMPONENT).map(String::as_str) == Some(component)
}

fn previous<'a>(
    c: &dyn Component,
    run: &ComponentRun,
    snaps: &'a [(SnapshotId, Snapshot)],
) -> Option<&'a (SnapshotId, Snapshot)> {
    snaps.iter().rev().find(|(_, s)| {
        c.is_previous(s)
            && match &run.plan {
                Some(p) => belongs(s, &p.plan, &p.component),
                None => true,
            }
    })
}

fn time_text(ns: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(ns).to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// Backs up one component into a new snapshot. `snaps` are the
/// repository's snapshots (oldest first), where the parent is looked for.
pub fn backup_component(
    repo: &Repository,
    c: &dyn Component,
    run: &ComponentRun,
    snaps: &[(SnapshotId, Snapshot)],
) -> Result<BackupReport> {
    let started = now_ns();
    let cancel = run.cancel.clone().unwrap_or_default();
    let capture = c.capture(&CaptureCx {
        repo,
        previous: previous(c, run, snaps),
        cancel: cancel.clone(),
    })?;
    let mut info: BTreeMap<String, String> = capture.info;
    info.insert(keys::KIND.into(), c.kind().into());
    info.insert(keys::STARTED.into(), time_text(started));
    if !capture.consistency.is_empty() {
        info.insert(keys::CONSISTENCY.into(), capture.consistency);
    }
    for (k, v) in capture.marker {
        info.insert(format!("{}{k}", keys::MARKER), v);
    }
    if let Some(p) = &run.plan {
        info.insert(keys::PLAN.into(), p.plan.clone());
        info.insert(keys::RUN.into(), p.run.clone());
        info.insert(keys::COMPONENT.into(), p.component.clone());
        info.insert(keys::MODE.into(), p.mode.as_str().into());
    }
    let marker_end = capture.marker_end;
    let finish: cairn::FinishInfo = Box::new(move || {
        let mut out = BTreeMap::new();
        if let Some(f) = marker_end {
            for (k, v) in f()? {
                out.insert(format!("{}{k}", keys::MARKER), v);
            }
        }
        out.insert(keys::ENDED.into(), time_text(now_ns()));
        Ok(out)
    });
    repo.backup(
        BackupOptions::default()
            .paths(capture.paths)
            .excludes(capture.excludes)
            .streams(capture.streams)
            .parent(capture.parent)
            .tags(run.tags.clone())
            .host(run.host.clone())
            .time_ns(Some(started))
            .source(Some(c.kind().to_string()))
            .info(info)
            .progress(run.progress.clone())
            .cancel(Some(cancel))
            .finish_info(Some(finish)),
    )
}

/// When a snapshot's component backup started (`plan.started`, else the
/// snapshot time), Unix nanoseconds.
pub fn started_ns(s: &Snapshot) -> i64 {
    s.info
        .get(keys::STARTED)
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .and_then(|t| t.timestamp_nanos_opt())
        .unwrap_or(s.time_ns)
}
