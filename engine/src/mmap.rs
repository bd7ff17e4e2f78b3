//! Read-only memory maps of input files.
//!
//! This is the engine's only `unsafe` code. Mapping a file is unsafe
//! because another process may truncate or modify it while it is mapped.
//! Measured need: chunking and hashing straight from the page cache avoids
//! one copy of every byte read. Mitigation: only regular files are mapped,
//! and every chunk's id is computed from the same bytes that are then
//! stored, so a concurrent modification yields a consistent (if mixed)
//! chunk, never a chunk whose id does not match its content. A file that
//! shrinks while mapped can raise SIGBUS; see docs/architecture.md.
#![allow(unsafe_code)]

use memmap2::{Advice, Mmap};
use std::fs::File;

/// Maps a whole file read-only, advising sequential access.
pub fn map_file(file: &File) -> std::io::Result<Mmap> {
    // SAFETY: the map is read-only and private to this process; see the
    // module docs for the concurrent-modification caveat.
    let map = unsafe { Mmap::map(file)? };
    let _ = map.advise(Advice::Sequential);
    Ok(map)
}

/// Drops the pages of `range` from this process's mapping. They stay in the
/// page cache; touching them again re-reads them from there.
pub fn release(map: &Mmap, range: std::ops::Range<usize>) {
    let page = 4096;
    let start = range.start.div_ceil(page) * page;
    let end = range.end / page * page;
    if end > start {
        // SAFETY: the mapping is private, read-only and file-backed, so
        // DONTNEED only discards page-table entries: a later read of the
        // range (an encoder still copying a chunk) faults the same bytes
        // back in from the page cache. No memory is freed under a reader.
        let _ = unsafe {
            map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, end - start)
        };
    }
}
