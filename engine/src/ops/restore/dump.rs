//! `dump`: one file's or stream's content to a writer, in order.

use crate::error::{Error, Result};
use crate::id::SnapshotId;
use crate::reader::fetch_blobs;
use crate::repo::Repository;
use crate::tree::Node;
use std::io::Write;

/// Raw bytes fetched per batch by `dump`, which holds a whole batch to
/// write it in order.
const DUMP_BATCH_BYTES: u64 = 32 << 20;

/// What [`Repository::dump`] wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DumpReport {
    /// Bytes written.
    pub bytes: u64,
}

impl Repository {
    /// Writes a file's or stream's content to `out`, in order, fetching
    /// chunks pack by pack in parallel. Returns the bytes written.
    ///
    /// ```
    /// # fn main() -> cairn::Result<()> {
    /// # use std::sync::Arc;
    /// # let opts = cairn::InitOptions::default().argon2(cairn::Argon2Params::insecure_for_tests());
    /// # let secret = cairn::Secret::passphrase("example");
    /// # let repo = cairn::Repository::init(Arc::new(cairn::ObjectBackend::memory()?), &secret, opts.clone())?;
    /// # let stream = cairn::StreamSource::from_reader("db/dump.sql", &b"CREATE TABLE t();"[..]);
    /// # let first = repo.backup(cairn::BackupOptions::default().streams(vec![stream]))?;
    /// let mut out = Vec::new();
    /// let report = repo.dump(&first.id, "db/dump.sql", &mut out)?;
    /// assert_eq!((out.as_slice(), report.bytes), (&b"CREATE TABLE t();"[..], 17));
    /// # Ok(())
    /// # }
    /// ```
    pub fn dump(
        &self,
        snapshot: &SnapshotId,
        path: &str,
        out: &mut dyn Write,
    ) -> Result<DumpReport> {
        let node = self.find_path(snapshot, path)?;
        let bytes = self.dump_node(&node, out)?;
        Ok(DumpReport { bytes })
    }

    /// As [`Repository::dump`], for a node already at hand (adapters that
    /// walk a snapshot themselves).
    pub fn dump_node(&self, node: &Node, out: &mut dyn Write) -> Result<u64> {
        let name = node.name_lossy();
        let content = node
            .content()
            .ok_or_else(|| Error::invalid(format!("{name} is not a file or stream")))?;
        let ids = self.chunk_list(content)?;
        let mut written = 0u64;
        let mut start = 0;
        while start < ids.len() {
            let mut end = start;
            let mut bytes = 0u64;
            while end < ids.len() && (bytes < DUMP_BATCH_BYTES || end == start) {
                bytes += self
                    .blob_location(&ids[end])
                    .map(|l| u64::from(l.raw_len))
                    .unwrap_or(0);
                end += 1;
            }
            let got = fetch_blobs(self, &ids[start..end])?;
            for id in &ids[start..end] {
                let data = got.get(id).ok_or_else(|| Error::NotFound {
                    kind: "blob".into(),
                    name: id.to_hex(),
                })?;
                out.write_all(data).map_err(|e| Error::io("<output>", e))?;
                written += data.len() as u64;
            }
            start = end;
        }
        out.flush().map_err(|e| Error::io("<output>", e))?;
        Ok(written)
    }
}
