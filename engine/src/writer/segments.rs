//! Reading a source in large segments that its chunks share.
//!
//! For a big file the producer (one thread per file) is the only sequential
//! stage: it reads and cuts, and the encoders do the rest in parallel. A
//! chunk is handed over as a range of a shared, filled segment; the encoder
//! copies it into its own buffer before naming it, and the segment goes back
//! to a pool once its last chunk is copied. So the producer copies a byte
//! once (the read itself), plus the unfinished chunk at a segment's end,
//! never per chunk. (Files used to be memory-mapped for the same reason; a
//! file truncated while mapped killed the process with SIGBUS.)
//!
//! Segments are anonymous mappings, not heap buffers: buffers of 10 MiB
//! allocated by the file workers and freed by the encoders fragmented the
//! allocator's arenas, and the first backup's peak RSS rose by about 50 MiB
//! (docs/performance.md).

use crate::chunker::Chunker;
use memmap2::MmapMut;
use std::io::Read;
use std::ops::{Deref, Range};
use std::sync::{Arc, Mutex};

/// Segments are at least this large.
const MIN_SEGMENT: usize = 8 << 20;
/// Room beyond the largest chunk. The unfinished chunk at a segment's end
/// (about one average chunk) is copied into the next segment.
const SEGMENT_SLACK: usize = 1 << 20;

/// The segment size for a chunker.
pub(crate) fn segment_size(chunker: &Chunker) -> usize {
    (chunker.params().max_size as usize + SEGMENT_SLACK).max(MIN_SEGMENT)
}

/// A filled segment: its first `len` bytes are input.
pub(crate) struct Segment {
    map: MmapMut,
    len: usize,
}

impl std::fmt::Debug for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Segment({} of {} bytes)", self.len, self.map.len())
    }
}

impl Deref for Segment {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.map[..self.len]
    }
}

/// A chunk: a range of a shared segment.
pub(crate) type SharedChunk = (Arc<Segment>, Range<usize>);

/// Free segments, at most `keep` of them.
pub(crate) struct SegmentPool {
    free: Mutex<Vec<MmapMut>>,
    keep: usize,
}

impl SegmentPool {
    pub fn new(keep: usize) -> Self {
        SegmentPool {
            free: Mutex::new(Vec::new()),
            keep,
        }
    }

    /// An empty segment of at least `size` bytes.
    fn take(&self, size: usize) -> std::io::Result<Segment> {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        let map = match free.iter().position(|m| m.len() >= size) {
            Some(i) => free.swap_remove(i),
            None => {
                drop(free);
                MmapMut::map_anon(size)?
            }
        };
        Ok(Segment { map, len: 0 })
    }

    /// Takes a segment back if this was its last user (else its last user
    /// will).
    pub fn release(&self, seg: Arc<Segment>) {
        if let Some(seg) = Arc::into_inner(seg) {
            let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
            if free.len() < self.keep {
                free.push(seg.map);
            }
        }
    }

    #[cfg(test)]
    fn free_count(&self) -> usize {
        self.free.lock().expect("lock").len()
    }
}

/// The chunks of a reader, each a range of a shared segment.
pub(crate) struct Segments<'a, R: Read> {
    chunker: &'a Chunker,
    pool: &'a SegmentPool,
    reader: R,
    /// The current segment, filled before any chunk of it is handed out
    /// (so no one reads it while it grows).
    seg: Option<Arc<Segment>>,
    /// Start of the first byte not yet in a chunk.
    start: usize,
    size: usize,
    eof: bool,
}

impl<'a, R: Read> Segments<'a, R> {
    pub fn new(chunker: &'a Chunker, pool: &'a SegmentPool, reader: R) -> Self {
        Segments {
            chunker,
            pool,
            reader,
            seg: None,
            start: 0,
            size: segment_size(chunker),
            eof: false,
        }
    }

