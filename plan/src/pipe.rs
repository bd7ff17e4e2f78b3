//! A stored stream fed to a command's stdin: the way restores and
//! verifications hand a dump to the vendor's tool.

use cairn::{Error, Repository, Result, SnapshotId};
use std::io::Read;
use std::process::{Command, Stdio};

/// Pipes the stream at `path` of a snapshot into `cmd` and returns its
/// stdout. The command's failure (with its stderr) takes precedence over
/// the broken pipe it causes; a command that succeeds without reading
/// everything (`pg_restore --list`) is a success.
pub fn pipe_into(
    repo: &Repository,
    snapshot: &SnapshotId,
    path: &str,
    mut cmd: Command,
    what: &str,
) -> Result<String> {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| Error::Source {
        name: what.to_string(),
        detail: format!("cannot start {}: {e}", cmd.get_program().to_string_lossy()),
    })?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| Error::internal("no stdin"))?;
    let mut stdout = child
        .stdout
        .take()
        .ok_or_else(|| Error::internal("no stdout"))?;
    let mut stderr = child
        .stderr
        .take()
        .ok_or_else(|| Error::internal("no stderr"))?;
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let fed = repo.dump(snapshot, path, &mut stdin);
    drop(stdin);
    let status = child.wait().map_err(|e| Error::Source {
        name: what.into(),
        detail: e.to_string(),
    })?;
    let out = out_reader.join().unwrap_or_default();
    let err = err_reader.join().unwrap_or_default();
    if !status.success() {
        return Err(Error::Source {
            name: what.to_string(),
            detail: format!("{status}: {}", err.trim()),
        });
    }
    match fed {
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => Ok(out),
        Err(e) => Err(e),
        Ok(_) => Ok(out),
    }
}

/// A `sh -c` command, optionally under coreutils `timeout` (TERM at the
/// limit, KILL ten seconds later).
pub fn shell(command: &str, timeout: Option<std::time::Duration>) -> Command {
    let mut cmd = match timeout {
        Some(t) => {
            let mut c = Command::new("timeout");
            c.args([
                "--kill-after=10s",
                &format!("{}s", t.as_secs().max(1)),
                "sh",
            ]);
            c
        }
        None => Command::new("sh"),
    };
    cmd.arg("-c").arg(command);
    cmd
}

/// Runs a prepared command to completion with `input` on its stdin (or
/// none) and returns its stdout; a failure to start or a non-zero exit is
/// an error carrying `what` and the command's stderr.
pub fn run_captured(mut cmd: Command, what: &str, input: Option<&[u8]>) -> Result<Vec<u8>> {
    use std::io::Write;
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd.spawn().map_err(|e| Error::Source {
        name: what.to_string(),
        detail: format!("cannot start {}: {e}", cmd.get_program().to_string_lossy()),
    })?;
    if let (Some(bytes), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin.write_all(bytes).map_err(|e| Error::Source {
            name: what.to_string(),
            detail: format!("writing input: {e}"),
        })?;
    }
    let out = child.wait_with_output().map_err(|e| Error::Source {
        name: what.to_string(),
        detail: e.to_string(),
    })?;
    if !out.status.success() {
        return Err(Error::Source {
            name: what.to_string(),
            detail: format!(
                "{}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    Ok(out.stdout)
}
