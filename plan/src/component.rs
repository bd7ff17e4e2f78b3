//! The component contract: what every source (files, a command, a
//! database, a bucket, ...) implements so that a plan can back it up,
//! restore it and verify it.

use cairn::{FinishInfo, ParentChoice, Repository, Result, Snapshot, SnapshotId, StreamSource};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// One source of a platform.
///
/// A component says what to read ([`Component::capture`]); the plan runner
/// writes the snapshot, so every component's snapshot carries the same plan
/// facts (plan, run, start and end, cold or hot) next to the component's
/// own, which live under its [`namespace`](Component::namespace).
pub trait Component: Send + Sync {
    /// The kind, as written in a plan file (`files`, `command`, `postgres`).
    fn kind(&self) -> &'static str;

    /// Prefix of the snapshot info keys this component writes
    /// (`postgres.` keys for `postgres`); the default is the kind.
    fn namespace(&self) -> &'static str {
        self.kind()
    }

    /// One line for run reports and runbooks ("databases app, keycloak on
    /// 127.0.0.1:5432").
    fn describe(&self) -> String;

    /// Why this component cannot run here (an adapter not built yet), or
    /// `None` when it can.
    fn unavailable(&self) -> Option<String> {
        None
    }

    /// Whether an existing snapshot is an earlier backup of this same
    /// source: outside a plan, the newest such snapshot is the parent.
    /// Inside a plan, the parent is the newest snapshot of the same plan
    /// component, and this is also asked.
    fn is_previous(&self, snapshot: &Snapshot) -> bool {
        snapshot.source == self.kind()
    }

    /// What to back up now: paths, streams, facts and the consistency
    /// marker at the start. Streams are read after this returns, in order.
    fn capture(&self, cx: &CaptureCx<'_>) -> Result<Capture>;

    /// Where [`Component::restore`] writes, in words, for runbooks.
    fn restore_target(&self) -> String;

    /// Restores a snapshot this component wrote into its restore target.
    fn restore(&self, cx: &RestoreCx<'_>) -> Result<Outcome>;

    /// Proves a snapshot restorable: every byte read back and checked, and
    /// what the source's own tools can say about it.
    fn verify(&self, cx: &RestoreCx<'_>) -> Result<Outcome>;

    /// A restore drill: restores the snapshot into a scratch target (under
    /// `scratch`, a directory removed afterwards, or the component's own
    /// scratch server or bucket), checks what arrived, and cleans up. The
    /// default is [`Component::verify`].
    fn drill(&self, cx: &RestoreCx<'_>, scratch: &std::path::Path) -> Result<Outcome> {
        let _ = scratch;
        self.verify(cx)
    }
}

/// A callback that receives one line per step of a long operation.
pub type LogFn = std::sync::Arc<dyn Fn(&str) + Send + Sync>;

/// What [`Component::capture`] is given.
pub struct CaptureCx<'a> {
    /// The repository written to.
    pub repo: &'a Repository,
    /// The newest earlier snapshot of this component, if any.
    pub previous: Option<&'a (SnapshotId, Snapshot)>,
    /// Set when the operator asked to stop (SIGINT, SIGTERM).
    pub cancel: Arc<AtomicBool>,
}

/// What to back up, as [`Component::capture`] found it.
#[derive(Default)]
#[non_exhaustive]
pub struct Capture {
    /// Files and directories.
    pub paths: Vec<PathBuf>,
    /// Exclusion patterns for `paths`.
    pub excludes: Vec<String>,
    /// Named streams, read in order.
    pub streams: Vec<StreamSource>,
    /// Facts under the component's namespace.
    pub info: BTreeMap<String, String>,
    /// Consistency marker at the start (a WAL position, a listing time).
    pub marker: BTreeMap<String, String>,
    /// More of the marker once everything was read (the walk's end, the
    /// WAL position after the dumps).
    pub marker_end: Option<FinishInfo>,
    /// What one consistent point this snapshot is, in one sentence.
    pub consistency: String,
    /// Parent for unchanged-file detection.
    pub parent: ParentChoice,
}

impl Capture {
    /// A capture of streams.
    pub fn streams(streams: Vec<StreamSource>) -> Capture {
        Capture {
            streams,
            parent: ParentChoice::None,
            ..Default::default()
        }
    }

    /// A capture of paths.
    pub fn paths(paths: Vec<PathBuf>, excludes: Vec<String>) -> Capture {
        Capture {
            paths,
            excludes,
            ..Default::default()
        }
    }

    /// Adds a fact under `namespace.key`.
    pub fn info(mut self, namespace: &str, key: &str, value: impl Into<String>) -> Capture {
        self.info.insert(format!("{namespace}.{key}"), value.into());
        self
    }

    /// Sets the consistency sentence.
    pub fn consistency(mut self, sentence: impl Into<String>) -> Capture {
        self.consistency = sentence.into();
        self
    }
}

/// What [`Component::restore`] and [`Component::verify`] are given.
pub struct RestoreCx<'a> {
    /// The repository read from.
    pub repo: &'a Repository,
    /// The snapshot.
    pub id: SnapshotId,
    /// Its contents.
    pub snapshot: &'a Snapshot,
    /// Where a long restore reports its steps (a collection restored, an
    /// object applied), one line each; `None`: nowhere.
    pub log: Option<LogFn>,
}

impl RestoreCx<'_> {
    /// Reports one step of a long restore.
    pub fn say(&self, line: &str) {
        if let Some(f) = &self.log {
            f(line);
        }
    }
}

/// What a restore or a verification did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// One line ("3 databases restored", "dump readable, 412 entries").
    pub summary: String,
    /// Items written or checked (files, objects, databases, streams).
    pub items: u64,
    /// Bytes written or read back.
    pub bytes: u64,
    /// Further findings, one line each (row counts, table-of-contents sizes).
    pub details: Vec<String>,
    /// The same findings for machines (merged into `--json` output).
    pub data: serde_json::Value,
}

/// Reads every file and stream of a snapshot back (each chunk decrypted
/// and its hash checked) and returns (items, bytes).
pub fn read_back(repo: &Repository, snapshot: &Snapshot) -> Result<(u64, u64)> {
    let (mut items, mut bytes) = (0u64, 0u64);
    let mut nodes = Vec::new();
    repo.walk_tree(&snapshot.tree, "", &mut |_, node| {
        if node.content().is_some() {
            nodes.push(node.clone());
        }
        Ok(())
    })?;
    for node in nodes {
        bytes += repo.dump_node(&node, &mut std::io::sink())?;
        items += 1;
    }
    Ok((items, bytes))
}
