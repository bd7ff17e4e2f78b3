//! `cairn verify fresh PATH...`.

use crate::cli::{Global, VerifyFreshArgs};
use crate::{context, output};
use anyhow::Result;
use std::process::ExitCode;

pub fn run(g: &Global, a: &VerifyFreshArgs) -> Result<ExitCode> {
    let repo = context::open(g)?;
    let paths: Vec<std::path::PathBuf> = a
        .paths
        .iter()
        .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()))
        .collect();
    let (id, snap) = match &a.snapshot {
        Some(s) => {
            let id = repo.resolve_snapshot(s)?;
            (id, repo.load_snapshot(&id)?)
        }
        None => cairn_plan::newest_covering(&repo, &paths[0])?,
    };
    let mut excludes = a.exclude.clone();
    if a.exclude_temp {
        excludes.extend(cairn_plan::preset("seed-temp")?);
    }
    let r = cairn_plan::check_fresh(&repo, &id, &snap, &paths, &excludes)?;
    if g.json {
        output::json(&serde_json::json!({
            "message_type": "verify_fresh", "snapshot_id": id.to_hex(), "ok": r.ok(),
            "backup_started": cairn::format_time(r.started_ns), "checked": r.checked,
            "newer": r.newer, "excluded": r.excluded, "missing": r.missing,
            "unreadable": r.unreadable, "absent": r.absent,
        }));
    } else if !g.quiet {
        for m in &r.missing {
            crate::out!("missing: {m}");
        }
        for u in &r.unreadable {
            crate::out!("unreadable: {u}");
        }
        for p in &r.absent {
            crate::out!("not here: {p}");
        }
        crate::out!(
            "snapshot {} (backup started {}): {} live files older than it, {} missing; {} newer (expected); {} excluded",
            id.short(),
            cairn::format_time(r.started_ns),
            r.checked,
            r.missing.len(),
            r.newer,
            r.excluded
        );
    }
    Ok(ExitCode::from(if r.ok() && r.absent.is_empty() {
        crate::exit::OK
    } else {
        crate::exit::PLAN_FAILED
    }))
}
