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
        if !saver.repo().index().contains(&id) {
            saver.save_with_id(id, BlobKind::Data, ChunkBytes::Owned(chunk.to_vec()))?;
        }
        ids.push(id);
    }
    Ok((ids, total))
}

/// Reads a small file whole and stores its chunks.
fn save_small_file(
    saver: &Saver,
    chunker: &Chunker,
    mut file: std::fs::File,
    path: &Path,
    len: u64,
    progress: Option<&crate::Progress>,
) -> Result<(Vec<BlobId>, u64)> {
    let mut data = Vec::with_capacity(len as usize);
    file.read_to_end(&mut data)
        .map_err(|e| Error::io(path, e))?;
    if let Some(p) = progress {
        crate::Progress::add(&p.bytes, data.len() as u64);
    }
    let ranges: Vec<_> = chunker.slice_chunks(&data).collect();
    if ranges.len() == 1 {
        let n = data.len() as u64;
        let id = saver.save(BlobKind::Data, ChunkBytes::Owned(data))?;
        return Ok((vec![id], n));
    }
    let mut ids = Vec::with_capacity(ranges.len());
    for r in ranges {
        ids.push(saver.save(BlobKind::Data, ChunkBytes::Owned(data[r].to_vec()))?);
    }
    Ok((ids, data.len() as u64))
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
        return save_small_file(saver, chunker, file, path, len, progress);
    }
    let map = crate::mmap::map_file(&file).map_err(|e| Error::io(path, e))?;
    let mut ids = Vec::new();
    for r in chunker.slice_chunks(&map) {
        let n = r.len() as u64;
        let mut id = saver.repo().keys().blob_id(&map[r.clone()]);
        if !saver.repo().index().contains(&id) {
            // New chunk: copy it and name the copy, so the stored bytes and
            // their id agree even if the file changes under the map.
            let owned = map[r].to_vec();
            id = saver.repo().keys().blob_id(&owned);
            saver.save_with_id(id, BlobKind::Data, ChunkBytes::Owned(owned))?;
        }
        if let Some(p) = progress {
            crate::Progress::add(&p.bytes, n);
        }
        ids.push(id);
    }
    Ok((ids, map.len() as u64))
}
