//! "New files are included" (seed 002): the live tree against a snapshot.
//! Every file that was last changed before the snapshot's backup started
//! must be in it; files changed since are counted, as expected.

use cairn::{Error, Excludes, Repository, Result, Snapshot, SnapshotId};
use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// What the comparison found.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct FreshReport {
    /// The snapshot compared with.
    pub snapshot: Option<SnapshotId>,
    /// When its backup started (Unix ns).
    pub started_ns: i64,
    /// Live files changed before that, each looked up in the snapshot.
    pub checked: u64,
    /// Those of them the snapshot lacks.
    pub missing: Vec<String>,
    /// Live files changed after the backup started (expected to be absent).
    pub newer: u64,
    /// Entries left out by the excludes.
    pub excluded: u64,
    /// Directories that could not be read.
    pub unreadable: Vec<String>,
    /// Paths to compare that do not exist on this machine (a DR host):
    /// nothing under them was checked.
    pub absent: Vec<String>,
}

impl FreshReport {
    /// Nothing missing and everything readable.
    pub fn ok(&self) -> bool {
        self.missing.is_empty() && self.unreadable.is_empty()
    }
}

/// When a snapshot's backup started: `plan.started`, else its time minus
/// its duration (a plain backup records its end).
pub fn backup_start_ns(s: &Snapshot) -> i64 {
    if s.info.contains_key(crate::backup::keys::STARTED) {
        return crate::backup::started_ns(s);
    }
    s.time_ns - (s.summary.duration_ms as i64) * 1_000_000
}

/// Every file and symlink path of a snapshot.
fn stored_paths(repo: &Repository, snap: &Snapshot) -> Result<HashSet<String>> {
    let mut out = HashSet::new();
    repo.walk_tree(&snap.tree, "", &mut |path, node| {
        if !matches!(node.kind, cairn::NodeKind::Dir { .. }) {
            out.insert(path.to_string());
        }
        Ok(())
    })?;
    Ok(out)
}

/// Compares the live trees under `paths` with snapshot `id`. A file counts
/// as changed at the later of its mtime and ctime: a file moved into the
/// tree after the backup keeps an old mtime but has a new ctime.
pub fn check_fresh(
    repo: &Repository,
    id: &SnapshotId,
    snap: &Snapshot,
    paths: &[PathBuf],
    excludes: &[String],
) -> Result<FreshReport> {
    let excludes = Excludes::new(excludes)?;
    let stored = stored_paths(repo, snap)?;
    let mut r = FreshReport {
        snapshot: Some(*id),
        started_ns: backup_start_ns(snap),
        ..Default::default()
    };
    let mut stack: Vec<PathBuf> = Vec::new();
    for p in paths {
        let p: PathBuf = p.components().collect();
        let p = &p;
        if !p.is_absolute() {
            return Err(Error::invalid(format!("{} is not absolute", p.display())));
        }
        if std::fs::symlink_metadata(p).is_err() {
            r.absent.push(p.display().to_string());
            continue;
        }
        stack.push(p.clone());
    }
    while let Some(p) = stack.pop() {
        // Gone since it was listed: nothing to compare.
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if excludes.is_excluded(&p, meta.is_dir()) {
            r.excluded += 1;
            continue;
        }
        if meta.is_dir() {
            match std::fs::read_dir(&p) {
                Ok(entries) => stack.extend(entries.filter_map(|e| e.ok().map(|e| e.path()))),
                Err(e) => r.unreadable.push(format!("{}: {e}", p.display())),
            }
            continue;
        }
        if !(meta.is_file() || meta.file_type().is_symlink()) {
            continue;
        }
        let changed = changed_ns(&meta);
        if changed >= r.started_ns {
            r.newer += 1;
            continue;
        }
        r.checked += 1;
        let key = p.to_string_lossy().into_owned();
        if !stored.contains(&key) {
            r.missing.push(key);
        }
    }
    r.missing.sort();
    Ok(r)
}

fn changed_ns(m: &std::fs::Metadata) -> i64 {
    let mtime = m.mtime() * 1_000_000_000 + m.mtime_nsec();
    let ctime = m.ctime() * 1_000_000_000 + m.ctime_nsec();
    mtime.max(ctime)
}

/// The newest snapshot whose backed-up paths include `path` or a
/// directory above it.
pub fn newest_covering(repo: &Repository, path: &Path) -> Result<(SnapshotId, Snapshot)> {
    let (snaps, _) = repo.readable_snapshots()?;
    snaps
        .into_iter()
        .rev()
        .find(|(_, s)| s.paths.iter().any(|p| path.starts_with(p)))
        .ok_or_else(|| Error::NotFound {
            kind: "snapshot".into(),
            name: format!("covering {}", path.display()),
        })
}
