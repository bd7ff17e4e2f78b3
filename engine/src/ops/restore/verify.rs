//! `verify`: every restored file read back and checked, chunk by chunk,
//! against the ids in the snapshot.

use super::target::Target;
use crate::id::BlobId;
use crate::repo::Repository;
use rayon::prelude::*;
use rustix::fs::{Mode, OFlags};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn check_one(repo: &Repository, target: &Target, rel: &Path, ids: &[BlobId]) -> Result<(), String> {
    let fd = target
        .open(rel, OFlags::RDONLY, Mode::empty())
        .map_err(|e| e.to_string())?;
    let mut f = std::io::BufReader::with_capacity(1 << 20, std::fs::File::from(fd));
    let mut buf = Vec::new();
    let mut offset = 0u64;
    for id in ids {
        let len = repo
            .blob_location(id)
            .map(|l| l.raw_len as usize)
            .ok_or_else(|| format!("chunk {id} is not in the index"))?;
        buf.resize(len, 0);
        f.read_exact(&mut buf)
            .map_err(|e| format!("shorter than in the snapshot ({e} at offset {offset})"))?;
        if repo.keys().blob_id(&buf) != *id {
            return Err(format!("content differs at offset {offset}"));
        }
        offset += len as u64;
    }
    let mut extra = [0u8; 1];
    match f.read(&mut extra) {
        Ok(0) => Ok(()),
        Ok(_) => Err(format!("longer than in the snapshot ({offset} bytes)")),
        Err(e) => Err(e.to_string()),
    }
}

/// Checks every file; returns how many matched and what did not.
pub(super) fn verify(
    repo: &Repository,
    target: &Target,
    files: &[(PathBuf, Arc<Vec<BlobId>>)],
) -> (u64, Vec<(PathBuf, String)>) {
    let results: Vec<Result<(), (PathBuf, String)>> = repo.with_read_pool(|| {
        files
            .par_iter()
            .map(|(rel, ids)| check_one(repo, target, rel, ids).map_err(|e| (rel.clone(), e)))
            .collect()
    });
    let ok = results.iter().filter(|r| r.is_ok()).count() as u64;
    (ok, results.into_iter().filter_map(Result::err).collect())
}
