//! `pg_dump` streams into one snapshot.

use crate::tools::psql;
use crate::{dump_stream, PgConn, Tools, GLOBALS_STREAM};
use cairn::{BackupReport, Error, Repository, Result, StreamSource};
use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// What to back up.
#[derive(Clone, Debug, Default)]
pub struct PgBackupOptions {
    /// Connection.
    pub conn: PgConn,
    /// Client tools.
    pub tools: Tools,
    /// Databases to dump; empty with `all` false means the DSN's database.
    pub databases: Vec<String>,
    /// Dump every database that accepts connections (templates excluded).
    pub all: bool,
    /// Also dump roles and tablespaces (`pg_dumpall --globals-only`).
    pub globals: bool,
    /// Snapshot tags.
    pub tags: Vec<String>,
    /// Host name to record.
    pub host: Option<String>,
    /// Chunking profile for the dumps (default: `database`).
    pub profile: Option<String>,
    /// Progress counters.
    pub progress: Option<std::sync::Arc<cairn::Progress>>,
}

/// Databases and their sizes, as the server reports them.
fn list_databases(o: &PgBackupOptions) -> Result<Vec<(String, u64)>> {
    let out = psql(
        &o.tools,
        &o.conn,
        Some(&maintenance_db(&o.conn)),
        &[],
        "SELECT datname, pg_database_size(datname) FROM pg_database \
         WHERE datallowconn AND NOT datistemplate ORDER BY 1;\n",
    )?;
    Ok(out
        .lines()
        .filter_map(|l| {
            let (name, size) = l.split_once('\t')?;
            Some((name.to_string(), size.trim().parse().unwrap_or(0)))
        })
        .collect())
}

/// The database used for server-wide queries.
pub(crate) fn maintenance_db(conn: &PgConn) -> String {
    conn.default_db().unwrap_or_else(|| "postgres".to_string())
}

fn chosen(o: &PgBackupOptions, have: &[(String, u64)]) -> Result<Vec<(String, u64)>> {
    if o.all {
        return Ok(have.to_vec());
    }
    let wanted = if o.databases.is_empty() {
        vec![o.conn.default_db().ok_or_else(|| {
            Error::invalid("no database given: use --database NAME, --all, or a DSN that names one")
        })?]
    } else {
        o.databases.clone()
    };
    wanted
        .into_iter()
        .map(|w| {
            have.iter()
                .find(|(n, _)| *n == w)
                .cloned()
                .ok_or_else(|| Error::Source {
                    name: format!("postgres database {w}"),
                    detail: format!(
                        "database {w:?} does not exist on the server (it has: {})",
                        have.iter()
                            .map(|(n, _)| n.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                })
        })
        .collect()
}

/// The server's position before or after the dumps: (WAL LSN, next
/// transaction id, whether it is a replica). On a replica the LSN is the
/// last replayed one.
pub(crate) fn wal_position(o: &PgBackupOptions) -> Result<BTreeMap<String, String>> {
    let out = psql(
        &o.tools,
        &o.conn,
        Some(&maintenance_db(&o.conn)),
        &[],
        "SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END, \
         pg_snapshot_xmax(pg_current_snapshot()), pg_is_in_recovery();\n",
    )?;
    let cols: Vec<&str> = out.trim().split('\t').collect();
    let mut m = BTreeMap::new();
    if let [lsn, xid, replica] = cols.as_slice() {
        m.insert("wal_lsn".to_string(), lsn.to_string());
        m.insert("next_xid".to_string(), xid.to_string());
        m.insert("replica".to_string(), (*replica == "t").to_string());
    }
    Ok(m)
}

/// The dump streams (globals first) and the snapshot facts, without
/// writing anything: each database is one `pg_dump -Fc -Z0` stream read
/// straight from the tool's stdout, uncompressed so that chunks repeat
/// from day to day.
pub(crate) fn capture(
    o: &PgBackupOptions,
    cancel: &Arc<AtomicBool>,
) -> Result<(Vec<StreamSource>, BTreeMap<String, String>)> {
    let pg_dump_version = o.tools.version("pg_dump")?;
    let maint = maintenance_db(&o.conn);
    let server_version = psql(
        &o.tools,
        &o.conn,
        Some(&maint),
        &[],
        "SHOW server_version;\n",
    )?
    .trim()
    .to_string();
    let dbs = chosen(o, &list_databases(o)?)?;
    let profile = o
        .profile
        .clone()
        .unwrap_or_else(|| cairn::PROFILE_DATABASE.to_string());
    let mut info = BTreeMap::new();
    info.insert("postgres.server_version".to_string(), server_version);
    info.insert("postgres.pg_dump_version".to_string(), pg_dump_version);
    info.insert("postgres.connection".to_string(), o.conn.redacted());
    info.insert(
        "postgres.databases".to_string(),
        dbs.iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(","),
    );
    for (name, size) in &dbs {
        info.insert(format!("postgres.size.{name}"), size.to_string());
    }
    info.insert(
        "postgres.consistency".to_string(),
        "each database dump is one consistent snapshot; globals and separate databases are dumped at different moments".to_string(),
    );
    let mut streams = Vec::new();
    if o.globals {
        let mut cmd = o.conn.command(&o.tools.path("pg_dumpall"), Some(&maint));
        cmd.arg("--globals-only");
        streams.push(StreamSource::from_process_cancellable(
            GLOBALS_STREAM,
            cmd,
            cancel.clone(),
        )?);
    }
    for (name, size) in &dbs {
        let mut cmd = o.conn.command(&o.tools.path("pg_dump"), Some(name));
        cmd.args(["--format=custom", "--compress=0"]);
        let mut s = StreamSource::from_process_cancellable(dump_stream(name), cmd, cancel.clone())?
            .with_profile(profile.clone());
        s.info.insert("database".into(), name.clone());
        s.info.insert("database_size".into(), size.to_string());
        s.info
            .insert("format".into(), "custom, uncompressed".into());
        streams.push(s);
    }
    Ok((streams, info))
}

/// Dumps the chosen databases (and globals) into one new snapshot, through
/// the same component path a plan takes ([`crate::PgComponent`]). A failing
/// or killed `pg_dump` fails the backup with its stderr, and no snapshot is
/// written.
pub fn backup(repo: &Repository, o: &PgBackupOptions) -> Result<BackupReport> {
    let run = cairn_plan::ComponentRun::default()
        .tags(o.tags.clone())
        .host(o.host.clone())
        .progress(o.progress.clone());
    cairn_plan::backup_component(repo, &crate::PgComponent::new(o.clone()), &run, &[])
}
