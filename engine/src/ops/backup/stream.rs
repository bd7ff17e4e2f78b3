//! Named streams: stdin, a command's stdout, or any reader.

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

type Finish = Box<dyn FnOnce() -> Result<BTreeMap<String, String>> + Send>;
type Opener = Box<dyn FnOnce() -> Result<Box<dyn Read + Send>> + Send>;

/// Where [`StreamSource::from_process_logged`] leaves a child's stderr.
pub type StderrLog = Arc<std::sync::Mutex<Vec<u8>>>;

/// A stream to back up under a name.
pub struct StreamSource {
    /// Name in the snapshot; `/` separates directories (`postgres/app.dump`).
    pub name: String,
    /// The bytes.
    pub reader: Box<dyn Read + Send>,
    /// Chunking profile (`None` = the files profile).
    pub profile: Option<String>,
    /// Facts to record on the node.
    pub info: BTreeMap<String, String>,
    /// Called after the reader hit EOF; an error fails the backup and no
    /// snapshot is written. Returns more facts for the node.
    pub finish: Option<Finish>,
    /// Opens the reader when the stream's turn comes (then `reader` is
    /// unused): thousands of sources need not be open at once.
    pub opener: Option<Opener>,
    /// Content of an earlier backup of the same, unchanged source (size
    /// and chunks). Used without reading when every chunk is still live;
    /// otherwise the source is read.
    pub reuse: Option<(u64, crate::tree::Content)>,
}

impl std::fmt::Debug for StreamSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StreamSource({})", self.name)
    }
}

impl StreamSource {
    /// A stream from any reader.
    pub fn from_reader(name: impl Into<String>, reader: impl Read + Send + 'static) -> Self {
        StreamSource {
            name: name.into(),
            reader: Box::new(reader),
            profile: None,
            info: BTreeMap::new(),
            finish: None,
            opener: None,
            reuse: None,
        }
    }

    /// A stream whose reader is opened only when it is backed up.
    pub fn lazy(
        name: impl Into<String>,
        open: impl FnOnce() -> Result<Box<dyn Read + Send>> + Send + 'static,
    ) -> Self {
        let mut s = StreamSource::from_reader(name, std::io::empty());
        s.opener = Some(Box::new(open));
        s
    }

    /// Uses a chunking profile from the repository config.
    pub fn with_profile(mut self, profile: impl Into<String>) -> Self {
        self.profile = Some(profile.into());
        self
    }

    /// Streams a command's stdout (no shell). A non-zero exit fails the
    /// backup with the command's stderr in the error.
    pub fn from_command(name: impl Into<String>, argv: &[String]) -> Result<Self> {
        let (prog, args) = argv
            .split_first()
            .ok_or_else(|| Error::invalid("empty command"))?;
        let mut cmd = Command::new(prog);
        cmd.args(args);
        Self::from_process(name, cmd)
    }

    /// Streams the stdout of a prepared command (its arguments and
    /// environment already set). Stdin is closed and stderr captured; a
    /// non-zero exit, or death by a signal, fails the backup with the last
    /// 64 KiB of stderr in the error.
    pub fn from_process(name: impl Into<String>, cmd: Command) -> Result<Self> {
        Self::spawn(name.into(), cmd, None).map(|(s, _)| s)
    }

    /// A process stream and the child's pid. With `log`, the child's
    /// stderr (its last 64 KiB) is also kept there when it succeeds.
    fn spawn(name: String, mut cmd: Command, log: Option<StderrLog>) -> Result<(Self, u32)> {
        let prog = cmd.get_program().to_string_lossy().into_owned();
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::Source {
                name: name.clone(),
                detail: format!("cannot start {prog}: {e}"),
            })?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| Error::invalid("no stdout"))?;
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| Error::invalid("no stderr"))?;
        let err_reader = std::thread::spawn(move || read_tail(stderr, 64 * 1024));
        let mut src = StreamSource::from_reader(name.clone(), stdout);
        let pid = child.id();
        src.info.insert("command".into(), prog);
        src.finish = Some(Box::new(move || wait_child(child, err_reader, &name, log)));
        Ok((src, pid))
    }

    /// [`from_process`](Self::from_process) for a command that can be
    /// stopped: it runs in its own process group (a terminal's Ctrl-C
    /// reaches cairn, not it), and when `cancel` is set the whole group is
    /// killed, so that a stop request never waits on a command that prints
    /// nothing for hours. The backup then fails with
    /// [`Error::Interrupted`].
    pub fn from_process_cancellable(
        name: impl Into<String>,
        cmd: Command,
        cancel: Arc<AtomicBool>,
    ) -> Result<Self> {
        Self::from_process_logged(name, cmd, cancel, None)
    }

    /// [`from_process_cancellable`](Self::from_process_cancellable) that
    /// also hands the child's stderr (its last 64 KiB) to `log` once the
    /// child exited successfully: for tools that report what they did on
    /// stderr (`pg_basebackup -v` prints its WAL start and end positions).
    pub fn from_process_logged(
        name: impl Into<String>,
        mut cmd: Command,
        cancel: Arc<AtomicBool>,
        log: Option<StderrLog>,
    ) -> Result<Self> {
        cmd.process_group(0);
        let (mut src, pid) = Self::spawn(name.into(), cmd, log)?;
        let Some(finish) = src.finish.take() else {
            return Err(Error::internal("process stream without a child"));
        };
        // The watcher ends when the finish closure is used or dropped.
        let alive = Arc::new(());
        let token = Arc::downgrade(&alive);
        let flag = cancel.clone();
        std::thread::spawn(move || {
            while token.upgrade().is_some() {
                if flag.load(Ordering::SeqCst) {
                    let _ = Command::new("kill")
                        .args(["-KILL", "--", &format!("-{pid}")])
                        .stderr(Stdio::null())
                        .status();
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        });
        let name = src.name.clone();
        src.finish = Some(Box::new(move || {
            let _alive = alive;
            match finish() {
                Err(e) if cancel.load(Ordering::SeqCst) => Err(Error::Interrupted(format!(
                    "{name}: the command was stopped ({e})"
                ))),
                other => other,
            }
        }));
        Ok(src)
    }
}

/// Keeps the last `limit` bytes of a reader.
fn read_tail(mut r: impl Read, limit: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    while let Ok(n) = r.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        if out.len() > limit {
            out.drain(..out.len() - limit);
        }
    }
    out
}

fn wait_child(
    mut child: Child,
    err: JoinHandle<Vec<u8>>,
    name: &str,
    log: Option<StderrLog>,
) -> Result<BTreeMap<String, String>> {
    let status = child.wait().map_err(|e| Error::Source {
        name: name.into(),
        detail: e.to_string(),
    })?;
    let stderr = err.join().unwrap_or_default();
    if !status.success() {
        return Err(Error::Source {
            name: name.into(),
            detail: format!(
                "command {status}: {}",
                String::from_utf8_lossy(&stderr).trim()
            ),
        });
    }
    if let Some(log) = log {
        *log.lock().unwrap_or_else(|p| p.into_inner()) = stderr;
    }
    Ok(BTreeMap::new())
}
