//! Running `kc.sh export` into a fresh directory and reading what it wrote.

use crate::check::UsersMode;
use cairn::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How to run the export.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    /// The command that is `kc.sh` (default `["kc.sh"]`; a wrapper such as
    /// `["/opt/keycloak/bin/kc.sh"]` or a script that runs it in a job).
    pub kc: Vec<String>,
    /// Where export directories are made (each run makes a fresh one in it
    /// and removes it once read).
    pub work_dir: PathBuf,
    /// One realm; `None`: every realm.
    pub realm: Option<String>,
    /// The users layout.
    pub users: UsersMode,
    /// Users per file under `different_files` (Keycloak's default is 50).
    pub users_per_file: u64,
    /// More arguments after `export` (database options, `--optimized`).
    pub extra_args: Vec<String>,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            kc: vec!["kc.sh".into()],
            work_dir: std::env::temp_dir(),
            realm: None,
            users: UsersMode::DifferentFiles,
            users_per_file: 50,
            extra_args: Vec::new(),
        }
    }
}

/// The export command line for directory `dir`.
pub fn export_args(o: &ExportOptions, dir: &Path) -> Vec<String> {
    let mut a = vec![
        "export".to_string(),
        "--dir".into(),
        dir.display().to_string(),
    ];
    if let Some(r) = &o.realm {
        a.extend(["--realm".into(), r.clone()]);
    }
    a.extend(["--users".into(), o.users.as_str().into()]);
    if o.users == UsersMode::DifferentFiles {
        a.extend(["--users-per-file".into(), o.users_per_file.to_string()]);
    }
    a.extend(o.extra_args.iter().cloned());
    a
}

/// Runs a prepared command to its end; `cancel` kills it. A failure
/// carries the last lines of its output (Keycloak logs to stdout).
pub(crate) fn run(mut cmd: Command, what: &str, cancel: &Arc<AtomicBool>) -> Result<()> {
    let out = tempfile_path(what);
    let log = std::fs::File::create(&out).map_err(|e| Error::io(&out, e))?;
    let log2 = log.try_clone().map_err(|e| Error::io(&out, e))?;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        .spawn()
        .map_err(|e| Error::Source {
            name: what.into(),
            detail: format!("cannot start {}: {e}", cmd.get_program().to_string_lossy()),
        })?;
    let status = loop {
        if let Some(s) = child.try_wait().map_err(|e| Error::io(&out, e))? {
            break s;
        }
        if cancel.load(Ordering::SeqCst) {
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_file(&out);
            return Err(Error::Interrupted(format!("{what} was stopped")));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    let _ = std::fs::remove_file(&out);
    if status.success() {
        return Ok(());
    }
    let tail: Vec<&str> = text.lines().rev().take(10).collect();
    Err(Error::Source {
        name: what.into(),
        detail: format!(
            "{status}: {}",
            tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
        ),
    })
}

fn tempfile_path(what: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "cairn-{}-{}-{}.log",
        what.replace(|c: char| !c.is_ascii_alphanumeric(), "-"),
        std::process::id(),
        cairn::now_ns()
    ))
}

/// A new, private directory under `parent`.
pub(crate) fn fresh_dir(parent: &Path, what: &str) -> Result<PathBuf> {
    let dir = parent.join(format!(
        "cairn-keycloak-{what}-{}-{}",
        std::process::id(),
        cairn::now_ns()
    ));
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| Error::io(&dir, e))?;
    Ok(dir)
}

/// Runs the export and returns every file it wrote (name, bytes), sorted;
/// the directory is removed before this returns, whatever happened (the
/// files hold secrets).
pub fn export(o: &ExportOptions, cancel: &Arc<AtomicBool>) -> Result<Vec<(String, Vec<u8>)>> {
    let (prog, pre) =
        o.kc.split_first()
            .ok_or_else(|| Error::invalid("empty kc.sh command"))?;
    let dir = fresh_dir(&o.work_dir, "export")?;
    let result = (|| {
        let mut cmd = Command::new(prog);
        cmd.args(pre).args(export_args(o, &dir));
        run(cmd, "kc.sh export", cancel)?;
        read_dir(&dir)
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn read_dir(dir: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let e = e.map_err(|e| Error::io(dir, e))?;
        let name = e.file_name().to_string_lossy().into_owned();
        let ft = e.file_type().map_err(|err| Error::io(e.path(), err))?;
        if !ft.is_file() {
            return Err(Error::Source {
                name: "kc.sh export".into(),
                detail: format!("the export directory holds {name:?}, which is not a regular file"),
            });
        }
        let bytes = std::fs::read(e.path()).map_err(|err| Error::io(e.path(), err))?;
        files.push((name, bytes));
    }
    files.sort();
    Ok(files)
}