    /// The next chunk, `None` at the end of the input.
    pub fn next_chunk(&mut self) -> std::io::Result<Option<SharedChunk>> {
        let max = self.chunker.params().max_size as usize;
        loop {
            if let Some(seg) = &self.seg {
                let avail = seg.len() - self.start;
                if avail > 0 {
                    let n = self.chunker.next_len(&seg[self.start..]).max(1);
                    // As in `StreamChunks`: a cut before the end stands
                    // whatever follows; one at the end needs the input's end
                    // or a whole maximum-size chunk.
                    if n < avail || self.eof || avail >= max {
                        let r = self.start..self.start + n;
                        self.start += n;
                        return Ok(Some((seg.clone(), r)));
                    }
                } else if self.eof {
                    return Ok(None);
                }
            }
            self.next_segment()?;
        }
    }

    /// Starts a new segment with the unfinished chunk of the current one
    /// and fills it from the reader (to its size, or the input's end).
    fn next_segment(&mut self) -> std::io::Result<()> {
        let mut next = self.pool.take(self.size)?;
        let tail = self.seg.as_deref().map_or(&[][..], |s| &s[self.start..]);
        next.map[..tail.len()].copy_from_slice(tail);
        next.len = tail.len();
        while next.len < self.size {
            match self.reader.read(&mut next.map[next.len..self.size]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => next.len += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if let Some(old) = self.seg.replace(Arc::new(next)) {
            self.pool.release(old);
        }
        self.start = 0;
        Ok(())
    }
}

impl<R: Read> Drop for Segments<'_, R> {
    fn drop(&mut self) {
        if let Some(seg) = self.seg.take() {
            self.pool.release(seg);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunker::ChunkerParams;

    fn chunker() -> Chunker {
        let p = ChunkerParams {
            min_size: 256,
            avg_size: 1024,
            max_size: 4096,
        };
        Chunker::new(p, 7).expect("params")
    }

    fn data(len: usize) -> Vec<u8> {
        let mut s = 0x9e37_79b9_u64;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                s as u8
            })
            .collect()
    }

    /// The cuts are those of the whole input in memory, across many
    /// segment boundaries, and the chunks put together are the input.
    #[test]
    fn cuts_match_the_in_memory_chunker() {
        let c = chunker();
        let pool = SegmentPool::new(4);
        for len in [
            0,
            1,
            4095,
            MIN_SEGMENT - 1,
            MIN_SEGMENT + 5000,
            3 * MIN_SEGMENT,
        ] {
            let input = data(len);
            let want: Vec<usize> = c.slice_chunks(&input).map(|r| r.len()).collect();
            let mut s = Segments::new(&c, &pool, &input[..]);
            let (mut got, mut joined) = (Vec::new(), Vec::new());
            while let Some((seg, r)) = s.next_chunk().expect("read") {
                got.push(r.len());
                joined.extend_from_slice(&seg[r]);
            }
            assert_eq!(got, want, "cuts of {len} bytes");
            assert!(joined == input, "bytes of {len}");
        }
    }

    /// A segment goes back to the pool once its last chunk and the reader
    /// are done with it, not before.
    #[test]
    fn segments_return_to_the_pool_after_their_last_chunk() {
        let c = chunker();
        let pool = SegmentPool::new(4);
        let input = data(MIN_SEGMENT / 2);
        let mut s = Segments::new(&c, &pool, &input[..]);
        let (held, _) = s.next_chunk().expect("read").expect("a chunk");
        while let Some((seg, _)) = s.next_chunk().expect("read") {
            pool.release(seg);
        }
        drop(s);
        assert_eq!(pool.free_count(), 0, "a chunk still uses the segment");
        pool.release(held);
        assert_eq!(pool.free_count(), 1);
        let again = pool.take(segment_size(&c)).expect("take");
        assert_eq!(pool.free_count(), 0, "the free segment was reused");
        assert!(again.map.len() >= segment_size(&c));
    }

    /// A read error reaches the caller.
    #[test]
    fn read_errors_are_returned() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk on fire"))
            }
        }
        let c = chunker();
        let pool = SegmentPool::new(4);
        let err = Segments::new(&c, &pool, Broken)
            .next_chunk()
            .expect_err("error");
        assert!(err.to_string().contains("disk on fire"), "{err}");
    }
}
