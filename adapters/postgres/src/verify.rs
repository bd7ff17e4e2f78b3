//! The weekly restore test as one call: `pg_restore --list` on every stored
//! dump, and optionally a full restore into a throwaway database with row
//! counts.

use crate::restore::{create_db, databases_in};
use crate::tools::psql;
use crate::{dump_stream, PgConn, Tools};
use cairn::{Repository, Result, SnapshotId};
use cairn_plan::pipe_into;

/// Rows in one table of a restored database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableCount {
    /// `schema.table`.
    pub table: String,
    /// Exact row count.
    pub rows: u64,
}

/// Result for one database dump.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DbVerify {
    /// Database name as dumped.
    pub database: String,
    /// Bytes of the stored dump, every chunk read back and verified.
    pub bytes: u64,
    /// Entries `pg_restore --list` printed (table of contents).
    pub toc_entries: usize,
    /// Row counts, when restored into a scratch database.
    pub tables: Option<Vec<TableCount>>,
}

/// Checks every dump in a snapshot; with `scratch`, restores each into a
/// new database on that server (dropped afterwards, also on failure) and
/// counts rows.
pub fn verify(
    repo: &Repository,
    snapshot: &SnapshotId,
    tools: &Tools,
    scratch: Option<&PgConn>,
) -> Result<Vec<DbVerify>> {
    let mut out = Vec::new();
    for db in databases_in(repo, snapshot)? {
        let mut cmd = std::process::Command::new(tools.path("pg_restore"));
        cmd.arg("--list");
        let list = pipe_into(
            repo,
            snapshot,
            &dump_stream(&db),
            cmd,
            &format!("pg_restore --list of {db}"),
        )?;
        let toc_entries = list
            .lines()
            .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
            .count();
        // Read the whole stream back: every chunk is decrypted and its
        // hash checked, not just the table of contents.
        let bytes = repo
            .dump(snapshot, &dump_stream(&db), &mut std::io::sink())?
            .bytes;
        let tables = match scratch {
            Some(conn) => Some(scratch_restore(repo, snapshot, tools, conn, &db)?),
            None => None,
        };
        out.push(DbVerify {
            database: db,
            bytes,
            toc_entries,
            tables,
        });
    }
    Ok(out)
}

struct DropOnExit<'a> {
    tools: &'a Tools,
    conn: &'a PgConn,
    name: String,
}

impl Drop for DropOnExit<'_> {
    fn drop(&mut self) {
        let _ = psql(
            self.tools,
            self.conn,
            Some(&crate::backup::maintenance_db(self.conn)),
            &[("name", &self.name)],
            "DROP DATABASE IF EXISTS :\"name\" WITH (FORCE);\n",
        );
    }
}

fn scratch_restore(
    repo: &Repository,
    snapshot: &SnapshotId,
    tools: &Tools,
    conn: &PgConn,
    db: &str,
) -> Result<Vec<TableCount>> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let name = format!("cairn_verify_{}_{nanos}", std::process::id());
    create_db(tools, conn, &name)?;
    let _guard = DropOnExit {
        tools,
        conn,
        name: name.clone(),
    };
    let mut cmd = conn.command(&tools.path("pg_restore"), Some(&name));
    cmd.args(["--no-owner", "--no-acl", "--exit-on-error"]);
    pipe_into(
        repo,
        snapshot,
        &dump_stream(db),
        cmd,
        &format!("pg_restore of {db} into scratch database {name}"),
    )?;
    let out = psql(
        tools,
        conn,
        Some(&name),
        &[],
        "SELECT format('SELECT %L, count(*) FROM %I.%I', schemaname || '.' || tablename, schemaname, tablename) \
         FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1 \\gexec\n",
    )?;
    Ok(out
        .lines()
        .filter_map(|l| {
            let (t, n) = l.split_once('\t')?;
            Some(TableCount {
                table: t.to_string(),
                rows: n.trim().parse().ok()?,
            })
        })
        .collect())
}
