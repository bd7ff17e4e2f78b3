//! `cairn check`.

use crate::cli::{CheckArgs, Global};
use crate::{context, exit, output};
use anyhow::Result;
use cairn::Subset;
use std::process::ExitCode;

pub fn run(g: &Global, a: &CheckArgs) -> Result<ExitCode> {
    let subset = match (&a.read_data_subset, a.read_data_rotate, a.read_data) {
        (Some(s), _, _) => Some(Subset::parse(s)?),
        (None, Some(m), _) => Some(Subset::Rotate(m)),
        (None, None, true) => Some(Subset::All),
        (None, None, false) if a.max_bytes.is_some() => Some(Subset::All),
        (None, None, false) => None,
    };
    let repo = context::open(g)?;
    let selected = !a.snapshots.is_empty() || crate::select::given(&a.filter)?;
    let only = if selected {
        Some(crate::select::chosen(&repo, &a.snapshots, &a.filter)?)
    } else {
        None
    };
    let r = repo.check(
        cairn::CheckOptions::default()
            .read_data(subset)
            .max_bytes(a.max_bytes)
            .snapshots(only),
    )?;
    if g.json {
        let mut v = serde_json::to_value(&r)?;
        v["message_type"] = "check".into();
        v["clean"] = r.is_clean().into();
        output::json(&v);
    } else {
        for w in &r.warnings {
            crate::out!("warning: {w}");
        }
        for p in &r.problems {
            crate::out!("error: {} {}: {}", p.kind, p.object, p.detail);
        }
        for af in &r.affected {
            crate::out!(
                "affected: snapshot {} path {}",
                &af.snapshot[..8.min(af.snapshot.len())],
                af.path
            );
        }
        if let Some(rot) = &r.rotation {
            match rot.cursor {
                None => crate::out!(
                    "rotation {} complete: every pack has been read once; the next run starts the next one",
                    rot.cycle
                ),
                Some(c) => crate::out!(
                    "rotation {}: {} packs read so far; the next run goes on after pack {}",
                    rot.cycle + 1,
                    rot.read_in_cycle,
                    c.short()
                ),
            }
        }
        crate::out!(
            "checked {} snapshots, {} packs; read {} packs, {} blobs: {}",
            r.snapshots,
            r.packs,
            r.packs_read,
            r.blobs_read,
            if r.is_clean() {
                "no errors".to_string()
            } else {
                format!("{} errors", r.problems.len())
            }
        );
    }
    crate::notify::repo_metrics(
        g,
        "check",
        &[
            (
                "cairn_check_last_timestamp_seconds",
                "When the newest check ran.",
                cairn::now_ns() as f64 / 1e9,
            ),
            (
                "cairn_check_last_clean",
                "1 when the newest check found no problem.",
                f64::from(u8::from(r.is_clean())),
            ),
            (
                "cairn_check_last_problems",
                "Problems the newest check found.",
                r.problems.len() as f64,
            ),
            (
                "cairn_check_last_packs_read",
                "Packs the newest check read.",
                r.packs_read as f64,
            ),
        ],
    );
    crate::notify::notify(
        g,
        "check",
        r.is_clean(),
        serde_json::json!({ "problems": r.problems.len(), "packs_read": r.packs_read }),
    );
    Ok(ExitCode::from(if r.is_clean() {
        exit::OK
    } else {
        exit::DAMAGED
    }))
}
