//! Random access into a snapshot's file or stream: its chunks with their
//! offsets (from the index's plaintext lengths), and a small cache of
//! decoded chunks shared by every open file.

use cairn::{BlobId, Repository};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// Decoded chunks kept: enough for sequential reads by a few readers.
const CACHED_CHUNKS: usize = 16;

/// An open file: chunk ids and where each starts.
pub struct OpenFile {
    chunks: Vec<BlobId>,
    /// starts[i] = offset of chunk i; one more entry: the file's end.
    starts: Vec<u64>,
}

impl OpenFile {
    /// Lays out `chunks`; a chunk no index knows is an error.
    pub fn new(repo: &Repository, chunks: Vec<BlobId>) -> Result<Self, String> {
        let mut starts = Vec::with_capacity(chunks.len() + 1);
        let mut at = 0u64;
        for c in &chunks {
            starts.push(at);
            let loc = repo
                .blob_location(c)
                .ok_or_else(|| format!("chunk {c} is in no index (run `cairn check`)"))?;
            at += u64::from(loc.raw_len);
        }
        starts.push(at);
        Ok(OpenFile { chunks, starts })
    }

    /// The file's size by its chunks.
    pub fn len(&self) -> u64 {
        self.starts.last().copied().unwrap_or(0)
    }

    /// Up to `size` bytes from `offset`.
    pub fn read(&self, cache: &ChunkCache, offset: u64, size: u32) -> Result<Vec<u8>, String> {
        let end = (offset + u64::from(size)).min(self.len());
        let mut out = Vec::with_capacity(end.saturating_sub(offset) as usize);
        if offset >= end {
            return Ok(out);
        }
        // The chunk holding `offset`: the last start at or before it.
        let mut i = self.starts.partition_point(|&s| s <= offset) - 1;
        while i < self.chunks.len() && self.starts[i] < end {
            let data = cache.get(&self.chunks[i])?;
            let from = offset.saturating_sub(self.starts[i]) as usize;
            let to = ((end - self.starts[i]) as usize).min(data.len());
            out.extend_from_slice(&data[from..to]);
            i += 1;
        }
        Ok(out)
    }
}

/// Recently decoded chunks.
pub struct ChunkCache {
    repo: Repository,
    recent: Mutex<VecDeque<(BlobId, Arc<Vec<u8>>)>>,
}

impl ChunkCache {
    /// An empty cache reading from `repo`.
    pub fn new(repo: Repository) -> Self {
        ChunkCache {
            repo,
            recent: Mutex::new(VecDeque::new()),
        }
    }

    fn get(&self, id: &BlobId) -> Result<Arc<Vec<u8>>, String> {
        let lock = || self.recent.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, d)) = lock().iter().find(|(c, _)| c == id) {
            return Ok(d.clone());
        }
        let data = Arc::new(self.repo.read_blob(id).map_err(|e| e.to_string())?);
        let mut recent = lock();
        recent.push_front((*id, data.clone()));
        recent.truncate(CACHED_CHUNKS);
        Ok(data)
    }
}
