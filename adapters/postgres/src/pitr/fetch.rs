//! `wal fetch`: one archived WAL file back, for `restore_command`.

use super::catalog::{wal_keys, Archived, Catalog, WAL_STREAM_PREFIX};
use super::name::WalName;
use cairn::{Error, Repository, Result};
use std::io::Write;
use std::path::Path;

/// Why a fetch found nothing: PostgreSQL asks for files that do not exist
/// (the next timeline's history, the segment after the last one), so this
/// is an answer, not a failure, and the command exits 1 quietly for it.
pub fn is_not_archived(e: &Error) -> bool {
    matches!(e, Error::NotFound { kind, .. } if kind == "WAL file")
}

/// The one archived copy of `name`; several different copies are an error
/// (a fetch must never guess).
pub fn pick<'a>(catalog: &'a Catalog, name: &str) -> Result<&'a Archived> {
    let copies = catalog.find(name);
    let first = copies.first().ok_or_else(|| Error::NotFound {
        kind: "WAL file".into(),
        name: name.to_string(),
    })?;
    if copies.iter().any(|a| a.blake3 != first.blake3) {
        return Err(Error::corrupt(
            name,
            format!(
                "the archive holds {} different copies of {name} (snapshots {}); refusing to \
                 choose. Forget the wrong one after finding which cluster wrote it.",
                copies.len(),
                copies
                    .iter()
                    .map(|a| &a.snapshot[..12.min(a.snapshot.len())])
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    Ok(first)
}

/// Writes archived `name` to `dest` (through a temporary file in the same
/// directory, synced, then renamed: PostgreSQL never sees half a file).
/// The bytes are checked against the hash recorded at push.
pub fn fetch(repo: &Repository, name: &str, dest: &Path, cache_dir: Option<&Path>) -> Result<u64> {
    let wal = WalName::parse(name)?;
    let catalog = Catalog::load(repo, cache_dir)?;
    let a = pick(&catalog, &wal.name)?;
    let id = a.id()?;
    let snap = repo.load_snapshot(&id)?;
    let recorded = snap.info.get(wal_keys::BLAKE3).cloned().unwrap_or_default();
    if snap.info.get(wal_keys::NAME).map(String::as_str) != Some(name) {
        return Err(Error::corrupt(
            id.to_hex(),
            format!("snapshot does not hold WAL file {name} (stale catalog cache?)"),
        ));
    }
    let mut bytes = Vec::with_capacity(a.size as usize);
    repo.dump(&id, &format!("{WAL_STREAM_PREFIX}{name}"), &mut bytes)?;
    if super::push::hash_hex(&bytes) != recorded {
        return Err(Error::corrupt(
            name,
            format!(
                "restored bytes do not match the hash recorded at push (snapshot {})",
                id.short()
            ),
        ));
    }
    write_synced(dest, &bytes)?;
    Ok(bytes.len() as u64)
}

fn write_synced(dest: &Path, bytes: &[u8]) -> Result<()> {
    let io = |e| Error::io(dest.display().to_string(), e);
    let tmp = dest.with_file_name(format!(
        ".{}.cairn-{}",
        dest.file_name().and_then(|n| n.to_str()).unwrap_or("wal"),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, dest)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}
