//! `cairn backup`.

use crate::cli::{BackupArgs, Global};
use crate::{context, exit, output, progress};
use anyhow::{bail, Context, Result};
use cairn::{BackupOptions, ParentChoice, StreamSource};
use std::process::ExitCode;

pub fn run(g: &Global, a: &BackupArgs) -> Result<ExitCode> {
    match &a.source {
        Some(crate::cli::BackupSource::Postgres(pg)) => return super::postgres::backup(g, pg),
        Some(crate::cli::BackupSource::PostgresBase(pg)) => return super::postgres::base(g, pg),
        #[cfg(feature = "s3")]
        Some(crate::cli::BackupSource::S3(s)) => return super::s3::backup(g, s),
        Some(crate::cli::BackupSource::Kubernetes(k)) => return super::kubernetes::backup(g, k),
        Some(crate::cli::BackupSource::Mongodb(m)) => return super::mongodb::backup(g, m),
        None => {}
    }
    let streams = streams(a)?;
    let paths = paths(a)?;
    if paths.is_empty() && streams.is_empty() {
        bail!("nothing to back up: give paths, --stdin, or --stdin-from-command -- CMD");
    }
    let excludes = excludes(a)?;
    let time_ns = a.time.as_deref().map(parse_time).transpose()?;
    let dry = Global {
        dry_run: a.dry_run,
        ..g.clone()
    };
    let g = &dry;
    // A dry run creates nothing, not even the default repository.
    let repo = if a.dry_run {
        context::open(g)?
    } else {
        context::open_or_create_default(g)?
    };
    let parent = match a.parent.as_deref() {
        None => ParentChoice::Auto,
        Some("none") => ParentChoice::None,
        Some(p) => ParentChoice::Id(repo.resolve_snapshot(p)?),
    };
    let reporter = progress::Reporter::start("backup", g.json, g.quiet);
    let rules = rules(a);
    if !paths.is_empty() {
        let ex = cairn::Excludes::new(&excludes)?.with_rules(&rules, &paths)?;
        let abs = paths
            .iter()
            .filter_map(|p| std::path::absolute(p).ok())
            .collect();
        progress::scan_totals(abs, ex, reporter.counters.clone());
    }
    let cancel = crate::signals::stop_flag();
    let result = repo.backup(
        BackupOptions::default()
            .paths(paths)
            .streams(streams)
            .excludes(excludes)
            .exclude_rules(rules)
            .tags(crate::select::tags(&a.tag))
            .host(a.host.clone())
            .time_ns(time_ns)
            .parent(parent)
            .threads(a.threads)
            .progress(Some(reporter.counters.clone()))
            .cancel(Some(cancel)),
    );
    drop(reporter);
    let res = result?;
    for w in &res.warnings {
        crate::err!("cairn: warning: {w}");
    }
    for c in &res.changed {
        crate::err!("cairn: warning: {c} changed while it was read; stored as read");
    }
    let s = &res.snapshot.summary;
    if a.dry_run {
        return dry_run_report(g, &res);
    }
    if g.json {
        output::snapshot_summary(&res);
    } else if !g.quiet {
        changes(&res.changes);
        crate::out!(
            "snapshot {} saved: {} files, {} dirs, {} streams; {}",
            res.id.short(),
            s.files,
            s.dirs,
            s.streams,
            output::transfer(s)
        );
    }
    crate::notify::repo_metrics(
        g,
        "backup",
        &[
            (
                "cairn_backup_last_success_timestamp_seconds",
                "End of the newest backup.",
                res.snapshot.time_ns as f64 / 1e9,
            ),
            (
                "cairn_backup_last_duration_seconds",
                "Duration of the newest backup.",
                s.duration_ms as f64 / 1000.0,
            ),
            (
                "cairn_backup_last_bytes_read",
                "Bytes the newest backup read.",
                s.bytes_read as f64,
            ),
            (
                "cairn_backup_last_bytes_added",
                "Bytes the newest backup stored.",
                s.bytes_added as f64,
            ),
            (
                "cairn_backup_last_complete",
                "1 when the newest backup read everything as it was.",
                f64::from(u8::from(res.complete())),
            ),
        ],
    );
    crate::notify::notify(
        g,
        "backup",
        res.complete(),
        serde_json::json!({ "snapshot_id": res.id.to_hex(), "warnings": res.warnings.len(), "changed": res.changed.len() }),
    );
    if res.complete() {
        super::ok()
    } else {
        crate::err!(
            "cairn: the backup is incomplete: {} entries could not be read (whole or in part), {} files changed while they were read; the snapshot was written",
            res.warnings.len(),
            res.changed.len()
        );
        Ok(ExitCode::from(exit::PARTIAL))
    }
}

