//! PostgreSQL as a plan component (`kind = "postgres"`).

use crate::backup::{capture, wal_position};
use crate::{PgBackupOptions, PgConn, PgRestoreOptions, Tools};
use cairn::Result;
use cairn_plan::{Capture, CaptureCx, Component, Outcome, RestoreCx, Table};
use std::path::PathBuf;
use std::sync::Arc;

/// Dumps of one server, restored into another (or the same) server.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct PgComponent {
    /// What to dump.
    pub backup: PgBackupOptions,
    /// Where restores go (`None`: this component cannot restore).
    pub restore: Option<PgRestoreOptions>,
    /// Verification restores every dump into a scratch database on this
    /// server and counts rows; `None`: `pg_restore --list` only.
    pub scratch: Option<PgConn>,
}

impl PgComponent {
    /// A component that dumps as `o` says.
    pub fn new(o: PgBackupOptions) -> PgComponent {
        PgComponent {
            backup: o,
            ..Default::default()
        }
    }

    /// Sets the restore target.
    pub fn restore_into(mut self, r: PgRestoreOptions) -> PgComponent {
        self.restore = Some(r);
        self
    }
}

/// `kind = "postgres"`. Settings: `dsn`, `databases`, `all`, `globals`
/// (default true), `pg_bin`, `scratch_dsn`. Restore: `dsn`, `databases`,
/// `target_database`, `clean`, `globals`, `no_owner`, `pg_bin`.
pub fn from_settings(s: &mut Table, r: &mut Table) -> Result<Arc<dyn Component>> {
    let tools = Tools::new(s.str("pg_bin")?.map(PathBuf::from));
    let backup = PgBackupOptions {
        conn: PgConn::new(s.str("dsn")?),
        tools: tools.clone(),
        databases: s.strs("databases")?,
        all: s.bool("all")?.unwrap_or(false),
        globals: s.bool("globals")?.unwrap_or(true),
        ..Default::default()
    };
    if backup.all && !backup.databases.is_empty() {
        return Err(s.error("give `databases` or `all = true`, not both"));
    }
    let scratch = s.str("scratch_dsn")?.map(|d| PgConn::new(Some(d)));
    let restore = match r.str("dsn")? {
        None => None,
        Some(dsn) => Some(PgRestoreOptions {
            conn: PgConn::new(Some(dsn)),
            tools: match r.str("pg_bin")? {
                Some(b) => Tools::new(Some(PathBuf::from(b))),
                None => tools,
            },
            databases: r.strs("databases")?,
            target_database: r.str("target_database")?,
            clean: r.bool("clean")?.unwrap_or(false),
            globals: r.bool("globals")?.unwrap_or(false),
            no_owner: r.bool("no_owner")?.unwrap_or(false),
        }),
    };
    Ok(Arc::new(PgComponent {
        backup,
        restore,
        scratch,
    }))
}

impl Component for PgComponent {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    fn describe(&self) -> String {
        let which = if self.backup.all {
            "every database".to_string()
        } else if self.backup.databases.is_empty() {
            "the connection's database".to_string()
        } else {
            format!("databases {}", self.backup.databases.join(", "))
        };
        format!("{which} on {}", self.backup.conn.redacted())
    }

    fn capture(&self, cx: &CaptureCx<'_>) -> Result<Capture> {
        let marker = wal_position(&self.backup)?;
        let (streams, info) = capture(&self.backup, &cx.cancel)?;
        let mut c = Capture::streams(streams).consistency(
            "each database dump is one consistent snapshot taken when its pg_dump started (at or after marker.wal_lsn); databases and globals are dumped one after another",
        );
        c.info = info;
        c.marker = marker;
        let o = self.backup.clone();
        c.marker_end = Some(Box::new(move || {
            Ok(wal_position(&o)?
                .into_iter()
                .filter(|(k, _)| k != "replica")
                .map(|(k, v)| (format!("{k}_end"), v))
                .collect())
        }));
        Ok(c)
    }

    fn restore_target(&self) -> String {
        match &self.restore {
            Some(r) => format!("server {}", r.conn.redacted()),
            None => "(no restore target: `dsn` in the component's [restore])".into(),
        }
    }

    fn restore(&self, cx: &RestoreCx<'_>) -> Result<Outcome> {
        let Some(r) = &self.restore else {
            return Err(cairn::Error::invalid(
                "this postgres component has no restore target: set `dsn` in its [component.restore] table",
            ));
        };
        let dbs = crate::restore(cx.repo, &cx.id, r)?;
        Ok(Outcome {
            summary: format!("restored {} into {}", dbs.join(", "), r.conn.redacted()),
            items: dbs.len() as u64,
            bytes: 0,
            details: Vec::new(),
            data: serde_json::json!({ "databases": dbs, "target_database": r.target_database }),
        })
    }

    fn verify(&self, cx: &RestoreCx<'_>) -> Result<Outcome> {
        let report = crate::verify(cx.repo, &cx.id, &self.backup.tools, self.scratch.as_ref())?;
        if report.is_empty() {
            return Err(cairn::Error::invalid(format!(
                "snapshot {} holds no PostgreSQL dumps",
                cx.id.short()
            )));
        }
        let json: Vec<_> = report
            .iter()
            .map(|d| {
                serde_json::json!({
                    "database": d.database, "bytes": d.bytes, "toc_entries": d.toc_entries,
                    "tables": d.tables.as_ref().map(|t| t.iter().map(|t| serde_json::json!({"table": t.table, "rows": t.rows})).collect::<Vec<_>>()),
                })
            })
            .collect();
        let mut details = Vec::new();
        for d in &report {
            details.push(format!(
                "{}: dump of {} bytes readable, {} entries in its table of contents",
                d.database, d.bytes, d.toc_entries
            ));
            for t in d.tables.iter().flatten() {
                details.push(format!("  {:<40} {:>12} rows", t.table, t.rows));
            }
        }
        Ok(Outcome {
            summary: format!("all {} dumps verified", report.len()),
            items: report.len() as u64,
            bytes: report.iter().map(|d| d.bytes).sum(),
            details,
            data: serde_json::json!({ "databases": json }),
        })
    }
}
