//! `cairn find`.

use crate::cli::{FindArgs, Global};
use crate::{context, output};
use anyhow::Result;
use std::process::ExitCode;

pub fn run(g: &Global, a: &FindArgs) -> Result<ExitCode> {
    let repo = context::open(g)?;
    let matcher = if a.ignore_case {
        let mut r = cairn::ExcludeRules::default();
        r.ignore_case = a.patterns.clone();
        cairn::Excludes::new::<&str>(&[])?.with_rules(&r, &[])?
    } else {
        cairn::Excludes::new(&a.patterns)?
    };
    let snaps = crate::select::list(&repo, &a.filter)?;
    let wanted: Vec<cairn::SnapshotId> = a
        .snapshot
        .iter()
        .map(|s| repo.resolve_snapshot(s))
        .collect::<cairn::Result<_>>()?;
    let mut out = Vec::new();
    let mut total = 0usize;
    for (id, s) in snaps
        .iter()
        .filter(|(id, _)| wanted.is_empty() || wanted.contains(id))
    {
        let mut hits = Vec::new();
        repo.walk_tree(&s.tree, "", &mut |path, node| {
            let is_dir = matches!(node.kind, cairn::NodeKind::Dir { .. });
            if matcher.is_excluded(std::path::Path::new(path), is_dir)
                || matcher.matches_ignoring_case(std::path::Path::new(path), is_dir)
            {
                hits.push((path.to_string(), node.clone()));
            }
            Ok(())
        })?;
        total += hits.len();
        if !hits.is_empty() {
            out.push((id, s, hits));
        }
    }
    if g.json {
        let v: Vec<_> = out
            .iter()
            .map(|(id, s, hits)| {
                serde_json::json!({
                    "snapshot": id.to_hex(), "time": s.time_string(), "host": s.host,
                    "matches": hits.iter().map(|(p, n)| serde_json::json!({
                        "path": p, "type": n.type_char().to_string(), "size": n.size(),
                        "mtime": cairn::format_time(n.meta.mtime_ns),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        output::json(&serde_json::Value::Array(v));
    } else if !g.quiet {
        for (id, s, hits) in &out {
            crate::out!(
                "snapshot {} of {} at {}:",
                id.short(),
                s.host,
                s.time_string()
            );
            for (p, n) in hits {
                crate::out!(
                    "  {}  {:>10}  {}",
                    cairn::format_time(n.meta.mtime_ns),
                    output::bytes(n.size()),
                    output::name(p)
                );
            }
        }
        crate::out!("{total} matches in {} snapshots", out.len());
    }
    super::ok()
}
