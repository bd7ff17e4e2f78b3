//! The backup operation.

pub(crate) mod content;
mod files;
mod meta;
mod root;
mod stream;

pub use stream::{StderrLog, StreamSource};

use crate::chunker::Chunker;
use crate::config::PROFILE_FILES;
use crate::error::{Error, Result};
use crate::exclude::Excludes;
use crate::id::SnapshotId;
use crate::repo::Repository;
use crate::snapshot::{Snapshot, Summary};
use crate::tree::{Meta, Node, NodeKind, Tree};
use crate::writer::Writer;
use root::VDir;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// Which snapshot to compare files against.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ParentChoice {
    /// The newest snapshot with the same host and paths (restic's rule).
    #[default]
    Auto,
    /// Read every file.
    None,
    /// This snapshot.
    Id(SnapshotId),
}

/// What to back up and how.
#[derive(Default)]
#[non_exhaustive]
pub struct BackupOptions {
    /// Files and directories.
    pub paths: Vec<PathBuf>,
    /// Named streams.
    pub streams: Vec<StreamSource>,
    /// Exclusion patterns (see [`crate::Excludes`]).
    pub excludes: Vec<String>,
    /// Exclusion rules decided with each entry's metadata.
    pub exclude_rules: crate::ExcludeRules,
    /// Tags to record.
    pub tags: Vec<String>,
    /// Host name to record (default: this machine's).
    pub host: Option<String>,
    /// Snapshot time, Unix nanoseconds (default: now).
    pub time_ns: Option<i64>,
    /// Parent for change detection.
    pub parent: ParentChoice,
    /// Source description (default: "files", "stream" or "mixed").
    pub source: Option<String>,
    /// Facts to record in the snapshot.
    pub info: BTreeMap<String, String>,
    /// Worker threads (0 = one per CPU).
    pub threads: usize,
    /// Live counters for a progress display.
    pub progress: Option<Arc<crate::Progress>>,
    /// Heartbeat of the session marker that keeps prune from deleting what
    /// this backup relies on.
    pub session: crate::gc::SessionOptions,
    /// Set it (from a signal handler) to stop the backup: what was read so
    /// far is stored and indexed, no snapshot is written, and the backup
    /// fails with [`Error::Interrupted`].
    pub cancel: Option<Arc<std::sync::atomic::AtomicBool>>,
    /// Called once everything was read, before the snapshot is written;
    /// its entries join `info` (a component's end-of-backup consistency
    /// marker: the walk's end time, a WAL position). Its error fails the
    /// backup and no snapshot is written.
    pub finish_info: Option<FinishInfo>,
}

/// See [`BackupOptions::finish_info`].
pub type FinishInfo = Box<dyn FnOnce() -> Result<BTreeMap<String, String>> + Send>;

crate::ops::setters!(BackupOptions {
    paths: Vec<PathBuf>,
    streams: Vec<StreamSource>,
    excludes: Vec<String>,
    exclude_rules: crate::ExcludeRules,
    tags: Vec<String>,
    host: Option<String>,
    time_ns: Option<i64>,
    parent: ParentChoice,
    source: Option<String>,
    info: BTreeMap<String, String>,
    threads: usize,
    progress: Option<Arc<crate::Progress>>,
    session: crate::gc::SessionOptions,
    cancel: Option<Arc<std::sync::atomic::AtomicBool>>,
    finish_info: Option<FinishInfo>,
});

/// What a backup produced.
#[derive(Debug)]
#[non_exhaustive]
pub struct BackupReport {
    /// Id of the new snapshot.
    pub id: SnapshotId,
    /// The snapshot as stored.
    pub snapshot: Snapshot,
    /// Entries that could not be read and were left out, or were stored
    /// without some of their metadata.
    pub warnings: Vec<String>,
    /// Files that changed while they were read: stored as read, flagged in
    /// their node ([`crate::tree::FLAG_CHANGED`]), and counted in the
    /// snapshot's `info` under [`INFO_CHANGED`].
    pub changed: Vec<String>,
    /// New, changed and unmodified files and directories, against the
    /// parent snapshot (not stored; the snapshot's summary has totals).
    pub changes: Changes,
}

