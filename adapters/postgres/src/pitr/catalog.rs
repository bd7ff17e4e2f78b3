//! What the archive holds: every archived WAL file and every base backup,
//! found from the repository's snapshots.
//!
//! Each archived WAL file is one snapshot (source [`WAL_SOURCE`]), so that
//! it is stored, sealed, indexed and pruned like everything else. Reading
//! every snapshot for every `wal push` would grow with the archive, so the
//! catalog keeps a local cache of what each snapshot id holds: one listing
//! of `snapshots/` and only the new snapshots are read. The cache is only
//! a shortcut: ids missing from the listing are dropped, and every answer
//! that matters (a segment already archived, the bytes a fetch returns) is
//! checked against the snapshot itself.

use super::name::{WalKind, WalName, DEFAULT_SEGMENT_SIZE};
use cairn::{Error, FileKind, Repository, Result, Snapshot, SnapshotId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Snapshot source of an archived WAL file.
pub const WAL_SOURCE: &str = "postgres-wal";
/// Snapshot source (component kind) of a base backup.
pub const BASE_SOURCE: &str = "postgres-base";
/// Stream name prefix of an archived WAL file.
pub const WAL_STREAM_PREFIX: &str = "postgres-wal/";

/// Info keys of a WAL snapshot.
pub mod wal_keys {
    /// The file name.
    pub const NAME: &str = "postgres-wal.name";
    /// BLAKE3 of its bytes, hex.
    pub const BLAKE3: &str = "postgres-wal.blake3";
    /// Its size.
    pub const SIZE: &str = "postgres-wal.size";
}

/// One archived WAL file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Archived {
    /// File name.
    pub name: String,
    /// Snapshot holding it (hex).
    pub snapshot: String,
    /// When it was archived, Unix nanoseconds.
    pub time_ns: i64,
    /// Size in bytes.
    pub size: u64,
    /// BLAKE3 of the bytes, hex.
    pub blake3: String,
}

impl Archived {
    /// The parsed name.
    pub fn wal_name(&self) -> Option<WalName> {
        WalName::parse(&self.name).ok()
    }

    /// The snapshot id.
    pub fn id(&self) -> Result<SnapshotId> {
        SnapshotId::from_hex(&self.snapshot)
    }

    fn from_snapshot(id: &SnapshotId, s: &Snapshot) -> Option<Archived> {
        if s.source != WAL_SOURCE {
            return None;
        }
        Some(Archived {
            name: s.info.get(wal_keys::NAME)?.clone(),
            snapshot: id.to_hex(),
            time_ns: s.time_ns,
            size: s.info.get(wal_keys::SIZE)?.parse().ok()?,
            blake3: s.info.get(wal_keys::BLAKE3)?.clone(),
        })
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
enum Cached {
    Other,
    Wal(Archived),
    Base(Box<Snapshot>),
}

/// The archive's contents.
#[derive(Debug, Default)]
pub struct Catalog {
    /// Archived WAL files, by name (then time).
    pub wal: Vec<Archived>,
    /// Base backups, oldest first.
    pub bases: Vec<(SnapshotId, Snapshot)>,
    /// Snapshots that could not be read (each error names its snapshot).
    pub damaged: Vec<String>,
}

/// The cache file for `repo` under `dir`.
fn cache_path(dir: &Path, repo: &Repository) -> PathBuf {
    dir.join("wal")
        .join(format!("{}.json", repo.config().id.to_hex()))
}

/// The default cache directory: `$CAIRN_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/cairn`, else `~/.cache/cairn`; `None` when
/// `CAIRN_NO_CACHE` is set or no home is known.
pub fn default_cache_dir() -> Option<PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if env("CAIRN_NO_CACHE").is_some() {
        return None;
    }
    env("CAIRN_CACHE_DIR")
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("cairn")))
        .or_else(|| env("HOME").map(|h| h.join(".cache/cairn")))
}

