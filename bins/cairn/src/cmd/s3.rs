//! `cairn backup s3` and `cairn restore s3`.

use crate::cli::{Global, S3BackupArgs, S3RestoreArgs};
use crate::{context, output, progress};
use anyhow::Result;
use cairn::ParentChoice;
use cairn_s3::{S3BackupOptions, S3RestoreOptions};
use std::process::ExitCode;

pub fn backup(g: &Global, a: &S3BackupArgs) -> Result<ExitCode> {
    let repo = context::open_or_create_default(g)?;
    let parent = match a.parent.as_deref() {
        None => ParentChoice::Auto,
        Some("none") => ParentChoice::None,
        Some(p) => ParentChoice::Id(repo.resolve_snapshot(p)?),
    };
    let reporter = progress::Reporter::start("backup s3", g.json, g.quiet);
    let res = cairn_s3::backup(
        &repo,
        &S3BackupOptions {
            url: a.url.clone(),
            s3: g.s3(),
            excludes: a.exclude.clone(),
            tags: a.tag.clone(),
            host: a.host.clone(),
            parent,
            progress: Some(reporter.counters.clone()),
        },
    );
    drop(reporter);
    let res = res?;
    let s = &res.snapshot.summary;
    if g.json {
        output::snapshot_summary(&res);
    } else if !g.quiet {
        crate::out!(
            "snapshot {} saved: {} objects ({} unchanged); {} read, {} new ({} stored) in {:.1}s",
            res.id.short(),
            s.streams,
            s.unchanged_files,
            output::bytes(s.bytes_read),
            output::bytes(s.raw_bytes_added),
            output::bytes(s.bytes_added),
            s.duration_ms as f64 / 1000.0
        );
    }
    super::ok()
}

pub fn restore(g: &Global, a: &S3RestoreArgs) -> Result<ExitCode> {
    let repo = context::open(g)?;
    let id = repo.resolve_snapshot(&a.snapshot)?;
    let started = std::time::Instant::now();
    let r = cairn_s3::restore(
        &repo,
        &id,
        &S3RestoreOptions {
            url: a.url.clone(),
            s3: g.s3(),
            prefix: a.prefix.clone(),
            include: a.include.clone(),
        },
    )?;
    if g.json {
        output::json(&serde_json::json!({
            "message_type": "summary", "snapshot_id": id.to_hex(), "objects": r.objects, "bytes": r.bytes,
            "duration_ms": started.elapsed().as_millis() as u64,
        }));
    } else if !g.quiet {
        crate::out!(
            "restored {} objects ({}) to {} in {:.1}s",
            r.objects,
            output::bytes(r.bytes),
            a.url,
            started.elapsed().as_secs_f64()
        );
    }
    super::ok()
}
