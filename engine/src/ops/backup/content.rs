//! Chunking sources and turning chunk lists into node content.
//!
//! A producer (one per file or stream) only cuts and copies chunks; the
//! encoder threads name them, check them against the index, and store the
//! new ones. Ids come back through one small channel per chunk and are
//! collected in order, so a single huge stream still keeps every core busy.

use crate::blob::BlobKind;
use crate::chunker::Chunker;
use crate::error::{Error, Result};
use crate::id::BlobId;
use crate::tree::Hole;
use crate::writer::Segments;
use crate::writer::{ChunkData, Held, Writer};
use crossbeam_channel::Receiver;
use std::collections::VecDeque;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Files below this size are read whole into one buffer; larger ones are
/// read in shared segments (see `segments`).
const SMALL_FILE: u64 = 1 << 20;

/// Chunks submitted but not yet named, per producer.
const MAX_IN_FLIGHT: usize = 256;

/// Collects chunk ids in submission order.
struct Ordered<'a> {
    writer: &'a Writer,
    /// Replies not yet collected.
    queue: VecDeque<Receiver<BlobId>>,
    ids: Vec<BlobId>,
    bytes: u64,
    progress: Option<&'a crate::Progress>,
}

impl<'a> Ordered<'a> {
    fn new(writer: &'a Writer, progress: Option<&'a crate::Progress>) -> Self {
        Ordered {
            writer,
            queue: VecDeque::new(),
            ids: Vec::new(),
            bytes: 0,
            progress,
        }
    }

    fn push(&mut self, chunk: ChunkData, n: usize) -> Result<()> {
        self.writer.check_cancel()?;
        let n = n as u64;
        self.queue.push_back(self.writer.submit(chunk)?);
        self.bytes += n;
        if let Some(p) = self.progress {
            crate::Progress::add(&p.bytes, n);
        }
        while self.queue.len() > MAX_IN_FLIGHT {
            self.pop()?;
        }
        // Collect replies that are already there.
        while let Some(Ok(id)) = self.queue.front().map(|rx| rx.try_recv()) {
            self.queue.pop_front();
            self.ids.push(id);
        }
        Ok(())
    }

    fn pop(&mut self) -> Result<()> {
        if let Some(rx) = self.queue.pop_front() {
            let id = rx.recv().map_err(|_| self.writer.error())?;
            self.ids.push(id);
        }
        Ok(())
    }

    fn finish(mut self) -> Result<(Vec<BlobId>, u64)> {
        while !self.queue.is_empty() {
            self.pop()?;
        }
        Ok((self.ids, self.bytes))
    }
}

/// Chunks a reader and stores its chunks; returns the ids and bytes read.
pub(crate) fn save_reader(
    writer: &Writer,
    chunker: &Chunker,
    reader: impl Read,
    name: &str,
    progress: Option<&crate::Progress>,
) -> Result<(Vec<BlobId>, u64)> {
    save_chunks(writer, chunker, reader, progress, |e| Error::Source {
        name: name.to_string(),
        detail: format!("read failed: {e}"),
    })
}

fn save_chunks(
    writer: &Writer,
    chunker: &Chunker,
    reader: impl Read,
    progress: Option<&crate::Progress>,
    read_err: impl Fn(std::io::Error) -> Error,
) -> Result<(Vec<BlobId>, u64)> {
    let mut segs = Segments::new(chunker, writer.segment_pool(), reader);
    let mut out = Ordered::new(writer, progress);
    loop {
        let chunk = segs.next_chunk().map_err(&read_err)?;
        let Some(chunk) = chunk else { break };
        let n = chunk.1.len();
        out.push(ChunkData::Shared(chunk), n)?;
    }
    drop(segs);
    out.finish()
}

/// What reading one regular file produced.
pub(crate) struct FileRead {
    /// Its chunks.
    pub ids: Vec<BlobId>,
    /// Bytes read (the stored size).
    pub size: u64,
    /// Holes of a sparse file (empty when it has none, or changed).
    pub holes: Vec<Hole>,
    /// The file changed while it was read (size, mtime or ctime moved, or
    /// fewer or more bytes than its size could be read): what is stored is
    /// what was read.
    pub changed: bool,
}