/// How the backed-up files and directories compare with the parent
/// snapshot: not there (new), there but read again (changed), or reused
/// as they were (unmodified). A directory is unmodified when its tree is
/// the parent's. Streams and special files are not counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Changes {
    /// Files the parent snapshot does not have.
    pub files_new: u64,
    /// Files the parent has, read again (their size, times or inode differ).
    pub files_changed: u64,
    /// Files reused from the parent without reading them.
    pub files_unmodified: u64,
    /// Directories the parent does not have.
    pub dirs_new: u64,
    /// Directories whose tree differs from the parent's.
    pub dirs_changed: u64,
    /// Directories with the parent's tree.
    pub dirs_unmodified: u64,
}

/// Snapshot `info` key: how many files changed while they were read.
pub const INFO_CHANGED: &str = "files_changed_during_read";

impl BackupReport {
    /// True when everything was read as it was: no warnings, no file
    /// changed while read. The CLI's exit code 3 is the opposite.
    pub fn complete(&self) -> bool {
        self.warnings.is_empty() && self.changed.is_empty()
    }
}

fn default_threads(n: usize) -> usize {
    if n > 0 {
        return n;
    }
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

impl Repository {
    /// Backs up paths and streams into a new snapshot.
    ///
    /// Packs are stored first, then index files, then the snapshot: a crash
    /// at any point leaves no snapshot that references missing data. A
    /// source command that fails, or any storage error, fails the whole
    /// backup and no snapshot is written. Files that cannot be read are
    /// skipped and reported in [`BackupReport::warnings`].
    ///
    /// ```
    /// # fn main() -> cairn::Result<()> {
    /// # use std::sync::Arc;
    /// # let opts = cairn::InitOptions::default().argon2(cairn::Argon2Params::insecure_for_tests());
    /// # let secret = cairn::Secret::passphrase("example");
    /// # let repo = cairn::Repository::init(Arc::new(cairn::ObjectBackend::memory()?), &secret, opts.clone())?;
    /// # let stream = cairn::StreamSource::from_reader("db/dump.sql", &b"CREATE TABLE t();"[..]);
    /// # let first = repo.backup(cairn::BackupOptions::default().streams(vec![stream]))?;
    /// let dir = std::env::temp_dir().join(format!("cairn-backup-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// std::fs::write(dir.join("notes.txt"), b"hello")?;
    /// let report = repo.backup(
    ///     cairn::BackupOptions::default()
    ///         .paths(vec![dir.clone()])
    ///         .tags(vec!["nightly".into()]),
    /// )?;
    /// assert!(report.complete());
    /// assert_eq!(report.snapshot.tags, vec!["nightly".to_string()]);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn backup(&self, mut opts: BackupOptions) -> Result<BackupReport> {
        let started = Instant::now();
        if opts.paths.is_empty() && opts.streams.is_empty() {
            return Err(Error::invalid(
                "nothing to back up: give at least one path or stream",
            ));
        }
        let paths = prepare_paths(&opts.paths)?;
        // The marker goes first, then the plans are read: a prune that
        // plans after this point is seen; one that planned before waits
        // for this marker to go (see crate::gc).
        let session = crate::gc::SessionGuard::start_with(self, opts.session)?;
        self.prepare_to_write()?;
        let host = opts.host.clone().unwrap_or_else(crate::snapshot::hostname);
        let path_names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        let parent = self.pick_parent(&opts.parent, &host, &path_names)?;
        let parent_root = match &parent {
            Some((_, s)) => Some(self.load_tree(&s.tree)?),
            None => None,
        };
        let excludes =
            Excludes::new(&opts.excludes)?.with_rules(&opts.exclude_rules, &opts.paths)?;
        let threads = default_threads(opts.threads);
        let progress = opts.progress.clone();
        let writer =
            Writer::start(self, threads, progress.clone()).with_cancel(opts.cancel.clone());
        let streams = std::mem::take(&mut opts.streams);
        let walked = self.write_root(
            &writer,
            &paths,
            streams,
            &excludes,
            parent_root.as_ref(),
            threads,
            progress.as_deref(),
        );
        let stats = writer.finish();
        // When both failed, the writer's error is the cause: the walk's is
        // only that its sends to the writer stopped.
        let stats = match (&walked, stats) {
            (Err(_), Err(e)) => return Err(e),
            (_, s) => s,
        };
        let (tree, mut summary, warnings, changed, stream_names, changes) = match walked {
            Err(Error::Interrupted(why)) => {
                let w = stats?;
                let (blobs, bytes) = (w.blobs, w.bytes);
                return Err(Error::Interrupted(format!(
                    "{why}; {blobs} new blobs ({bytes} bytes) were stored and indexed, so the \
                     next backup reuses them; no snapshot was written"
                )));
            }
            other => other?,
        };
        let written = stats?;
        summary.blobs_added = written.blobs;
        summary.bytes_added = written.bytes;
        summary.raw_bytes_added = written.raw_bytes;
        summary.duration_ms = started.elapsed().as_millis() as u64;
        let mut info = opts.info.clone();
        if let Some(finish) = opts.finish_info.take() {
            info.extend(finish()?);
        }
        if !changed.is_empty() {
            info.insert(INFO_CHANGED.into(), changed.len().to_string());
        }
        let mut all_paths = path_names;
        all_paths.extend(stream_names);
        let source =
            opts.source
                .clone()
                .unwrap_or_else(|| match (paths.is_empty(), summary.streams > 0) {
                    (false, false) => "files".into(),
                    (true, _) => "stream".into(),
                    (false, true) => "mixed".into(),
                });
        let snapshot = Snapshot {
            time_ns: opts.time_ns.unwrap_or_else(crate::snapshot::now_ns),
            host,
            username: crate::snapshot::username(),
            tags: opts.tags.clone(),
            paths: all_paths,
            source,
            parent: parent.map(|(id, _)| id),
            tree,
            summary,
            program: format!("cairn {}", env!("CARGO_PKG_VERSION")),
            info,
        };
        session.confirm_alive()?;
        let id = self.save_snapshot(&snapshot)?;
        drop(session);
        Ok(BackupReport {
            id,
            snapshot,
            warnings,
            changed,
            changes,
        })
    }

    fn pick_parent(
        &self,
        choice: &ParentChoice,
        host: &str,
        paths: &[String],
    ) -> Result<Option<(SnapshotId, Snapshot)>> {
        match choice {
            ParentChoice::None => Ok(None),
            ParentChoice::Id(id) => Ok(Some((*id, self.load_snapshot(id)?))),
            ParentChoice::Auto if paths.is_empty() => Ok(None),
            ParentChoice::Auto => {
                // A damaged snapshot never blocks a backup: the newest
                // readable match is the parent.
                let (snaps, damaged) = self.readable_snapshots()?;
                for e in damaged {
                    tracing::warn!("{e}; not considered as parent (`forget` it by id)");
                }
                Ok(snaps
                    .into_iter()
                    .rev()
                    .find(|(_, s)| s.host == host && same_paths(&s.paths, paths)))
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn write_root(
        &self,
        writer: &Writer,
        paths: &[PathBuf],
        streams: Vec<StreamSource>,
        excludes: &Excludes,
        parent_root: Option<&Tree>,
        threads: usize,
        progress: Option<&crate::Progress>,
    ) -> Result<Written> {
        let mut root = VDir::default();
        let files_chunker = Chunker::new(
            self.config().profile(PROFILE_FILES)?,
            self.keys().chunker_seed(),
        )?;
        let (jobs_tx, jobs_rx) = crossbeam_channel::bounded(threads * 4);
        let (walked, summary, warnings, changed, changes) = std::thread::scope(|scope| {
            for _ in 0..threads {
                let (rx, ch) = (jobs_rx.clone(), &files_chunker);
                scope.spawn(move || files::file_worker(writer, ch, &rx, progress));
            }
            drop(jobs_rx);
            let walker = files::Walker::new(writer, excludes, jobs_tx, progress);
            let r = paths
                .iter()
                .try_for_each(|p| root::add_path(&mut root, &walker, p, parent_root));
            // Dropping the walker closes the job channel so the workers exit.
            let files::Walker {
                summary,
                warnings,
                changed,
                changes,
                ..
            } = walker;
            (r, summary, warnings, changed, changes)
        });
        walked?;
        let mut summary = summary.into_inner().unwrap_or_else(|p| p.into_inner());
        let mut names = Vec::new();
        for s in streams {
            let (node, comps) = self.save_stream(writer, s, progress)?;
            summary.streams += 1;
            let unchanged = matches!(&node.kind, NodeKind::Stream { info, .. } if info.contains_key("unchanged"));
            if unchanged {
                summary.unchanged_files += 1;
            } else {
                summary.bytes_read += node.size();
            }
            summary.total_bytes += node.size();
            names.push(String::from_utf8_lossy(&comps.join(&b'/')).into_owned());
            root::add_stream(&mut root, &comps, node)?;
        }
        let tree = root.save(writer)?;
        Ok((
            tree,
            summary,
            warnings.into_inner().unwrap_or_else(|p| p.into_inner()),
            changed.into_inner().unwrap_or_else(|p| p.into_inner()),
            names,
            changes.into_inner().unwrap_or_else(|p| p.into_inner()),
        ))
    }

    fn save_stream(
        &self,
        writer: &Writer,
        s: StreamSource,
        progress: Option<&crate::Progress>,
    ) -> Result<(Node, Vec<Vec<u8>>)> {
        let comps = root::stream_components(&s.name)?;
        let profile = s.profile.as_deref().unwrap_or(PROFILE_FILES);
        let chunker = Chunker::new(self.config().profile(profile)?, self.keys().chunker_seed())?;
        let live = |c: &crate::tree::Content| {
            let ids = self.chunk_list(c).ok()?;
            let index = self.index();
            ids.iter().all(|id| index.contains(id)).then_some(())
        };
        let mut info = s.info;
        if let Some((size, content)) = s.reuse.filter(|(_, c)| live(c).is_some()) {
            if let Some(p) = progress {
                crate::Progress::add(&p.files, 1);
                crate::Progress::add(&p.bytes, size);
                p.notify();
            }
            info.insert("profile".into(), profile.to_string());
            info.insert("unchanged".into(), "true".into());
            return Ok(stream_node(comps, size, content, info));
        }
        let reader: Box<dyn std::io::Read + Send> = match s.opener {
            Some(open) => open()?,
            None => s.reader,
        };
        let (ids, size) = content::save_reader(writer, &chunker, reader, &s.name, progress)?;
        if let Some(finish) = s.finish {
            info.extend(finish()?);
        }
        info.insert("profile".into(), profile.to_string());
        let content = crate::writer::make_content(writer, ids)?;
        if let Some(p) = progress {
            crate::Progress::add(&p.files, 1);
            p.notify();
        }
        Ok(stream_node(comps, size, content, info))
    }
}

/// A stream node named by the last of `comps` (mode 0600, mtime now).
fn stream_node(
    comps: Vec<Vec<u8>>,
    size: u64,
    content: crate::tree::Content,
    info: BTreeMap<String, String>,
) -> (Node, Vec<Vec<u8>>) {
    let now = crate::snapshot::now_ns();
    let meta = Meta {
        mode: 0o100600,
        mtime_ns: now,
        atime_ns: now,
        ..Meta::default()
    };
    let name = comps.last().cloned().unwrap_or_default();
    let kind = NodeKind::Stream {
        size,
        content,
        info,
    };
    (Node { name, kind, meta }, comps)
}

/// True when a snapshot covered exactly these source paths (restic's rule
/// for picking a parent). Stream names recorded in `paths` are ignored.
fn same_paths(recorded: &[String], paths: &[String]) -> bool {
    let mut a: Vec<&String> = recorded.iter().filter(|p| p.starts_with('/')).collect();
    let mut b: Vec<&String> = paths.iter().collect();
    a.sort();
    b.sort();
    a == b
}

/// Root tree, counters, warnings, changed files, stream names and change
/// counts produced by writing the root.
type Written = (
    crate::id::BlobId,
    Summary,
    Vec<String>,
    Vec<String>,
    Vec<String>,
    Changes,
);

/// Normalises source paths, checks they exist, and drops paths nested
/// inside another source path.
fn prepare_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = Vec::new();
    for p in paths {
        let n = root::normalize(p)?;
        std::fs::symlink_metadata(&n).map_err(|e| Error::io(&n, e))?;
        out.push(n);
    }
    out.sort();
    out.dedup();
    let all = out.clone();
    out.retain(|p| !all.iter().any(|q| q != p && p.starts_with(q)));
    Ok(out)
}

/// A repository in memory with fast key derivation, for unit tests.
#[cfg(test)]
pub(crate) fn test_repo() -> Repository {
    use crate::backend::{Backend, ObjectBackend};
    let b: Arc<dyn Backend> = Arc::new(ObjectBackend::memory().expect("memory backend"));
    let opts = crate::InitOptions {
        argon2: crate::Argon2Params::insecure_for_tests(),
        ..Default::default()
    };
    Repository::init(b, &crate::Secret::passphrase("pw"), opts).expect("init")
}