/// restic's summary of what changed since the parent snapshot.
fn changes(c: &cairn::Changes) {
    crate::out!(
        "Files: {:>8} new, {:>8} changed, {:>8} unmodified",
        c.files_new,
        c.files_changed,
        c.files_unmodified
    );
    crate::out!(
        "Dirs:  {:>8} new, {:>8} changed, {:>8} unmodified",
        c.dirs_new,
        c.dirs_changed,
        c.dirs_unmodified
    );
}

/// What a dry run would have stored; nothing was.
fn dry_run_report(g: &Global, res: &cairn::BackupReport) -> Result<ExitCode> {
    let s = &res.snapshot.summary;
    if g.json {
        output::json(&serde_json::json!({
            "message_type": "summary", "dry_run": true,
            "summary": output::summary_json(s), "warnings": res.warnings,
            "changes": res.changes,
        }));
    } else if !g.quiet {
        changes(&res.changes);
        crate::out!(
            "dry run, nothing stored: {} files, {} dirs, {} streams ({} unchanged files); would store {} new blobs: {}",
            s.files,
            s.dirs,
            s.streams,
            s.unchanged_files,
            s.blobs_added,
            output::transfer(s)
        );
    }
    Ok(ExitCode::from(if res.complete() {
        exit::OK
    } else {
        exit::PARTIAL
    }))
}

fn streams(a: &BackupArgs) -> Result<Vec<StreamSource>> {
    let mut out = Vec::new();
    if a.stdin && a.stdin_from_command {
        bail!("--stdin and --stdin-from-command exclude each other");
    }
    if a.stdin {
        out.push(StreamSource::from_reader(
            a.stdin_name.clone(),
            std::io::stdin(),
        ));
    }
    if a.stdin_from_command {
        if a.command.is_empty() {
            bail!("--stdin-from-command needs a command after `--`");
        }
        out.push(StreamSource::from_command(
            a.stdin_name.clone(),
            &a.command,
        )?);
    } else if !a.command.is_empty() {
        bail!("arguments after `--` are only used with --stdin-from-command");
    }
    if let Some(p) = &a.profile {
        out = out.into_iter().map(|s| s.with_profile(p.clone())).collect();
    }
    Ok(out)
}

fn excludes(a: &BackupArgs) -> Result<Vec<String>> {
    let mut out = crate::select::patterns_with_files(&a.exclude, &a.exclude_file)?;
    if a.exclude_temp {
        out.extend(cairn::SEED_TEMP_EXCLUDES.iter().map(|s| s.to_string()));
    }
    Ok(out)
}

/// RFC 3339, or "YYYY-MM-DD HH:MM:SS[.fraction]" / "YYYY-MM-DD" in UTC.
/// Fractional seconds (up to nanoseconds) are kept in the snapshot's time.
pub fn parse_time(s: &str) -> Result<i64> {
    let dt = chrono::DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&chrono::Utc))
        .or_else(|_| {
            // `%.f` takes an optional "." and 1 to 9 digits.
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").map(|n| n.and_utc())
        })
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
        })
        .with_context(|| {
            format!("cannot parse time {s:?}: use RFC 3339 or \"YYYY-MM-DD HH:MM:SS[.fraction]\"")
        })?;
    dt.timestamp_nanos_opt().context("time out of range")
}

/// The exclusion rules of the flags.
fn rules(a: &BackupArgs) -> cairn::ExcludeRules {
    let mut r = cairn::ExcludeRules::default();
    r.ignore_case = a.iexclude.clone();
    r.larger_than = a.exclude_larger_than;
    r.if_present = a.exclude_if_present.clone();
    r.caches = a.exclude_caches;
    r.one_file_system = a.one_file_system;
    r
}

/// The paths given, then those of --files-from and --files-from-raw.
fn paths(a: &BackupArgs) -> Result<Vec<std::path::PathBuf>> {
    use std::os::unix::ffi::OsStrExt;
    let mut out = a.paths.clone();
    for f in &a.files_from {
        let text = std::fs::read_to_string(f)
            .with_context(|| format!("reading --files-from {}", f.display()))?;
        out.extend(
            text.lines()
                .map(|l| l.trim_end_matches('\r'))
                .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
                .map(std::path::PathBuf::from),
        );
    }
    for f in &a.files_from_raw {
        let bytes = std::fs::read(f)
            .with_context(|| format!("reading --files-from-raw {}", f.display()))?;
        out.extend(
            bytes
                .split(|b| *b == 0)
                .filter(|p| !p.is_empty())
                .map(|p| std::path::PathBuf::from(std::ffi::OsStr::from_bytes(p))),
        );
    }
    Ok(out)
}
