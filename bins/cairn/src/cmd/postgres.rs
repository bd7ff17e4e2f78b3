//! `cairn backup postgres`, `cairn restore postgres`, `cairn verify postgres`.

use crate::cli::{Global, PgBackupArgs, PgConnArgs, PgRestoreArgs, PgVerifyArgs};
use crate::{context, output, progress};
use anyhow::{bail, Result};
use cairn_postgres::{PgBackupOptions, PgConn, PgRestoreOptions, Tools};
use std::process::ExitCode;

/// Refuses a password given on the command line (it would show in `ps`).
fn conn(c: &PgConnArgs) -> Result<PgConn> {
    let from_env = std::env::var("CAIRN_PG_DSN").ok();
    if let Some(dsn) = &c.dsn {
        if from_env.as_deref() != Some(dsn.as_str()) && dsn_has_password(dsn) {
            bail!("--dsn contains a password; put it in CAIRN_PG_DSN, PGPASSWORD or ~/.pgpass instead of the command line");
        }
    }
    Ok(PgConn::new(c.dsn.clone()))
}

fn dsn_has_password(dsn: &str) -> bool {
    match dsn.split_once("://") {
        Some((_, rest)) => rest
            .split(['/', '?'])
            .next()
            .and_then(|a| a.rsplit_once('@'))
            .is_some_and(|(u, _)| u.contains(':')),
        None => dsn
            .split_whitespace()
            .any(|kv| kv.trim_start().starts_with("password")),
    }
}

pub fn backup(g: &Global, a: &PgBackupArgs) -> Result<ExitCode> {
    let conn = conn(&a.conn)?;
    let repo = context::open_or_create_default(g)?;
    let reporter = progress::Reporter::start("backup postgres", g.json, g.quiet);
    let res = cairn_postgres::backup(
        &repo,
        &PgBackupOptions {
            conn,
            tools: Tools::new(a.conn.pg_bin.clone()),
            databases: a.databases.clone(),
            all: a.all,
            globals: !a.no_globals,
            tags: a.tag.clone(),
            host: a.host.clone(),
            progress: Some(reporter.counters.clone()),
            ..Default::default()
        },
    );
    drop(reporter);
    let res = res?;
    if g.json {
        output::snapshot_summary(&res);
    } else if !g.quiet {
        let s = &res.snapshot.summary;
        crate::out!(
            "snapshot {} saved: {} ({}); {} dumped, {} new ({} stored) in {:.1}s",
            res.id.short(),
            res.snapshot
                .info
                .get("postgres.databases")
                .map(String::as_str)
                .unwrap_or(""),
            res.snapshot
                .info
                .get("postgres.server_version")
                .map(String::as_str)
                .unwrap_or(""),
            output::bytes(s.bytes_read),
            output::bytes(s.raw_bytes_added),
            output::bytes(s.bytes_added),
            s.duration_ms as f64 / 1000.0
        );
    }
    super::ok()
}

pub fn restore(g: &Global, a: &PgRestoreArgs) -> Result<ExitCode> {
    let repo = context::open(g)?;
    let id = repo.resolve_snapshot(&a.snapshot)?;
    let started = std::time::Instant::now();
    let dbs = cairn_postgres::restore(
        &repo,
        &id,
        &PgRestoreOptions {
            conn: conn(&a.conn)?,
            tools: Tools::new(a.conn.pg_bin.clone()),
            databases: a.databases.clone(),
            target_database: a.target_database.clone(),
            clean: a.clean,
            globals: a.globals,
            no_owner: a.no_owner,
        },
    )?;
    if g.json {
        output::json(&serde_json::json!({
            "message_type": "summary", "snapshot_id": id.to_hex(), "databases": dbs,
            "target_database": a.target_database, "duration_ms": started.elapsed().as_millis() as u64,
        }));
    } else if !g.quiet {
        crate::out!(
            "restored {} from snapshot {} in {:.1}s",
            dbs.join(", "),
            id.short(),
            started.elapsed().as_secs_f64()
        );
    }
    super::ok()
}

pub fn verify(g: &Global, a: &PgVerifyArgs) -> Result<ExitCode> {
    let repo = context::open(g)?;
    let id = repo.resolve_snapshot(&a.snapshot)?;
    let scratch = a.scratch_dsn.clone().map(|d| PgConn::new(Some(d)));
    let report =
        cairn_postgres::verify(&repo, &id, &Tools::new(a.pg_bin.clone()), scratch.as_ref())?;
    if report.is_empty() {
        bail!("snapshot {} holds no PostgreSQL dumps", id.short());
    }
    if g.json {
        let v: Vec<_> = report
            .iter()
            .map(|d| {
                serde_json::json!({
                    "database": d.database, "bytes": d.bytes, "toc_entries": d.toc_entries,
                    "tables": d.tables.as_ref().map(|t| t.iter().map(|t| serde_json::json!({"table": t.table, "rows": t.rows})).collect::<Vec<_>>()),
                })
            })
            .collect();
        output::json(
            &serde_json::json!({ "message_type": "verify", "snapshot_id": id.to_hex(), "ok": true, "databases": v }),
        );
        return super::ok();
    }
    for d in &report {
        crate::out!(
            "{}: dump of {} readable, {} entries in its table of contents",
            d.database,
            output::bytes(d.bytes),
            d.toc_entries
        );
        for t in d.tables.iter().flatten() {
            crate::out!("  {:<40} {:>12} rows", t.table, t.rows);
        }
    }
    crate::out!(
        "snapshot {}: all {} dumps verified",
        id.short(),
        report.len()
    );
    super::ok()
}
