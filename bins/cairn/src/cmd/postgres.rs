//! `cairn backup postgres`, `cairn restore postgres`, `cairn verify postgres`.

use crate::cli::{Global, PgBackupArgs, PgBaseArgs, PgConnArgs, PgRestoreArgs, PgVerifyArgs};
use anyhow::{bail, Result};
use cairn_postgres::{pitr, PgBackupOptions, PgComponent, PgConn, PgRestoreOptions, Tools};
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
    let c = PgComponent::new(PgBackupOptions {
        conn: conn(&a.conn)?,
        tools: Tools::new(a.conn.pg_bin.clone()),
        databases: a.databases.clone(),
        all: a.all,
        globals: !a.no_globals,
        ..Default::default()
    });
    super::component::backup(g, &c, a.tag.clone(), a.host.clone())
}

pub fn base(g: &Global, a: &PgBaseArgs) -> Result<ExitCode> {
    let c = pitr::PgBaseComponent::new(pitr::BaseOptions {
        conn: conn(&a.conn)?,
        tools: Tools::new(a.conn.pg_bin.clone()),
        spread_checkpoint: a.spread_checkpoint,
    });
    super::component::backup(g, &c, a.tag.clone(), a.host.clone())
}

/// `restore postgres --data-dir`: a point-in-time restore.
fn pitr_restore(g: &Global, a: &PgRestoreArgs, dir: &std::path::Path) -> Result<ExitCode> {
    let repo = crate::context::open(g)?;
    let base = match &a.snapshot {
        Some(s) => Some(repo.resolve_snapshot(s)?),
        None => None,
    };
    let o = pitr::RecoverOptions {
        data_dir: dir.to_path_buf(),
        target: super::wal::target(&a.target)?,
        action: pitr::Action::parse(&a.target_action)?,
        base,
        restore_command: match &a.restore_command {
            Some(c) => c.clone(),
            None => super::wal::restore_command(g)?,
        },
        archive_off: a.archive_off,
        cache_dir: pitr::default_cache_dir(),
    };
    let rec = pitr::recover(&repo, &o)?;
    if g.json {
        crate::output::json(&serde_json::json!({
            "message_type": "pitr_restore", "data_dir": dir, "base": rec.base.id.to_hex(),
            "target": o.target.describe(), "wal_range": rec.wal_range,
            "settings": rec.settings.iter().map(|(k, v)| serde_json::json!({"name": k, "value": v})).collect::<Vec<_>>(),
        }));
    } else if !g.quiet {
        crate::out!(
            "data directory {} written from base backup {} (ended {})",
            dir.display(),
            rec.base.id.short(),
            pitr::pg_time(rec.base.ended_ns)
        );
        if let Some((first, last)) = &rec.wal_range {
            crate::out!("archived WAL checked from {first} to {last}: no gap");
        }
        for (k, v) in &rec.settings {
            crate::out!("  {k} = {v}");
        }
        if !a.archive_off {
            crate::out!("note: the restored cluster keeps its archive settings: if it runs next to the original, restore with --archive-off instead, or it archives a new timeline into the same repository");
        }
        crate::out!(
            "start it with `pg_ctl -D {} start`: it replays to {}",
            dir.display(),
            o.target.describe()
        );
    }
    super::ok()
}

pub fn restore(g: &Global, a: &PgRestoreArgs) -> Result<ExitCode> {
    if let Some(dir) = &a.data_dir {
        return pitr_restore(g, a, dir);
    }
    let pitr_flags = a.target.target_time.is_some()
        || a.target.target_lsn.is_some()
        || a.target.target_xid.is_some()
        || a.target.target_immediate;
    if pitr_flags {
        bail!("--target-time, --target-lsn, --target-xid and --target-immediate need --data-dir (a point-in-time restore writes a new data directory)");
    }
    let Some(snapshot) = &a.snapshot else {
        bail!("give the dump snapshot to restore (an id, a prefix or \"latest\"), or --data-dir for a point-in-time restore");
    };
    let c = PgComponent::default().restore_into(PgRestoreOptions {
        conn: conn(&a.conn)?,
        tools: Tools::new(a.conn.pg_bin.clone()),
        databases: a.databases.clone(),
        target_database: a.target_database.clone(),
        clean: a.clean,
        globals: a.globals,
        no_owner: a.no_owner,
    });
    super::component::restore(g, &c, snapshot)
}

pub fn verify(g: &Global, a: &PgVerifyArgs) -> Result<ExitCode> {
    let mut c = PgComponent::new(PgBackupOptions {
        tools: Tools::new(a.pg_bin.clone()),
        ..Default::default()
    });
    c.scratch = a.scratch_dsn.clone().map(|d| PgConn::new(Some(d)));
    super::component::verify(g, &c, &a.snapshot)
}
