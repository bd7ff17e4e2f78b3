//! `plan drill`: restore drills. For each component, one snapshot is
//! picked (the newest, the N-th newest, or one at random from a seed that
//! the report prints, so a drill can be replayed), restored into a scratch
//! target by the component's own drill, checked, cleaned up, and timed:
//! the measured recovery time.

use crate::backup::belongs;
use crate::component::{Outcome, RestoreCx};
use crate::journal::{DrillRecord, DrillRecordStep, Journal};
use crate::model::Plan;
use crate::restore::restore_components;
use cairn::{Error, Repository, Result, SnapshotId};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Which snapshot of each component a drill takes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DrillPick {
    /// The newest.
    #[default]
    Latest,
    /// One at random, from this seed.
    Random(u64),
    /// The N-th newest (0 = newest).
    Nth(usize),
}

impl DrillPick {
    /// Parses `latest`, `random` (seed from the clock), `random:SEED`, or
    /// a number N (the N-th newest, 0 = newest).
    pub fn parse(s: &str) -> Result<DrillPick> {
        match s {
            "latest" => Ok(DrillPick::Latest),
            "random" => Ok(DrillPick::Random(clock_seed())),
            _ => {
                if let Some(seed) = s.strip_prefix("random:") {
                    return seed
                        .parse()
                        .map(DrillPick::Random)
                        .map_err(|_| Error::invalid(format!("bad seed in {s:?}: random:NUMBER")));
                }
                s.parse().map(DrillPick::Nth).map_err(|_| {
                    Error::invalid(format!(
                        "bad pick {s:?}: latest, random, random:SEED or a number"
                    ))
                })
            }
        }
    }
}

fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
        | 1
}

/// SplitMix64: a fixed, documented generator, so a seed replays the same
/// picks on every machine and version.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// How to drill.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct DrillOptions {
    /// Which snapshots.
    pub pick: DrillPick,
    /// Only these components; empty: all.
    pub only: Vec<String>,
    /// Where scratch restores go (default: the system's temp directory);
    /// each drill step removes what it wrote.
    pub scratch_dir: Option<PathBuf>,
}

impl DrillOptions {
    /// Sets the pick.
    pub fn pick(mut self, p: DrillPick) -> Self {
        self.pick = p;
        self
    }
    /// Sets `only`.
    pub fn only(mut self, names: Vec<String>) -> Self {
        self.only = names;
        self
    }
    /// Sets the scratch directory.
    pub fn scratch_dir(mut self, d: Option<PathBuf>) -> Self {
        self.scratch_dir = d;
        self
    }
}

/// One component's drill.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DrillStep {
    /// Component name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// The snapshot drilled.
    pub snapshot: SnapshotId,
    /// Its run.
    pub run: String,
    /// Snapshots the pick chose from.
    pub candidates: usize,
    /// Time the restore and its checks took: the measured recovery time.
    pub rto: Duration,
    /// What was checked, or why it failed.
    pub result: std::result::Result<Outcome, String>,
}

/// A whole drill.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DrillReport {
    /// Plan name.
    pub plan: String,
    /// The pick, with its seed when random.
    pub pick: DrillPick,
    /// When the drill started (Unix ns).
    pub started_ns: i64,
    /// Steps in restore order.
    pub steps: Vec<DrillStep>,
    /// Components with no snapshot to drill.
    pub missing: Vec<String>,
}

impl DrillReport {
    /// Every component drilled, and every drill passed.
    pub fn ok(&self) -> bool {
        self.missing.is_empty() && self.steps.iter().all(|s| s.result.is_ok())
    }
}

/// Drills every selected component, in restore order; a failing component
/// does not stop the others.
pub fn drill_plan(repo: &Repository, plan: &Plan, opts: &DrillOptions) -> Result<DrillReport> {
    plan.validate()?;
    let comps = restore_components(plan, &opts.only)?;
    let (snaps, damaged) = repo.readable_snapshots()?;
    for e in damaged {
        eprintln!("cairn: warning: {e}; not drilled");
    }
    let scratch_root = opts.scratch_dir.clone().unwrap_or_else(std::env::temp_dir);
    let mut rng = match opts.pick {
        DrillPick::Random(seed) => seed,
        _ => 0,
    };
    let mut report = DrillReport {
        plan: plan.name.clone(),
        pick: opts.pick,
        started_ns: cairn::now_ns(),
        steps: Vec::new(),
        missing: Vec::new(),
    };
    for c in comps {
        // Newest first.
        let mine: Vec<&(SnapshotId, cairn::Snapshot)> = snaps
            .iter()
            .rev()
            .filter(|(_, s)| belongs(s, &plan.name, &c.name))
            .collect();
        match drill_one(
            &c.name,
            c.component.as_ref(),
            repo,
            &mine,
            opts.pick,
            &mut rng,
            &scratch_root,
        )? {
            Some(step) => report.steps.push(step),
            None => report.missing.push(c.name.clone()),
        }
    }
    record(plan, &report);
    Ok(report)
}

