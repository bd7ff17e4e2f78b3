//! `cairn restore`.

use crate::cli::{Global, RestoreArgs};
use crate::{context, output, progress};
use anyhow::Result;
use cairn::RestoreOptions;
use std::process::ExitCode;

pub fn run(g: &Global, a: &RestoreArgs) -> Result<ExitCode> {
    match &a.into {
        Some(crate::cli::RestoreTarget::Postgres(pg)) => return super::postgres::restore(g, pg),
        Some(crate::cli::RestoreTarget::S3(s)) => return super::s3::restore(g, s),
        None => {}
    }
    let (Some(snapshot), Some(target)) = (&a.snapshot, &a.target) else {
        anyhow::bail!("restore needs SNAPSHOT and --target DIR");
    };
    let repo = context::open(g)?;
    let id = repo.resolve_snapshot(snapshot)?;
    let snap = repo.load_snapshot(&id)?;
    let reporter = progress::Reporter::start("restore", g.json, g.quiet);
    if a.include.is_empty() {
        cairn::Progress::add(&reporter.counters.total_bytes, snap.summary.total_bytes);
    }
    let started = std::time::Instant::now();
    let res = repo.restore(
        &id,
        RestoreOptions {
            target: target.clone(),
            include: a.include.clone(),
            progress: Some(reporter.counters.clone()),
        },
    );
    drop(reporter);
    let s = res?;
    if g.json {
        output::json(&serde_json::json!({
            "message_type": "summary", "snapshot_id": id.to_hex(), "target": target,
            "files": s.files, "dirs": s.dirs, "symlinks": s.symlinks, "bytes": s.bytes,
            "duration_ms": started.elapsed().as_millis() as u64,
        }));
    } else if !g.quiet {
        crate::out!(
            "restored snapshot {} to {}: {} files, {} dirs, {} symlinks, {} in {:.1}s",
            id.short(),
            target.display(),
            s.files,
            s.dirs,
            s.symlinks,
            output::bytes(s.bytes),
            started.elapsed().as_secs_f64()
        );
    }
    super::ok()
}
