//! Locating the PostgreSQL client tools.

use cairn::{Error, Result};
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Where `pg_dump`, `pg_dumpall`, `pg_restore` and `psql` live.
#[derive(Clone, Debug, Default)]
pub struct Tools {
    /// A directory holding them; `None` searches `PATH`.
    pub bin_dir: Option<PathBuf>,
}

impl Tools {
    /// Tools from `dir`, or from `PATH`.
    pub fn new(bin_dir: Option<PathBuf>) -> Self {
        Tools { bin_dir }
    }

    /// Path of one tool.
    pub fn path(&self, tool: &str) -> PathBuf {
        match &self.bin_dir {
            Some(d) => d.join(tool),
            None => PathBuf::from(tool),
        }
    }

    /// The tool's `--version` line; a clear error when it is missing.
    pub fn version(&self, tool: &str) -> Result<String> {
        let out = Command::new(self.path(tool))
            .arg("--version")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| Error::Source {
                name: tool.to_string(),
                detail: format!(
                    "cannot run {}: {e}; install the PostgreSQL client tools (Debian: apt-get install postgresql-client) or pass their directory",
                    self.path(tool).display()
                ),
            })?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}

/// Runs a prepared command to completion; a failure carries its stderr.
pub(crate) fn run(cmd: Command, what: &str, input: Option<&str>) -> Result<String> {
    let out = cairn_plan::run_captured(cmd, what, input.map(str::as_bytes))?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Runs SQL through `psql` (script on stdin, so `:'var'` and `:"var"`
/// interpolation quote values and identifiers safely).
pub(crate) fn psql(
    tools: &Tools,
    conn: &crate::PgConn,
    db: Option<&str>,
    vars: &[(&str, &str)],
    sql: &str,
) -> Result<String> {
    let mut cmd = conn.command(&tools.path("psql"), db);
    cmd.args(["-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1"]);
    for (k, v) in vars {
        cmd.arg("-v").arg(format!("{k}={v}"));
    }
    run(cmd, "psql", Some(sql))
}
