//! Base backups as a plan component (`kind = "postgres-base"`).

use super::base::{capture, BaseOptions, BASE_STREAM};
use super::catalog::BASE_SOURCE;
use super::recover::{recover, RecoverOptions};
use crate::{PgConn, Tools};
use cairn::{Error, Result};
use cairn_plan::{Capture, CaptureCx, Component, Outcome, RestoreCx, Table};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

/// Base backups of one server; restores go into a new data directory.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct PgBaseComponent {
    /// How to take the backup.
    pub backup: BaseOptions,
    /// Where a restore writes, to which point, and how WAL is fetched
    /// (`None`: this component cannot restore).
    pub restore: Option<RecoverOptions>,
}

impl PgBaseComponent {
    /// A component that backs up as `o` says.
    pub fn new(o: BaseOptions) -> Self {
        PgBaseComponent {
            backup: o,
            restore: None,
        }
    }
}

/// `kind = "postgres-base"`. Settings: `dsn` (a role with REPLICATION),
/// `pg_bin`, `spread_checkpoint`. Restore: `data_dir`, `restore_command`
/// (without it, only the base backup's own WAL is replayed), `target_time`,
/// `target_lsn`, `target_action` (default `pause`).
pub fn from_settings(s: &mut Table, r: &mut Table) -> Result<Arc<dyn Component>> {
    let backup = BaseOptions {
        conn: PgConn::new(s.str("dsn")?),
        tools: Tools::new(s.str("pg_bin")?.map(PathBuf::from)),
        spread_checkpoint: s.bool("spread_checkpoint")?.unwrap_or(false),
    };
    let restore = match r.str("data_dir")? {
        None => None,
        Some(d) => {
            let command = r.str("restore_command")?;
            let target = super::Target::from_flags(
                r.str("target_time")?.as_deref(),
                r.str("target_lsn")?.as_deref(),
                None,
                command.is_none(),
            )?;
            Some(RecoverOptions {
                data_dir: PathBuf::from(d),
                target,
                action: super::Action::parse(
                    r.str("target_action")?.as_deref().unwrap_or("pause"),
                )?,
                base: None,
                restore_command: command.unwrap_or_else(|| "false".into()),
                archive_off: false,
                cache_dir: super::default_cache_dir(),
            })
        }
    };
    Ok(Arc::new(PgBaseComponent { backup, restore }))
}

/// Extracts the base backup into a temporary directory and runs
/// `pg_verifybackup` on it: every file against the backup manifest, and
/// the WAL inside the backup parsed from start to stop.
fn verify_into(cx: &RestoreCx<'_>, tools: &Tools, scratch: &Path) -> Result<Outcome> {
    let dir = scratch.join(format!("cairn-base-verify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(dir.display().to_string(), e))?;
    let result = (|| -> Result<String> {
        let mut tar = Command::new("tar");
        tar.args(["--extract", "--file=-", "--no-same-owner", "--directory"])
            .arg(&dir);
        cairn_plan::pipe_into(cx.repo, &cx.id, BASE_STREAM, tar, "tar")?;
        let mut v = Command::new(tools.path("pg_verifybackup"));
        v.arg(&dir);
        v.env("PATH", tools_path(tools));
        let out = crate::tools::run(v, "pg_verifybackup", None)?;
        Ok(out.trim().to_string())
    })();
    let _ = std::fs::remove_dir_all(&dir);
    let said = result?;
    let (items, bytes) = cairn_plan::read_back(cx.repo, cx.snapshot)?;
    Ok(Outcome {
        summary: format!("base backup verified by pg_verifybackup ({said})"),
        items,
        bytes,
        details: vec![said.clone()],
        data: serde_json::json!({ "pg_verifybackup": said }),
    })
}

/// `PATH` with the tools' directory first (pg_verifybackup runs pg_waldump).
fn tools_path(tools: &Tools) -> std::ffi::OsString {
    let mut p = std::ffi::OsString::new();
    if let Some(d) = &tools.bin_dir {
        p.push(d);
        p.push(":");
    }
    p.push(std::env::var_os("PATH").unwrap_or_default());
    p
}

impl Component for PgBaseComponent {
    fn kind(&self) -> &'static str {
        BASE_SOURCE
    }

    fn describe(&self) -> String {
        format!("base backup of {}", self.backup.conn.redacted())
    }

    fn capture(&self, cx: &CaptureCx<'_>) -> Result<Capture> {
        capture(&self.backup, cx)
    }

    fn restore_target(&self) -> String {
        match &self.restore {
            Some(r) => format!(
                "new data directory {} ({})",
                r.data_dir.display(),
                r.target.describe()
            ),
            None => "(no restore target: `data_dir` in the component's [restore])".into(),
        }
    }

    fn restore(&self, cx: &RestoreCx<'_>) -> Result<Outcome> {
        let Some(r) = &self.restore else {
            return Err(Error::invalid(
                "this postgres-base component has no restore target: set `data_dir` in its [component.restore] table",
            ));
        };
        let mut r = r.clone();
        r.base = Some(cx.id);
        let rec = recover(cx.repo, &r)?;
        Ok(Outcome {
            summary: format!(
                "data directory {} written; `pg_ctl start` replays to {}",
                r.data_dir.display(),
                r.target.describe()
            ),
            items: 1,
            bytes: 0,
            details: rec
                .settings
                .iter()
                .map(|(k, v)| format!("{k} = {v}"))
                .collect(),
            data: serde_json::json!({ "data_dir": r.data_dir, "wal_range": rec.wal_range }),
        })
    }

    fn verify(&self, cx: &RestoreCx<'_>) -> Result<Outcome> {
        verify_into(cx, &self.backup.tools, &std::env::temp_dir())
    }

    fn drill(&self, cx: &RestoreCx<'_>, scratch: &Path) -> Result<Outcome> {
        verify_into(cx, &self.backup.tools, scratch)
    }
}
