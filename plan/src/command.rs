//! The `command` component: any command's stdout as one named stream, its
//! exit status checked (`redis-cli --rdb -`, `mysqldump
//! --single-transaction`, `vault operator raft snapshot save /dev/stdout`).

use crate::component::{Capture, CaptureCx, Component, Outcome, RestoreCx};
use crate::doc::Table;
use crate::model::parse_interval;
use crate::pipe::{pipe_into, shell};
use cairn::{now_ns, Error, Result, Snapshot, StreamSource};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A command whose stdout is the backup.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct CommandSource {
    /// Run with `sh -c`.
    pub command: String,
    /// Stream name in the snapshot.
    pub stream: String,
    /// Chunking profile (`database` for dumps; default: files).
    pub profile: Option<String>,
    /// Killed after this long (the backup then fails).
    pub timeout: Option<Duration>,
    /// Restore: a command that reads the stream on stdin.
    pub restore_command: Option<String>,
    /// Restore: a file to write the stream to.
    pub restore_path: Option<PathBuf>,
    /// Restore: replace an existing `restore_path`.
    pub overwrite: bool,
    /// Verify: a command that reads the stream on stdin and exits 0 when
    /// it is sound.
    pub verify_command: Option<String>,
}

impl CommandSource {
    /// `command`'s stdout as stream `stream`.
    pub fn new(command: impl Into<String>, stream: impl Into<String>) -> CommandSource {
        CommandSource {
            command: command.into(),
            stream: stream.into(),
            ..Default::default()
        }
    }

    /// Restores by piping the stream into this command.
    pub fn restore_command(mut self, command: impl Into<String>) -> CommandSource {
        self.restore_command = Some(command.into());
        self
    }

    /// Restores by writing the stream to this file.
    pub fn restore_path(mut self, path: impl Into<PathBuf>) -> CommandSource {
        self.restore_path = Some(path.into());
        self
    }

    fn check_stream_name(&self) -> Result<()> {
        let bad = self.stream.is_empty()
            || self.stream.starts_with('/')
            || self
                .stream
                .split('/')
                .any(|c| c.is_empty() || c == "." || c == "..");
        if bad {
            return Err(Error::invalid(format!(
                "bad stream name {:?}: relative, like redis/dump.rdb",
                self.stream
            )));
        }
        Ok(())
    }
}

/// `kind = "command"`: `command`, `stream`, `profile`, `timeout`,
/// `verify_command`; restore: `command` or `path`, `overwrite`.
pub fn from_settings(s: &mut Table, r: &mut Table) -> Result<Arc<dyn Component>> {
    let mut c = CommandSource::new(
        s.req_str("command")?,
        s.str("stream")?.unwrap_or_else(|| "stdout".into()),
    );
    c.check_stream_name().map_err(|e| s.error(e))?;
    c.profile = s.str("profile")?;
    if let Some(p) = &c.profile {
        let known = [
            cairn::PROFILE_DATABASE,
            cairn::PROFILE_FILES,
            cairn::PROFILE_DOCUMENTS,
        ];
        if !known.contains(&p.as_str()) {
            return Err(s.error(format!(
                "profile must be one of {}, not {p:?}",
                known.join(", ")
            )));
        }
    }
    c.timeout = match s.str("timeout")? {
        Some(t) => Some(parse_interval(&t).map_err(|e| s.error(e))?),
        None => None,
    };
    c.verify_command = s.str("verify_command")?;
    c.restore_command = r.str("command")?;
    c.restore_path = r.str("path")?.map(PathBuf::from);
    c.overwrite = r.bool("overwrite")?.unwrap_or(false);
    if c.restore_command.is_some() && c.restore_path.is_some() {
        return Err(r.error("give `command` or `path` to restore into, not both"));
    }
    Ok(Arc::new(c))
}

