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
