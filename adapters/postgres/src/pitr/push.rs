//! `wal push`: one WAL file into the repository, for `archive_command`.

use super::catalog::{wal_keys, Catalog, WAL_SOURCE, WAL_STREAM_PREFIX};
use super::name::WalName;
use cairn::{BackupOptions, Error, ParentChoice, Repository, Result, SnapshotId, StreamSource};
use std::path::Path;

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pushed {
    /// Stored in a new snapshot, with the bytes it added.
    Stored(SnapshotId, u64),
    /// The same bytes were archived before (PostgreSQL retries a push whose
    /// success it did not see); nothing was written.
    AlreadyArchived(SnapshotId),
}

/// Options of [`push`].
#[derive(Clone, Debug, Default)]
pub struct PushOptions {
    /// Host name to record.
    pub host: Option<String>,
    /// Catalog cache directory (see [`super::default_cache_dir`]).
    pub cache_dir: Option<std::path::PathBuf>,
}

/// The BLAKE3 of some bytes, hex.
pub(crate) fn hash_hex(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// Stores the WAL file at `path`. Success means its snapshot is written
/// (the engine syncs packs, index and snapshot before returning): only then
/// may PostgreSQL recycle the segment. Pushing the same bytes again is a
/// no-op; other bytes under an archived name are refused.
pub fn push(repo: &Repository, path: &Path, o: &PushOptions) -> Result<Pushed> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Error::invalid(format!("{} has no file name", path.display())))?;
    let wal = WalName::parse(name)?;
    let bytes = std::fs::read(path).map_err(|e| Error::io(path.display().to_string(), e))?;
    let hash = hash_hex(&bytes);
    let catalog = Catalog::load(repo, o.cache_dir.as_deref())?;
    if let Some(id) = already_archived(repo, &catalog, &wal.name, &hash, bytes.len() as u64)? {
        return Ok(Pushed::AlreadyArchived(id));
    }
    let size = bytes.len() as u64;
    let mut info = std::collections::BTreeMap::new();
    info.insert(wal_keys::NAME.to_string(), wal.name.clone());
    info.insert(wal_keys::BLAKE3.to_string(), hash);
    info.insert(wal_keys::SIZE.to_string(), size.to_string());
    info.insert(
        "postgres-wal.timeline".to_string(),
        wal.timeline.to_string(),
    );
    let stream = StreamSource::from_reader(
        format!("{WAL_STREAM_PREFIX}{}", wal.name),
        std::io::Cursor::new(bytes),
    )
    .with_profile(cairn::PROFILE_DATABASE);
    let report = repo.backup(
        BackupOptions::default()
            .streams(vec![stream])
            .source(Some(WAL_SOURCE.to_string()))
            .tags(vec![WAL_SOURCE.to_string()])
            .host(o.host.clone())
            .parent(ParentChoice::None)
            .info(info),
    )?;
    Ok(Pushed::Stored(
        report.id,
        report.snapshot.summary.bytes_added,
    ))
}

/// The snapshot already holding these bytes under `name`; an error when
/// `name` is archived with other bytes. Each copy the catalog names is
/// read from its snapshot: the cache only says where to look.
fn already_archived(
    repo: &Repository,
    catalog: &Catalog,
    name: &str,
    hash: &str,
    size: u64,
) -> Result<Option<SnapshotId>> {
    let mut conflict = None;
    for a in catalog.find(name) {
        let id = a.id()?;
        let s = repo.load_snapshot(&id)?;
        if s.info.get(wal_keys::NAME).map(String::as_str) != Some(name) {
            continue;
        }
        let stored = s.info.get(wal_keys::BLAKE3).cloned().unwrap_or_default();
        if stored == hash {
            return Ok(Some(id));
        }
        conflict = Some((
            id,
            stored,
            s.info.get(wal_keys::SIZE).cloned().unwrap_or_default(),
        ));
    }
    match conflict {
        None => Ok(None),
        Some((id, stored, stored_size)) => Err(Error::invalid(format!(
            "refusing to archive {name}: the repository already holds a different {name} \
             (snapshot {}, {stored_size} bytes, blake3 {stored}; this one is {size} bytes, blake3 \
             {hash}). Two clusters may be archiving into one repository, or a restored cluster is \
             archiving over its origin's timeline: give each cluster its own repository. \
             Nothing was written.",
            id.short()
        ))),
    }
}
