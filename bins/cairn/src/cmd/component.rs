//! The one backup, restore and verify path every component takes from the
//! command line (`backup postgres`, `restore s3`, ...): an adapter's
//! command only turns its flags into a component.

use crate::cli::Global;
use crate::{context, output, progress};
use anyhow::Result;
use cairn_plan::{Component, ComponentRun, Outcome, RestoreCx};
use std::process::ExitCode;

/// Backs a component up into a new snapshot and prints the summary.
pub fn backup(
    g: &Global,
    c: &dyn Component,
    tags: Vec<String>,
    host: Option<String>,
) -> Result<ExitCode> {
    let repo = context::open_or_create_default(g)?;
    let stop = crate::signals::stop_flag();
    let label: &'static str = match c.kind() {
        "postgres" => "backup postgres",
        "postgres-base" => "backup postgres-base",
        "s3" => "backup s3",
        "kubernetes" => "backup kubernetes",
        "mongodb" => "backup mongodb",
        _ => "backup",
    };
    let reporter = progress::Reporter::start(label, g.json, g.quiet);
    let run = ComponentRun::default()
        .tags(crate::select::tags(&tags))
        .host(host)
        .progress(Some(reporter.counters.clone()))
        .cancel(Some(stop));
    let (snaps, _) = repo.readable_snapshots()?;
    let res = cairn_plan::backup_component(&repo, c, &run, &snaps);
    drop(reporter);
    let res = res?;
    if g.json {
        output::snapshot_summary(&res);
    } else if !g.quiet {
        let s = &res.snapshot.summary;
        crate::out!(
            "snapshot {} saved: {}; {} streams ({} unchanged), {}",
            res.id.short(),
            c.describe(),
            s.streams,
            s.unchanged_files,
            output::transfer(s)
        );
    }
    super::ok()
}

/// The JSON of an outcome: its fields, with the component's own data merged in.
pub fn outcome_json(kind: &str, id: &cairn::SnapshotId, o: &Outcome) -> serde_json::Value {
    let mut v = serde_json::json!({
        "snapshot_id": id.to_hex(), "kind": kind, "summary": o.summary,
        "items": o.items, "bytes": o.bytes, "details": o.details,
    });
    if let (Some(obj), Some(data)) = (v.as_object_mut(), o.data.as_object()) {
        for (k, x) in data {
            obj.insert(k.clone(), x.clone());
        }
    }
    v
}

fn print(
    g: &Global,
    message_type: &str,
    c: &dyn Component,
    id: &cairn::SnapshotId,
    o: &Outcome,
    secs: f64,
) {
    if g.json {
        let mut v = outcome_json(c.kind(), id, o);
        v["message_type"] = message_type.into();
        v["ok"] = true.into();
        v["duration_ms"] = ((secs * 1000.0) as u64).into();
        output::json(&v);
    } else if !g.quiet {
        for d in &o.details {
            crate::out!("{d}");
        }
        crate::out!("snapshot {}: {} in {secs:.1}s", id.short(), o.summary);
    }
}

/// Restores a snapshot through the component.
pub fn restore(g: &Global, c: &dyn Component, snapshot: &str) -> Result<ExitCode> {
    on_snapshot(g, c, snapshot, "summary", |c, cx| c.restore(cx))
}

/// Verifies a snapshot through the component.
pub fn verify(g: &Global, c: &dyn Component, snapshot: &str) -> Result<ExitCode> {
    on_snapshot(g, c, snapshot, "verify", |c, cx| c.verify(cx))
}

fn on_snapshot(
    g: &Global,
    c: &dyn Component,
    snapshot: &str,
    message_type: &str,
    act: impl Fn(&dyn Component, &RestoreCx<'_>) -> cairn::Result<Outcome>,
) -> Result<ExitCode> {
    let repo = context::open(g)?;
    let id = repo.resolve_snapshot(snapshot)?;
    let snap = repo.load_snapshot(&id)?;
    let started = std::time::Instant::now();
    let quiet = g.quiet || g.json;
    let cx = RestoreCx {
        repo: &repo,
        id,
        snapshot: &snap,
        log: (!quiet)
            .then(|| std::sync::Arc::new(|l: &str| eprintln!("cairn: {l}")) as cairn_plan::LogFn),
    };
    let o = act(c, &cx)?;
    print(g, message_type, c, &id, &o, started.elapsed().as_secs_f64());
    super::ok()
}
