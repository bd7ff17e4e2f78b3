//! Pack-oriented parallel blob fetching, shared by restore and dump.

use crate::blob;
use crate::error::{Error, Result};
use crate::id::{BlobId, PackId};
use crate::index::BlobLocation;
use crate::pool::Pooled;
use crate::repo::Repository;
use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::Mutex;

/// Gaps up to this size between wanted blobs are read rather than split
/// into another request.
const MAX_GAP: u64 = 1 << 20;

/// Called with each fetched, verified blob; may run on many threads. The
/// blob's buffer goes back to the repository's read buffers when dropped.
pub(crate) type Visit<'a> = dyn Fn(&BlobId, Pooled) -> Result<()> + Sync + 'a;

/// Fetches, decrypts and verifies `ids`, reading each pack's blobs in as
/// few range requests as possible. Packs are read in parallel and the blobs
/// of each read are decoded in parallel; `visit` gets every blob once. A
/// blob whose copy fails verification (or whose pack is gone) is read from
/// another copy when the index knows one.
pub(crate) fn for_each_blob(repo: &Repository, ids: &[BlobId], visit: &Visit<'_>) -> Result<()> {
    let mut by_pack: HashMap<PackId, Vec<(BlobId, BlobLocation)>> = HashMap::new();
    {
        let index = repo.index();
        for id in ids {
            let loc = index.get(id).ok_or_else(|| repo.blob_not_found(id))?;
            by_pack.entry(loc.pack).or_default().push((*id, loc));
        }
    }
    let failed: Mutex<Vec<(BlobId, PackId, Error)>> = Mutex::new(Vec::new());
    repo.with_read_pool(|| {
        by_pack
            .into_par_iter()
            .try_for_each(|(pack, blobs)| fetch_from_pack(repo, &pack, blobs, visit, &failed))
    })?;
    for (id, pack, err) in failed.into_inner().unwrap_or_else(|p| p.into_inner()) {
        let other = repo
            .index()
            .locations(&id)
            .into_iter()
            .filter(|l| l.pack != pack)
            .find_map(|l| repo.read_blob_at(&id, &l).ok());
        match other {
            Some(data) => {
                tracing::warn!("blob {id} read from another copy: {err}");
                let len = data.len();
                visit(&id, Pooled::new(data, 0..len, repo.read_buffers()))?;
            }
            None => return Err(err),
        }
    }
    Ok(())
}

/// Fetches blobs into a map (for callers that need them in their order).
pub(crate) fn fetch_blobs(repo: &Repository, ids: &[BlobId]) -> Result<HashMap<BlobId, Pooled>> {
    let out = Mutex::new(HashMap::with_capacity(ids.len()));
    for_each_blob(repo, ids, &|id, data| {
        out.lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(*id, data);
        Ok(())
    })?;
    Ok(out.into_inner().unwrap_or_else(|p| p.into_inner()))
}

/// Reads and visits the blobs of one pack. Blobs that fail verification
/// (or a range that cannot be read) go to `failed` when another copy
/// exists, so the caller can try it; otherwise the error stops the fetch.
fn fetch_from_pack(
    repo: &Repository,
    pack: &PackId,
    mut blobs: Vec<(BlobId, BlobLocation)>,
    visit: &Visit<'_>,
    failed: &Mutex<Vec<(BlobId, PackId, Error)>>,
) -> Result<()> {
    blobs.sort_by_key(|(_, l)| l.offset);
    blobs.dedup_by_key(|(id, _)| *id);
    let fail = |id: &BlobId, e: Error| -> Result<()> {
        match e {
            Error::Corrupt { .. } | Error::NotFound { .. }
                if repo.index().locations(id).len() > 1 =>
            {
                failed
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((*id, *pack, e));
                Ok(())
            }
            e => Err(e),
        }
    };
    // A range grows past the backend's limit by at most one blob.
    let cap = repo.backend().max_range_read();
    let mut i = 0;
    while i < blobs.len() {
        let start = u64::from(blobs[i].1.offset);
        let mut end = start + u64::from(blobs[i].1.length);
        let mut j = i + 1;
        while j < blobs.len() && u64::from(blobs[j].1.offset) <= end + MAX_GAP && end - start < cap
        {
            end = end.max(u64::from(blobs[j].1.offset) + u64::from(blobs[j].1.length));
            j += 1;
        }
        let bytes = match repo.read_pack_range(pack, start..end) {
            Ok(b) => b,
            Err(e @ (Error::Corrupt { .. } | Error::NotFound { .. })) => {
                for (id, _) in &blobs[i..j] {
                    fail(id, clone_kind(&e))?;
                }
                i = j;
                continue;
            }
            Err(e) => return Err(e),
        };
        blobs[i..j].par_iter().try_for_each(|(id, loc)| {
            let off = (u64::from(loc.offset) - start) as usize;
            let sealed = &bytes[off..off + loc.length as usize];
            let what = format!("pack {pack} (blob {id} at offset {})", loc.offset);
            let pool = repo.read_buffers();
            match blob::decode_pooled(repo.keys(), loc.kind, id, loc.raw_len, sealed, &what, pool) {
                Ok(data) => visit(id, data),
                Err(e) => fail(id, e),
            }
        })?;
        i = j;
    }
    Ok(())
}

/// A copy of a range error for each blob it concerns (errors are not
/// `Clone`: they may hold an I/O source).
fn clone_kind(e: &Error) -> Error {
    match e {
        Error::NotFound { kind, name } => Error::NotFound {
            kind: kind.clone(),
            name: name.clone(),
        },
        Error::Corrupt { what, detail } => Error::Corrupt {
            what: what.clone(),
            detail: detail.clone(),
        },
        other => Error::corrupt("pack range", other),
    }
}
