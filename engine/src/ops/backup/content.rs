//! Turning chunk lists into node content, and chunking sources.

use super::saver::{ChunkBytes, Saver};
use crate::blob::BlobKind;
use crate::chunker::Chunker;
use crate::envelope;
use crate::error::{Error, Result};
use crate::id::BlobId;
use crate::tree::{Content, CHUNKS_PER_LIST, INLINE_CHUNKS};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

/// Files at least this large are memory-mapped.
const MMAP_THRESHOLD: u64 = 1 << 20;

/// Stores long chunk lists as chunk-list blobs.
pub(crate) fn make_content(saver: &Saver, ids: Vec<BlobId>) -> Result<Content> {
    if ids.len() <= INLINE_CHUNKS {
        return Ok(Content::Inline(ids));
    }
    let lists = ids
        .chunks(CHUNKS_PER_LIST)
        .map(|part| {
            saver.save(
                BlobKind::Tree,
                ChunkBytes::Owned(envelope::encode(&part.to_vec())),
            )
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Content::Indirect(lists))
}

/// Chunks a reader and stores its chunks; returns the ids and bytes read.
pub(crate) fn save_reader(
    saver: &Saver,
    chunker: &Chunker,
    reader: impl Read,
    name: &str,
    progress: Option<&crate::Progress>,
) -> Result<(Vec<BlobId>, u64)> {
    let mut stream = chunker.stream(reader);
    let mut ids = Vec::new();
    let mut total = 0u64;
    loop {
        let chunk = stream.next_chunk().map_err(|e| Error::Source {
            name: name.to_string(),
            detail: format!("read failed: {e}"),
        })?;
        let Some(chunk) = chunk else { break };
        total += chunk.len() as u64;
        if let Some(p) = progress {
            crate::Progress::add(&p.bytes, chunk.len() as u64);
        }
        let id = saver.repo().keys().blob_id(chunk);
        let repo_has = saver.repo().index().contains(&id);
        if !repo_has {
            saver.save_with_id(id, BlobKind::Data, ChunkBytes::Owned(chunk.to_vec()))?;
        }
        ids.push(id);
    }
    Ok((ids, total))
}

/// Chunks and stores one regular file; returns the ids and its size.
pub(crate) fn save_file(
    saver: &Saver,
    chunker: &Chunker,
    path: &Path,
    progress: Option<&crate::Progress>,
) -> Result<(Vec<BlobId>, u64)> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    if len < MMAP_THRESHOLD {
        let name = path.display().to_string();
        return save_reader(saver, chunker, file, &name, progress);
    }
    let map = Arc::new(crate::mmap::map_file(&file).map_err(|e| Error::io(path, e))?);
    let mut ids = Vec::new();
    for r in chunker.slice_chunks(&map) {
        let n = r.len() as u64;
        let id = saver.repo().keys().blob_id(&map[r.clone()]);
        saver.save_with_id(id, BlobKind::Data, ChunkBytes::Mapped(map.clone(), r))?;
        if let Some(p) = progress {
            crate::Progress::add(&p.bytes, n);
        }
        ids.push(id);
    }
    Ok((ids, map.len() as u64))
}