fn read_cache(path: Option<&Path>) -> BTreeMap<String, Cached> {
    path.and_then(|p| std::fs::read(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn write_cache(path: &Path, cache: &BTreeMap<String, Cached>) {
    let write = || -> std::io::Result<()> {
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, serde_json::to_vec(cache)?)?;
        std::fs::rename(&tmp, path)
    };
    if let Err(e) = write() {
        tracing::debug!("cannot write the WAL catalog cache {}: {e}", path.display());
    }
}

impl Catalog {
    /// Reads the archive's contents; `cache_dir` (see
    /// [`default_cache_dir`]) spares reading snapshots read before.
    pub fn load(repo: &Repository, cache_dir: Option<&Path>) -> Result<Catalog> {
        let path = cache_dir.map(|d| cache_path(d, repo));
        let mut cache = read_cache(path.as_deref());
        let listed = repo.backend().list(FileKind::Snapshot)?;
        let mut fresh = BTreeMap::new();
        let mut cat = Catalog::default();
        let mut changed = listed.len() != cache.len();
        for (name, _) in listed {
            let entry = match cache.remove(&name) {
                Some(e) => e,
                None => {
                    changed = true;
                    let id = SnapshotId::from_hex(&name)?;
                    match repo.load_snapshot(&id) {
                        Ok(s) if s.source == BASE_SOURCE => Cached::Base(Box::new(s)),
                        Ok(s) => {
                            Archived::from_snapshot(&id, &s).map_or(Cached::Other, Cached::Wal)
                        }
                        Err(e @ (Error::Corrupt { .. } | Error::UnsupportedVersion { .. })) => {
                            cat.damaged.push(e.to_string());
                            continue;
                        }
                        Err(e) if e.is_not_found() => continue,
                        Err(e) => return Err(e),
                    }
                }
            };
            match &entry {
                Cached::Wal(a) => cat.wal.push(a.clone()),
                Cached::Base(s) => cat
                    .bases
                    .push((SnapshotId::from_hex(&name)?, (**s).clone())),
                Cached::Other => {}
            }
            fresh.insert(name, entry);
        }
        if let (Some(p), true) = (&path, changed) {
            write_cache(p, &fresh);
        }
        cat.wal
            .sort_by(|a, b| a.name.cmp(&b.name).then(a.time_ns.cmp(&b.time_ns)));
        cat.bases
            .sort_by(|a, b| a.1.time_ns.cmp(&b.1.time_ns).then(a.0.cmp(&b.0)));
        Ok(cat)
    }

    /// The archived copies of `name`.
    pub fn find(&self, name: &str) -> Vec<&Archived> {
        let start = self.wal.partition_point(|a| a.name.as_str() < name);
        self.wal[start..]
            .iter()
            .take_while(|a| a.name == name)
            .collect()
    }

    /// The WAL segment size, from the archived full segments (default
    /// 16 MiB when none is archived yet).
    pub fn segment_size(&self) -> u64 {
        self.segments()
            .next()
            .map(|(_, a)| a.size)
            .filter(|s| s.is_power_of_two())
            .unwrap_or(DEFAULT_SEGMENT_SIZE)
    }

    /// Full segments, parsed, in name order.
    pub fn segments(&self) -> impl Iterator<Item = (WalName, &Archived)> {
        self.wal.iter().filter_map(|a| {
            let n = a.wal_name()?;
            (n.kind == WalKind::Segment).then_some((n, a))
        })
    }

    /// The archived full segments by position, each with the highest
    /// timeline it is archived under: built once, asked per segment.
    pub fn segment_index(&self) -> SegmentIndex {
        let size = self.segment_size();
        let mut top = std::collections::HashMap::new();
        for (n, _) in self.segments() {
            let t = top.entry(n.number(size)).or_insert(n.timeline);
            *t = (*t).max(n.timeline);
        }
        SegmentIndex { top }
    }

    /// The newest archived WAL file by archive time.
    pub fn newest(&self) -> Option<&Archived> {
        self.wal.iter().max_by_key(|a| a.time_ns)
    }
}

/// See [`Catalog::segment_index`].
#[derive(Clone, Debug, Default)]
pub struct SegmentIndex {
    top: std::collections::HashMap<u64, u32>,
}

impl SegmentIndex {
    /// Whether segment `number` is archived on `timeline` or a later one
    /// (a recovery follows the newer timeline: the segment a promotion
    /// switched timelines in is archived under the new one).
    pub fn has(&self, timeline: u32, number: u64) -> bool {
        self.top.get(&number).is_some_and(|t| *t >= timeline)
    }
}
