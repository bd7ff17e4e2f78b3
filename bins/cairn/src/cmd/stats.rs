//! `cairn stats`.

use crate::cli::{Global, StatsArgs};
use crate::{context, output};
use anyhow::{bail, Result};
use cairn::{Repository, SnapshotStats};
use std::process::ExitCode;

pub fn run(g: &Global, a: &StatsArgs) -> Result<ExitCode> {
    let repo = context::open(g)?;
    let selected = !a.snapshots.is_empty() || crate::select::given(&a.filter)?;
    let mode = match (a.mode.as_deref(), selected) {
        (Some(m), _) => m,
        (None, true) => "restore-size",
        (None, false) => "repository",
    };
    if mode == "repository" {
        if selected || a.per_snapshot {
            bail!("--mode repository counts the whole repository: give no snapshots, selection flags or --per-snapshot");
        }
        return repository(g, &repo);
    }
    let ids = crate::select::chosen(&repo, &a.snapshots, &a.filter)?;
    let rows: Vec<(String, SnapshotStats)> = if a.per_snapshot {
        ids.iter()
            .map(|id| Ok((id.short(), repo.snapshot_stats(std::slice::from_ref(id))?)))
            .collect::<Result<_>>()?
    } else {
        vec![("total".to_string(), repo.snapshot_stats(&ids)?)]
    };
    let only = exclusive(&repo, mode, a.per_snapshot, &ids)?;
    if g.json {
        for (i, (name, s)) in rows.iter().enumerate() {
            let mut v = serde_json::to_value(s)?;
            v["message_type"] = "stats".into();
            v["mode"] = mode.into();
            v["snapshot"] = name.as_str().into();
            if let Some(e) = only.get(i) {
                v["exclusive_blobs"] = e.blobs.into();
                v["exclusive_stored_bytes"] = e.stored_bytes.into();
            }
            output::json(&v);
        }
        return super::ok();
    }
    for (i, (name, s)) in rows.iter().enumerate() {
        let mut line = selection_line(mode, name, s);
        if let Some(e) = only.get(i) {
            line.push_str(&format!(
                "; {} stored in {} blobs no other snapshot needs",
                output::bytes(e.stored_bytes),
                e.blobs
            ));
        }
        crate::out!("{line}");
    }
    super::ok()
}

/// raw-data also counts what only these snapshots hold (per snapshot, or
/// the chosen set as a whole): what forgetting them and a prune would free.
fn exclusive(
    repo: &Repository,
    mode: &str,
    per_snapshot: bool,
    ids: &[cairn::SnapshotId],
) -> Result<Vec<cairn::Exclusive>> {
    if mode != "raw-data" {
        return Ok(Vec::new());
    }
    let groups: Vec<Vec<cairn::SnapshotId>> = match per_snapshot {
        true => ids.iter().map(|id| vec![*id]).collect(),
        false => vec![ids.to_vec()],
    };
    Ok(repo.exclusive_usage(&groups)?)
}

/// One line of `stats` over snapshots, in the chosen mode.
fn selection_line(mode: &str, name: &str, s: &SnapshotStats) -> String {
    let what = match mode {
        "restore-size" => format!(
            "{} in {} files, {} directories, {} other entries",
            output::bytes(s.restore_bytes),
            s.files,
            s.dirs,
            s.others
        ),
        "files-by-contents" => format!(
            "{} in {} distinct file contents (of {} files)",
            output::bytes(s.unique_file_bytes),
            s.unique_files,
            s.files
        ),
        _ => {
            let ratio = if s.stored_bytes > 0 {
                s.raw_bytes as f64 / s.stored_bytes as f64
            } else {
                0.0
            };
            let missing = if s.missing_blobs > 0 {
                format!(
                    " ({} blobs in no index: run `cairn check`)",
                    s.missing_blobs
                )
            } else {
                String::new()
            };
            format!(
                "{} raw, {} stored in {} blobs ({ratio:.2}x){missing}",
                output::bytes(s.raw_bytes),
                output::bytes(s.stored_bytes),
                s.blobs
            )
        }
    };
    format!("{name} ({} snapshots): {what}", s.snapshots)
}

fn repository(g: &Global, repo: &Repository) -> Result<ExitCode> {
    let s = repo.stats(cairn::StatsOptions::default())?;
    if g.json {
        output::json(&serde_json::to_value(&s)?);
        return super::ok();
    }
    let ratio = if s.pack_bytes > 0 {
        s.snapshot_raw_bytes as f64 / s.pack_bytes as f64
    } else {
        0.0
    };
    crate::out!("snapshots:               {}", s.snapshots);
    crate::out!(
        "raw size (all snapshots): {}",
        output::bytes(s.snapshot_raw_bytes)
    );
    crate::out!(
        "deduplicated raw size:   {}",
        output::bytes(s.unique_raw_bytes)
    );
    crate::out!(
        "stored size (packs):     {} in {} packs",
        output::bytes(s.pack_bytes),
        s.packs
    );
    crate::out!("overall reduction:       {ratio:.2}x");
    crate::out!("blobs (chunks + trees):  {}", s.blobs);
    crate::out!(
        "index memory:            {} ({:.1} bytes per blob)",
        output::bytes(s.index_memory_bytes),
        s.index_bytes_per_blob
    );
    super::ok()
}
