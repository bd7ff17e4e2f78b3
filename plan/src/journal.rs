//! Run records: one JSON file per plan run on the machine that ran it,
//! written when the run starts and after every step, so that a run killed
//! at any point is reported as failed by `plan status`. The repository
//! holds the snapshots; these records hold what no snapshot can say (a run
//! that stored nothing, a hook that failed).

use cairn::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Records kept per plan (older ones are removed).
pub const KEEP_RECORDS: usize = 200;

/// A run's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Still going (or killed: see [`RunRecord::effective_status`]).
    Running,
    /// Every component stored, every hook succeeded.
    Ok,
    /// Something failed.
    Failed,
    /// Stopped by SIGINT or SIGTERM.
    Interrupted,
}

impl RunStatus {
    /// Lowercase name.
    pub fn as_str(&self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Ok => "ok",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
        }
    }
}

/// One component in a run record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentRecord {
    /// Component name.
    pub name: String,
    /// `pending`, `running`, `ok`, `failed`, `skipped`, `interrupted`.
    pub status: String,
    /// Snapshot id (hex), once stored.
    pub snapshot: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
}

/// One run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Run id.
    pub run: String,
    /// Plan name.
    pub plan: String,
    /// `cold` or `hot`.
    pub mode: String,
    /// Host that ran it.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// The process's command line, to tell a reused pid apart.
    pub cmdline: String,
    /// Start, RFC 3339.
    pub started: String,
    /// End, RFC 3339 (none while running).
    pub ended: Option<String>,
    /// Outcome.
    pub status: RunStatus,
    /// Components in backup order.
    pub components: Vec<ComponentRecord>,
    /// Failures outside components (hooks).
    pub errors: Vec<String>,
}

fn cmdline_of(pid: u32) -> Option<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .ok()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}

impl RunRecord {
    /// A new record for this process.
    pub fn new(run: &str, plan: &str, mode: &str, components: &[&str]) -> RunRecord {
        let pid = std::process::id();
        RunRecord {
            run: run.into(),
            plan: plan.into(),
            mode: mode.into(),
            host: cairn::hostname(),
            pid,
            cmdline: cmdline_of(pid).unwrap_or_default(),
            started: cairn::format_time(cairn::now_ns()),
            ended: None,
            status: RunStatus::Running,
            components: components
                .iter()
                .map(|n| ComponentRecord {
                    name: n.to_string(),
                    status: "pending".into(),
                    ..Default::default()
                })
                .collect(),
            errors: Vec::new(),
        }
    }

    /// The status, with a `running` record whose process is gone (killed,
    /// a power cut) counted as failed.
    pub fn effective_status(&self) -> RunStatus {
        if self.status != RunStatus::Running {
            return self.status;
        }
        let here = self.host == cairn::hostname();
        if here && cmdline_of(self.pid).as_deref() != Some(self.cmdline.as_str()) {
            RunStatus::Failed
        } else {
            RunStatus::Running
        }
    }

    /// The component record of this name.
    pub fn component_mut(&mut self, name: &str) -> Option<&mut ComponentRecord> {
        self.components.iter_mut().find(|c| c.name == name)
    }
}

/// The newest drill of a plan, kept for metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrillRecord {
    /// When it started (Unix ns).
    pub started_ns: i64,
    /// The pick (`latest`, `random:SEED`, `N`).
    pub pick: String,
    /// Every component passed.
    pub ok: bool,
    /// One per component.
    pub steps: Vec<DrillRecordStep>,
}

/// One component of a [`DrillRecord`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrillRecordStep {
    /// Component name.
    pub name: String,
    /// Snapshot id (hex).
    pub snapshot: String,
    /// Passed.
    pub ok: bool,
    /// Restore and check time, milliseconds.
    pub rto_ms: u64,
    /// Why it failed.
    pub error: Option<String>,
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp"));
    let write = || -> std::io::Result<()> {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| Error::io(path, e))
}

/// Where a plan's run records live.
#[derive(Clone, Debug)]
pub struct Journal {
    dir: PathBuf,
}

/// The default state directory: `$CAIRN_STATE_DIR`, else
/// `$XDG_STATE_HOME/cairn`, else `~/.local/state/cairn`.
pub fn default_state_dir() -> Result<PathBuf> {
    let env = |v: &str| {
        std::env::var_os(v)
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
    };
    if let Some(d) = env("CAIRN_STATE_DIR") {
        return Ok(d);
    }
    if let Some(d) = env("XDG_STATE_HOME") {
        return Ok(d.join("cairn"));
    }
    env("HOME")
        .map(|h| h.join(".local/state/cairn"))
        .ok_or_else(|| {
            Error::invalid("HOME is not set: set CAIRN_STATE_DIR or the plan's state_dir")
        })
}

impl Journal {
    /// The records of `plan` under `state_dir`.
    pub fn new(state_dir: &Path, plan: &str) -> Journal {
        Journal {
            dir: state_dir.join("plans").join(plan).join("runs"),
        }
    }

    /// Where the records are.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes a record atomically (temporary file, sync, rename).
    pub fn save(&self, r: &RunRecord) -> Result<()> {
        let text = serde_json::to_vec_pretty(r).map_err(Error::internal)?;
        write_atomic(&self.dir.join(format!("{}.json", r.run)), &text)
    }

    fn drill_path(&self) -> PathBuf {
        self.dir
            .parent()
            .unwrap_or(&self.dir)
            .join("last-drill.json")
    }

    /// Keeps the newest drill.
    pub fn save_drill(&self, d: &DrillRecord) -> Result<()> {
        let text = serde_json::to_vec_pretty(d).map_err(Error::internal)?;
        write_atomic(&self.drill_path(), &text)
    }

    /// The newest drill, if one was recorded.
    pub fn last_drill(&self) -> Result<Option<DrillRecord>> {
        let path = self.drill_path();
        match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| Error::corrupt(path.display().to_string(), e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    /// Every record, oldest first (run ids sort by time). Unreadable
    /// records are skipped with a warning.
    pub fn list(&self) -> Result<Vec<RunRecord>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(&self.dir, e)),
        };
        let mut names: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension().is_some_and(|x| x == "json")
                    && !p
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect();
        names.sort();
        let mut out = Vec::new();
        for p in names {
            match std::fs::read(&p)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice::<RunRecord>(&b).map_err(|e| e.to_string()))
            {
                Ok(r) => out.push(r),
                Err(e) => eprintln!(
                    "cairn: warning: run record {} is unreadable: {e}",
                    p.display()
                ),
            }
        }
        Ok(out)
    }

    /// Removes all but the newest `KEEP_RECORDS` (200) records.
    pub fn trim(&self) -> Result<()> {
        let all = self.list()?;
        for r in all.iter().take(all.len().saturating_sub(KEEP_RECORDS)) {
            let _ = std::fs::remove_file(self.dir.join(format!("{}.json", r.run)));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_of_a_dead_process_reads_as_failed() {
        let dir = tempfile::tempdir().expect("tmp");
        let j = Journal::new(dir.path(), "p");
        let mut r = RunRecord::new("20260101T000000Z-0001", "p", "hot", &["a"]);
        j.save(&r).expect("save");
        assert_eq!(
            j.list().expect("list")[0].effective_status(),
            RunStatus::Running
        );
        r.cmdline = "not this process".into();
        j.save(&r).expect("save");
        assert_eq!(
            j.list().expect("list")[0].effective_status(),
            RunStatus::Failed
        );
        r.status = RunStatus::Ok;
        assert_eq!(r.effective_status(), RunStatus::Ok);
    }
}
