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
/// of each read are decoded in parallel; `visit` gets every blob once.
pub(crate) fn for_each_blob(repo: &Repository, ids: &[BlobId], visit: &Visit<'_>) -> Result<()> {
    let mut by_pack: HashMap<PackId, Vec<(BlobId, BlobLocation)>> = HashMap::new();
    {
        let index = repo.index();
        for id in ids {
            let loc = index.get(id).ok_or_else(|| Error::NotFound {
                kind: "blob".into(),
                name: id.to_hex(),
            })?;
            by_pack.entry(loc.pack).or_default().push((*id, loc));
        }
    }
    repo.with_read_pool(|| {
        by_pack
            .into_par_iter()
            .try_for_each(|(pack, blobs)| fetch_from_pack(repo, &pack, blobs, visit))
    })
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

fn fetch_from_pack(
    repo: &Repository,
    pack: &PackId,
    mut blobs: Vec<(BlobId, BlobLocation)>,
    visit: &Visit<'_>,
) -> Result<()> {
    blobs.sort_by_key(|(_, l)| l.offset);
    blobs.dedup_by_key(|(id, _)| *id);
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
        let bytes = repo.read_pack_range(pack, start..end)?;
        blobs[i..j].par_iter().try_for_each(|(id, loc)| {
            let off = (u64::from(loc.offset) - start) as usize;
            let sealed = &bytes[off..off + loc.length as usize];
            let what = format!("pack {pack} (blob {id} at offset {})", loc.offset);
            let pool = repo.read_buffers();
            let data =
                blob::decode_pooled(repo.keys(), loc.kind, id, loc.raw_len, sealed, &what, pool)?;
            visit(id, data)
        })?;
        i = j;
    }
    Ok(())
}