impl Component for CommandSource {
    fn kind(&self) -> &'static str {
        "command"
    }

    fn describe(&self) -> String {
        format!("`{}` as stream {}", self.command, self.stream)
    }

    fn is_previous(&self, snapshot: &Snapshot) -> bool {
        snapshot.source == "command" && snapshot.paths == [self.stream.clone()]
    }

    fn capture(&self, cx: &CaptureCx<'_>) -> Result<Capture> {
        self.check_stream_name()?;
        let started = cairn::format_time(now_ns());
        let mut src = StreamSource::from_process_cancellable(
            &self.stream,
            shell(&self.command, self.timeout),
            cx.cancel.clone(),
        )?;
        if let Some(p) = &self.profile {
            src = src.with_profile(p.clone());
        }
        src.info.insert("command".into(), self.command.clone());
        let mut c = Capture::streams(vec![src])
            .info("command", "command", &self.command)
            .info("command", "stream", &self.stream)
            .consistency(
                "whatever the command printed, from its start to its exit (status 0 required)",
            );
        c.marker.insert("command_start".into(), started);
        c.marker_end = Some(Box::new(|| {
            let mut m = BTreeMap::new();
            m.insert("command_end".into(), cairn::format_time(now_ns()));
            Ok(m)
        }));
        Ok(c)
    }

    fn restore_target(&self) -> String {
        match (&self.restore_command, &self.restore_path) {
            (Some(c), _) => format!("stdin of `{c}`"),
            (_, Some(p)) => format!("file {}", p.display()),
            _ => "(no restore target: `command` or `path` in the component's [restore])".into(),
        }
    }

    fn restore(&self, cx: &RestoreCx<'_>) -> Result<Outcome> {
        let size = stream_size(cx, &self.stream)?;
        if let Some(c) = &self.restore_command {
            pipe_into(cx.repo, &cx.id, &self.stream, shell(c, None), c)?;
            return Ok(Outcome {
                summary: format!("{size} bytes of {} fed to `{c}`", self.stream),
                items: 1,
                bytes: size,
                details: Vec::new(),
                data: serde_json::json!({ "stream": self.stream, "bytes": size, "command": c }),
            });
        }
        let Some(path) = &self.restore_path else {
            return Err(Error::invalid(
                "this command component has no restore target: set `command` or `path` in its [component.restore] table",
            ));
        };
        write_file(cx, &self.stream, path, self.overwrite)?;
        Ok(Outcome {
            summary: format!(
                "{size} bytes of {} written to {}",
                self.stream,
                path.display()
            ),
            items: 1,
            bytes: size,
            details: Vec::new(),
            data: serde_json::json!({ "stream": self.stream, "bytes": size, "path": path }),
        })
    }

    fn verify(&self, cx: &RestoreCx<'_>) -> Result<Outcome> {
        let bytes = cx
            .repo
            .dump(&cx.id, &self.stream, &mut std::io::sink())?
            .bytes;
        let mut details = Vec::new();
        if let Some(v) = &self.verify_command {
            pipe_into(cx.repo, &cx.id, &self.stream, shell(v, None), v)?;
            details.push(format!("`{v}` accepted it"));
        }
        Ok(Outcome {
            summary: format!("{} ({bytes} bytes) read back and checked", self.stream),
            items: 1,
            bytes,
            details,
            data: serde_json::json!({ "stream": self.stream, "bytes": bytes }),
        })
    }
}

fn stream_size(cx: &RestoreCx<'_>, stream: &str) -> Result<u64> {
    Ok(cx.repo.find_path(&cx.id, stream)?.size())
}

/// Writes the stream to a temporary file beside `path`, syncs it, and
/// renames it into place: an interrupted restore leaves no half file.
fn write_file(
    cx: &RestoreCx<'_>,
    stream: &str,
    path: &std::path::Path,
    overwrite: bool,
) -> Result<()> {
    if path.exists() && !overwrite {
        return Err(Error::invalid(format!(
            "restore target {} exists; nothing was written (set `overwrite = true` in the \
             component's [restore] to replace it)",
            path.display()
        )));
    }
    let name = path
        .file_name()
        .ok_or_else(|| Error::invalid(format!("{} is not a file path", path.display())))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let tmp = path.with_file_name(format!(".{}.cairn-restore", name.to_string_lossy()));
    let mut f = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let r = cx
        .repo
        .dump(&cx.id, stream, &mut f)
        .and_then(|_| f.flush().map_err(|e| Error::io(&tmp, e)))
        .and_then(|_| f.sync_all().map_err(|e| Error::io(&tmp, e)))
        .and_then(|_| std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e)));
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}