/// Picks one of `candidates` (newest first), drills it, and times it;
/// `None` when the pick finds no snapshot.
fn drill_one(
    name: &str,
    component: &dyn crate::component::Component,
    repo: &Repository,
    candidates: &[&(SnapshotId, cairn::Snapshot)],
    pick: DrillPick,
    rng: &mut u64,
    scratch_root: &std::path::Path,
) -> Result<Option<DrillStep>> {
    let index = match pick {
        DrillPick::Latest => 0,
        DrillPick::Nth(n) => n,
        DrillPick::Random(_) if candidates.is_empty() => 0,
        DrillPick::Random(_) => (splitmix(rng) % candidates.len() as u64) as usize,
    };
    let Some((id, snap)) = candidates.get(index).copied() else {
        return Ok(None);
    };
    let scratch = tempfile_dir(scratch_root, name)?;
    let started = Instant::now();
    let cx = RestoreCx {
        repo,
        id: *id,
        snapshot: snap,
        log: None,
    };
    let result = component
        .drill(&cx, scratch.path())
        .map_err(|e| e.to_string());
    let rto = started.elapsed();
    drop(scratch);
    Ok(Some(DrillStep {
        name: name.to_string(),
        kind: component.kind().into(),
        snapshot: *id,
        run: snap
            .info
            .get(crate::backup::keys::RUN)
            .cloned()
            .unwrap_or_default(),
        candidates: candidates.len(),
        rto,
        result,
    }))
}

/// Builds the component that can drill a snapshot of a given source.
pub type ComponentFor<'a> =
    dyn Fn(&cairn::Snapshot) -> std::sync::Arc<dyn crate::component::Component> + 'a;

/// Drills a repository without a plan: its snapshots grouped by source,
/// host and paths (restic's grouping), one pick per group, each drilled
/// by the component `component_for` builds for it.
pub fn drill_repository(
    repo: &Repository,
    label: &str,
    opts: &DrillOptions,
    component_for: &ComponentFor<'_>,
) -> Result<DrillReport> {
    let (snaps, damaged) = repo.readable_snapshots()?;
    for e in damaged {
        eprintln!("cairn: warning: {e}; not drilled");
    }
    let mut groups: std::collections::BTreeMap<String, Vec<&(SnapshotId, cairn::Snapshot)>> =
        std::collections::BTreeMap::new();
    for entry in snaps.iter().rev() {
        let s = &entry.1;
        let mut paths = s.paths.clone();
        paths.sort();
        let key = format!("{} {}:{}", s.source, s.host, paths.join(","));
        groups.entry(key).or_default().push(entry);
    }
    let scratch_root = opts.scratch_dir.clone().unwrap_or_else(std::env::temp_dir);
    let mut rng = match opts.pick {
        DrillPick::Random(seed) => seed,
        _ => 0,
    };
    let mut report = DrillReport {
        plan: label.to_string(),
        pick: opts.pick,
        started_ns: cairn::now_ns(),
        steps: Vec::new(),
        missing: Vec::new(),
    };
    for (key, members) in &groups {
        let component = component_for(&members[0].1);
        match drill_one(
            key,
            component.as_ref(),
            repo,
            members,
            opts.pick,
            &mut rng,
            &scratch_root,
        )? {
            Some(step) => report.steps.push(step),
            None => report.missing.push(key.clone()),
        }
    }
    Ok(report)
}

/// Keeps the drill's outcome in the plan's state directory, for metrics
/// and `plan status`; a failure to write it is only a warning.
fn record(plan: &Plan, r: &DrillReport) {
    let dir = match &plan.state_dir {
        Some(d) => d.clone(),
        None => match crate::journal::default_state_dir() {
            Ok(d) => d,
            Err(_) => return,
        },
    };
    let rec = DrillRecord {
        started_ns: r.started_ns,
        pick: match r.pick {
            DrillPick::Latest => "latest".into(),
            DrillPick::Nth(n) => n.to_string(),
            DrillPick::Random(s) => format!("random:{s}"),
        },
        ok: r.ok(),
        steps: r
            .steps
            .iter()
            .map(|s| DrillRecordStep {
                name: s.name.clone(),
                snapshot: s.snapshot.to_hex(),
                ok: s.result.is_ok(),
                rto_ms: s.rto.as_millis() as u64,
                error: s.result.as_ref().err().cloned(),
            })
            .collect(),
    };
    if let Err(e) = Journal::new(&dir, &plan.name).save_drill(&rec) {
        eprintln!("cairn: warning: cannot record the drill: {e}");
    }
}

/// A scratch directory that is removed when dropped.
pub struct Scratch {
    path: PathBuf,
}

impl Scratch {
    /// Its path.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

fn tempfile_dir(root: &std::path::Path, name: &str) -> Result<Scratch> {
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    let path = root.join(format!(
        "cairn-drill-{name}-{}-{:x}",
        std::process::id(),
        clock_seed() & 0xffff_ffff
    ));
    std::fs::create_dir_all(&path).map_err(|e| Error::io(&path, e))?;
    Ok(Scratch { path })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_parse_and_a_seed_replays() {
        assert_eq!(
            DrillPick::parse("latest").expect("latest"),
            DrillPick::Latest
        );
        assert_eq!(DrillPick::parse("3").expect("3"), DrillPick::Nth(3));
        assert_eq!(
            DrillPick::parse("random:42").expect("seeded"),
            DrillPick::Random(42)
        );
        assert!(matches!(
            DrillPick::parse("random").expect("random"),
            DrillPick::Random(_)
        ));
        assert!(DrillPick::parse("newest").is_err());
        let (mut a, mut b) = (42u64, 42u64);
        let xs: Vec<u64> = (0..5).map(|_| splitmix(&mut a)).collect();
        let ys: Vec<u64> = (0..5).map(|_| splitmix(&mut b)).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs[0], xs[1]);
    }
}
