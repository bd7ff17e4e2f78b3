//! `cairn rewrite`.

use crate::cli::{Global, RewriteArgs};
use crate::{context, output};
use anyhow::Result;
use cairn::RewriteOptions;
use std::process::ExitCode;

pub fn run(g: &Global, a: &RewriteArgs) -> Result<ExitCode> {
    let exclude = crate::select::patterns_with_files(&a.exclude, &a.exclude_file)?;
    if exclude.is_empty() {
        anyhow::bail!("rewrite needs --exclude or --exclude-file: the paths to remove");
    }
    let repo = context::open(g)?;
    let ids = crate::select::chosen(&repo, &a.snapshots, &a.filter)?;
    let opts = RewriteOptions::default()
        .exclude(exclude)
        .forget(a.forget)
        .dry_run(a.dry_run);
    let mut rewritten = 0;
    for id in &ids {
        let r = repo.rewrite(id, &opts)?;
        if !r.removed.is_empty() {
            rewritten += 1;
        }
        if g.json {
            let mut v = serde_json::to_value(&r)?;
            v["message_type"] = "rewrite".into();
            v["dry_run"] = a.dry_run.into();
            output::json(&v);
            continue;
        }
        if g.quiet || r.removed.is_empty() {
            continue;
        }
        for p in &r.removed {
            crate::out!(
                "{} {}",
                if a.dry_run { "would remove" } else { "removed" },
                p
            );
        }
        match r.new {
            Some(new) => crate::out!(
                "snapshot {} rewritten as {}: {} files, {} removed{}",
                id.short(),
                new.short(),
                r.files_removed,
                output::bytes(r.bytes_removed),
                if r.forgotten {
                    "; the old snapshot is forgotten"
                } else {
                    ""
                }
            ),
            None => crate::out!(
                "snapshot {}: would remove {} files, {}",
                id.short(),
                r.files_removed,
                output::bytes(r.bytes_removed)
            ),
        }
    }
    if !g.json && !g.quiet {
        crate::out!(
            "{rewritten} of {} snapshots {}{}",
            ids.len(),
            if a.dry_run { "would change" } else { "changed" },
            match (a.dry_run, a.forget, rewritten) {
                (false, true, 1..) => "; run `cairn prune` to free the removed data",
                (false, false, 1..) => "; the old snapshots still hold the data: `cairn forget` them (or use --forget), then `cairn prune`",
                _ => "",
            }
        );
    }
    super::ok()
}
