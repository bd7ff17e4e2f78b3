//! `cairn backup postgres`, `cairn restore postgres`, `cairn verify postgres`.

use crate::cli::{Global, PgBackupArgs, PgConnArgs, PgRestoreArgs, PgVerifyArgs};
use anyhow::{bail, Result};
use cairn_postgres::{PgBackupOptions, PgComponent, PgConn, PgRestoreOptions, Tools};
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

pub fn restore(g: &Global, a: &PgRestoreArgs) -> Result<ExitCode> {
    let c = PgComponent::default().restore_into(PgRestoreOptions {
        conn: conn(&a.conn)?,
        tools: Tools::new(a.conn.pg_bin.clone()),
        databases: a.databases.clone(),
        target_database: a.target_database.clone(),
        clean: a.clean,
        globals: a.globals,
        no_owner: a.no_owner,
    });
    super::component::restore(g, &c, &a.snapshot)
}

pub fn verify(g: &Global, a: &PgVerifyArgs) -> Result<ExitCode> {
    let mut c = PgComponent::new(PgBackupOptions {
        tools: Tools::new(a.pg_bin.clone()),
        ..Default::default()
    });
    c.scratch = a.scratch_dsn.clone().map(|d| PgConn::new(Some(d)));
    super::component::verify(g, &c, &a.snapshot)
}
