//! Stored dumps piped into `pg_restore` (and globals into `psql`).

use crate::backup::maintenance_db;
use crate::tools::psql;
use crate::{db_of_stream, dump_stream, PgConn, Tools, GLOBALS_STREAM};
use cairn::{Error, Repository, Result, SnapshotId};
use cairn_plan::pipe_into;

/// What to restore and where.
#[derive(Clone, Debug, Default)]
pub struct PgRestoreOptions {
    /// Connection to the target server.
    pub conn: PgConn,
    /// Client tools.
    pub tools: Tools,
    /// Database dumps to restore (names as dumped); empty = all in the snapshot.
    pub databases: Vec<String>,
    /// Restore into this database instead (only with one database).
    pub target_database: Option<String>,
    /// Drop existing objects before recreating them (`--clean --if-exists`).
    pub clean: bool,
    /// Restore roles and tablespaces first (from the globals stream).
    pub globals: bool,
    /// Skip ownership and privileges (`--no-owner --no-acl`), for servers
    /// that lack the original roles.
    pub no_owner: bool,
}

/// Databases dumped in a snapshot.
pub fn databases_in(repo: &Repository, snapshot: &SnapshotId) -> Result<Vec<String>> {
    let snap = repo.load_snapshot(snapshot)?;
    Ok(snap
        .paths
        .iter()
        .filter_map(|p| db_of_stream(p))
        .map(String::from)
        .collect())
}

fn exists(o: &PgRestoreOptions, db: &str) -> Result<bool> {
    let out = psql(
        &o.tools,
        &o.conn,
        Some(&maintenance_db(&o.conn)),
        &[("name", db)],
        "SELECT 1 FROM pg_database WHERE datname = :'name';\n",
    )?;
    Ok(out.trim() == "1")
}

/// Creates an empty database.
pub(crate) fn create_db(tools: &Tools, conn: &PgConn, db: &str) -> Result<()> {
    psql(
        tools,
        conn,
        Some(&maintenance_db(conn)),
        &[("name", db)],
        "CREATE DATABASE :\"name\";\n",
    )
    .map(|_| ())
}

/// Restores dumps from a snapshot.
///
/// A database that does not exist on the target is created by
/// `pg_restore --create`; an existing one is restored into (with `clean`,
/// its objects are dropped first). With `target_database`, the dump goes
/// into that database, created empty when missing.
pub fn restore(
    repo: &Repository,
    snapshot: &SnapshotId,
    o: &PgRestoreOptions,
) -> Result<Vec<String>> {
    let in_snap = databases_in(repo, snapshot)?;
    let dbs = if o.databases.is_empty() {
        in_snap.clone()
    } else {
        o.databases.clone()
    };
    if let Some(missing) = dbs.iter().find(|d| !in_snap.contains(d)) {
        return Err(Error::NotFound {
            kind: "postgres dump".into(),
            name: format!(
                "{missing} in snapshot {} (it has: {})",
                snapshot.short(),
                in_snap.join(", ")
            ),
        });
    }
    if o.target_database.is_some() && dbs.len() != 1 {
        return Err(Error::invalid(
            "--target-database needs exactly one database to restore",
        ));
    }
    if o.globals {
        let mut cmd = o
            .conn
            .command(&o.tools.path("psql"), Some(&maintenance_db(&o.conn)));
        cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=0"]);
        pipe_into(repo, snapshot, GLOBALS_STREAM, cmd, "psql (globals)")?;
    }
    for db in &dbs {
        restore_one(repo, snapshot, o, db)?;
    }
    Ok(dbs)
}

fn restore_one(
    repo: &Repository,
    snapshot: &SnapshotId,
    o: &PgRestoreOptions,
    db: &str,
) -> Result<()> {
    let target = o.target_database.clone().unwrap_or_else(|| db.to_string());
    let present = exists(o, &target)?;
    let mut cmd;
    if !present && o.target_database.is_none() {
        cmd = o
            .conn
            .command(&o.tools.path("pg_restore"), Some(&maintenance_db(&o.conn)));
        cmd.arg("--create");
    } else {
        if !present {
            create_db(&o.tools, &o.conn, &target)?;
        }
        cmd = o.conn.command(&o.tools.path("pg_restore"), Some(&target));
        if o.clean {
            cmd.args(["--clean", "--if-exists"]);
        }
    }
    if o.no_owner {
        cmd.args(["--no-owner", "--no-acl"]);
    }
    cmd.arg("--exit-on-error");
    pipe_into(
        repo,
        snapshot,
        &dump_stream(db),
        cmd,
        &format!("pg_restore of {db} into {target}"),
    )
    .map(|_| ())
}