/// Chunks and stores one regular file. The blobs of a small file are
/// sealed into `held`, for the caller to send. A file that shrinks, grows
/// or is rewritten while read is stored as read and reported as changed;
/// it never stops the backup.
pub(crate) fn save_file(
    writer: &Writer,
    chunker: &Chunker,
    path: &Path,
    held: &mut Held,
    progress: Option<&crate::Progress>,
) -> Result<FileRead> {
    let (file, before) = open_regular(path).map_err(|e| Error::io(path, e))?;
    let len = before.len();
    let holes = super::meta::holes(&file, &before);
    let (ids, size) = if len < SMALL_FILE {
        save_small(writer, chunker, &file, path, held, progress, len)?
    } else {
        save_chunks(writer, chunker, &file, progress, |e| Error::io(path, e))?
    };
    let after = file.metadata().map_err(|e| Error::io(path, e))?;
    let moved = |m: &std::fs::Metadata| {
        (
            m.len(),
            m.mtime(),
            m.mtime_nsec(),
            m.ctime(),
            m.ctime_nsec(),
        )
    };
    let changed = size != len || moved(&after) != moved(&before);
    Ok(FileRead {
        ids,
        size,
        holes: if changed { Vec::new() } else { holes },
        changed,
    })
}

/// A file under [`SMALL_FILE`]: read whole into one buffer and cut there.
/// Small files are named here, on the file worker, and held for the packer
/// without waiting: a round trip through the encode queue per small file
/// made trees of many small files crawl.
fn save_small(
    writer: &Writer,
    chunker: &Chunker,
    file: &std::fs::File,
    path: &Path,
    held: &mut Held,
    progress: Option<&crate::Progress>,
    len: u64,
) -> Result<(Vec<BlobId>, u64)> {
    let mut buf = writer.plain_buf(len as usize);
    // `take` reads to the end without std's size probe for files (an
    // fstat and an lseek), which the caller's fstat already did.
    file.take(u64::MAX)
        .read_to_end(buf.tail())
        .map_err(|e| Error::io(path, e))?;
    if let Some(p) = progress {
        crate::Progress::add(&p.bytes, buf.len() as u64);
    }
    let n = buf.len() as u64;
    let ranges: Vec<_> = chunker.slice_chunks(buf.data()).collect();
    if ranges.len() == 1 {
        return Ok((vec![writer.save_held(BlobKind::Data, buf, held)?], n));
    }
    let ids = ranges
        .into_iter()
        .map(|r| writer.save_held(BlobKind::Data, writer.plain_copy(&buf.data()[r]), held))
        .collect::<Result<Vec<_>>>()?;
    writer.recycle(buf);
    Ok((ids, n))
}

/// Opens a file the walker saw as a regular file, and its size. It must
/// still be one: a symlink put in its place is not followed, and a FIFO
/// does not block the open.
fn open_regular(path: &Path) -> std::io::Result<(std::fs::File, std::fs::Metadata)> {
    use std::os::unix::fs::OpenOptionsExt;
    let open = |extra: i32| {
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | extra)
            .open(path)
    };
    // O_NOATIME: the backup's own read does not change the atime it
    // records (so an unchanged tree stays identical); allowed for the
    // file's owner and for root only.
    let file = match open(libc::O_NOATIME) {
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => open(0)?,
        other => other?,
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other(
            "no longer a regular file (replaced during the backup)",
        ));
    }
    Ok((file, meta))
}

#[cfg(test)]
mod tests {
    use super::open_regular;

    #[test]
    fn open_regular_refuses_what_is_no_longer_a_file() {
        let tmp = tempfile::tempdir().expect("tmp");
        let file = tmp.path().join("file");
        std::fs::write(&file, b"abc").expect("write");
        assert_eq!(open_regular(&file).expect("open").1.len(), 3);
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&file, &link).expect("symlink");
        assert!(
            open_regular(&link).is_err(),
            "a symlink must not be followed"
        );
        let fifo = tmp.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(
            made.expect("mkfifo (coreutils) must run").success(),
            "mkfifo"
        );
        // Without O_NONBLOCK this open would wait for a writer forever.
        let err = open_regular(&fifo).expect_err("a FIFO is not a regular file");
        assert!(
            err.to_string().contains("no longer a regular file"),
            "{err}"
        );
    }
}
