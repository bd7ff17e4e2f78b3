//! Writing restored content: chunks are fetched in batches, pack by pack
//! and in parallel, and each is written with `pwrite` to every place it
//! belongs. Holes of sparse files are left unwritten.

use super::target::Target;
use crate::error::{Error, Result};
use crate::id::BlobId;
use crate::reader::for_each_blob;
use crate::repo::Repository;
use crate::tree::Hole;
use rustix::fs::{Mode, OFlags};
use std::collections::HashMap;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Raw bytes fetched per batch (bounds restore memory).
const BATCH_BYTES: u64 = 64 << 20;

/// One place a chunk goes.
struct Place {
    rel: Arc<Path>,
    offset: u64,
    /// The file's only chunk: the file is created when it arrives, in one
    /// open, instead of created empty first and reopened to write.
    whole: bool,
    holes: Option<Arc<Vec<Hole>>>,
}

/// Wanted chunks and where they go.
pub(super) struct Batch {
    wanted: HashMap<BlobId, Vec<Place>>,
    order: Vec<BlobId>,
    bytes: u64,
}

impl Batch {
    pub fn new() -> Self {
        Batch {
            wanted: HashMap::new(),
            order: Vec::new(),
            bytes: 0,
        }
    }

    pub fn add(
        &mut self,
        id: BlobId,
        len: u64,
        rel: Arc<Path>,
        offset: u64,
        whole: bool,
        holes: Option<Arc<Vec<Hole>>>,
    ) {
        let entry = self.wanted.entry(id).or_default();
        if entry.is_empty() {
            self.order.push(id);
            self.bytes += len;
        }
        entry.push(Place {
            rel,
            offset,
            whole,
            holes,
        });
    }

    pub fn full(&self) -> bool {
        self.bytes >= BATCH_BYTES
    }
}

/// Creates the file at `rel` with its final size (0600 until its metadata
/// is applied); refuses to reuse an existing name.
pub(super) fn create(target: &Target, rel: &Path, size: u64) -> std::io::Result<()> {
    let fd = target.open(
        rel,
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL,
        Mode::from_raw_mode(0o600),
    )?;
    std::fs::File::from(fd).set_len(size)
}

/// The parts of `[offset, offset + len)` outside `holes`, as ranges
/// relative to `offset`.
fn outside_holes(offset: u64, len: u64, holes: &[Hole]) -> Vec<std::ops::Range<usize>> {
    let end = offset + len;
    let mut out = Vec::new();
    let mut pos = offset;
    for h in holes {
        let (hs, he) = (h.offset, h.offset.saturating_add(h.len));
        if he <= pos || hs >= end {
            continue;
        }
        if hs > pos {
            out.push((pos - offset) as usize..(hs - offset) as usize);
        }
        pos = pos.max(he);
    }
    if pos < end {
        out.push((pos - offset) as usize..(end - offset) as usize);
    }
    out
}

fn write_one(target: &Target, p: &Place, data: &[u8]) -> std::io::Result<()> {
    let flags = match p.whole {
        true => OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL,
        false => OFlags::WRONLY,
    };
    let f = std::fs::File::from(target.open(&p.rel, flags, Mode::from_raw_mode(0o600))?);
    match &p.holes {
        None => f.write_all_at(data, p.offset),
        Some(holes) => {
            for r in outside_holes(p.offset, data.len() as u64, holes) {
                f.write_all_at(&data[r.clone()], p.offset + r.start as u64)?;
            }
            Ok(())
        }
    }
}

/// Fetches and writes one batch. A local write error fails that file only
/// (returned, with its message); a full disk, or damaged or missing data,
/// stops the restore.
pub(super) fn flush(
    repo: &Repository,
    target: &Target,
    batch: Batch,
    progress: Option<&crate::Progress>,
) -> Result<Vec<(PathBuf, String)>> {
    if batch.order.is_empty() {
        return Ok(Vec::new());
    }
    let failed: Mutex<HashMap<PathBuf, String>> = Mutex::new(HashMap::new());
    // Writers of one file take turns: concurrent pwrite on one inode made
    // the kernel spin on its lock (measured, docs/performance.md).
    let stripes: Vec<Mutex<()>> = (0..16).map(|_| Mutex::new(())).collect();
    let write = |id: &BlobId, data: crate::pool::Pooled| -> Result<()> {
        let places = batch.wanted.get(id).ok_or_else(|| Error::NotFound {
            kind: "blob".into(),
            name: id.to_hex(),
        })?;
        for p in places {
            let stripe = {
                use std::hash::{Hash, Hasher};
                let mut h = std::collections::hash_map::DefaultHasher::new();
                p.rel.hash(&mut h);
                (h.finish() % 16) as usize
            };
            let _turn = stripes[stripe].lock().unwrap_or_else(|e| e.into_inner());
            if let Err(e) = write_one(target, p, &data) {
                if e.raw_os_error() == Some(libc::ENOSPC) {
                    return Err(Error::io(target.display(&p.rel), e));
                }
                failed
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(p.rel.to_path_buf())
                    .or_insert_with(|| e.to_string());
            }
            if let Some(pr) = progress {
                crate::Progress::add(&pr.bytes, data.len() as u64);
            }
        }
        Ok(())
    };
    for_each_blob(repo, &batch.order, &write).map_err(|e| name_files(e, &batch, target))?;
    let mut out: Vec<(PathBuf, String)> = failed
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .collect();
    out.sort();
    Ok(out)
}

/// Adds the affected files to a corruption or missing-blob error.
fn name_files(e: Error, batch: &Batch, target: &Target) -> Error {
    let blob_hex = match &e {
        Error::Corrupt { detail, what } => format!("{what} {detail}"),
        Error::NotFound { name, .. } => name.clone(),
        _ => return e,
    };
    let mut files: Vec<String> = batch
        .wanted
        .iter()
        .filter(|(id, _)| blob_hex.contains(&id.to_hex()))
        .flat_map(|(_, ps)| ps.iter().map(|p| target.display(&p.rel)))
        .collect();
    if files.is_empty() {
        return e;
    }
    files.sort();
    files.dedup();
    match e {
        Error::Corrupt { what, detail } => Error::Corrupt {
            what,
            detail: format!("{detail}; affected files: {}", files.join(", ")),
        },
        Error::NotFound { kind, name } => Error::NotFound {
            kind,
            name: format!("{name} (needed by {})", files.join(", ")),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holes_are_cut_out_of_a_chunk() {
        let holes = [
            Hole { offset: 10, len: 5 },
            Hole {
                offset: 30,
                len: 100,
            },
        ];
        assert_eq!(outside_holes(0, 20, &holes), vec![0..10, 15..20]);
        assert_eq!(outside_holes(12, 10, &holes), vec![3..10]);
        assert_eq!(
            outside_holes(40, 20, &holes),
            Vec::<std::ops::Range<usize>>::new()
        );
        assert_eq!(outside_holes(100, 60, &holes), vec![30..60]);
        assert_eq!(outside_holes(0, 5, &[]), vec![0..5]);
    }
}
