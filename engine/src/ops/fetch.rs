//! Pack-oriented parallel blob fetching, shared by restore and dump.

use crate::backend::FileKind;
use crate::blob;
use crate::error::{Error, Result};
use crate::id::{BlobId, PackId};
use crate::index::BlobLocation;
use crate::repo::Repository;
use rayon::prelude::*;
use std::collections::HashMap;

/// Gaps up to this size between wanted blobs are read rather than split
/// into another request.
const MAX_GAP: u64 = 1 << 20;

/// Fetches, decrypts and verifies `ids`, reading each pack's blobs in as
/// few range requests as possible, packs in parallel.
pub(crate) fn fetch_blobs(repo: &Repository, ids: &[BlobId]) -> Result<HashMap<BlobId, Vec<u8>>> {
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
    let parts: Vec<Vec<(BlobId, Vec<u8>)>> = by_pack
        .into_par_iter()
        .map(|(pack, blobs)| fetch_from_pack(repo, &pack, blobs))
        .collect::<Result<_>>()?;
    Ok(parts.into_iter().flatten().collect())
}

fn fetch_from_pack(
    repo: &Repository,
    pack: &PackId,
    mut blobs: Vec<(BlobId, BlobLocation)>,
) -> Result<Vec<(BlobId, Vec<u8>)>> {
    blobs.sort_by_key(|(_, l)| l.offset);
    blobs.dedup_by_key(|(id, _)| *id);
    let mut out = Vec::with_capacity(blobs.len());
    let mut i = 0;
    while i < blobs.len() {
        let start = u64::from(blobs[i].1.offset);
        let mut end = start + u64::from(blobs[i].1.length);
        let mut j = i + 1;
        while j < blobs.len() && u64::from(blobs[j].1.offset) <= end + MAX_GAP {
            end = end.max(u64::from(blobs[j].1.offset) + u64::from(blobs[j].1.length));
            j += 1;
        }
        let bytes = repo
            .backend()
            .read_range(FileKind::Pack, &pack.to_hex(), start..end)?;
        for (id, loc) in &blobs[i..j] {
            let off = (u64::from(loc.offset) - start) as usize;
            let sealed = &bytes[off..off + loc.length as usize];
            let what = format!("pack {pack} (blob {id} at offset {})", loc.offset);
            out.push((
                *id,
                blob::decode(repo.keys(), loc.kind, id, loc.raw_len, sealed, &what)?,
            ));
        }
        i = j;
    }
    Ok(out)
}
