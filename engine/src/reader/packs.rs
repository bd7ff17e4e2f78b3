//! Pack headers and byte ranges.

use crate::backend::FileKind;
use crate::error::{Error, Result};
use crate::repo::Repository;
use bytes::Bytes;
use std::ops::Range;

impl Repository {
    /// Reads and decrypts a pack's header (from its tail only).
    pub fn read_pack_header(&self, id: &crate::id::PackId) -> Result<crate::pack::PackHeader> {
        let name = id.to_hex();
        let size = match self.index().packs().iter().find(|(p, _, _)| p == id) {
            Some((_, _, size)) => *size,
            None => self
                .inner
                .backend
                .list(FileKind::Pack)?
                .into_iter()
                .find(|(n, _)| *n == name)
                .map(|(_, s)| s)
                .ok_or_else(|| Error::NotFound {
                    kind: "pack".into(),
                    name: name.clone(),
                })?,
        };
        self.read_pack_header_sized(id, size)
    }

    /// Reads a pack's header when its size is known.
    pub(crate) fn read_pack_header_sized(
        &self,
        id: &crate::id::PackId,
        size: u64,
    ) -> Result<crate::pack::PackHeader> {
        let what = format!("pack {id}");
        let trailer_len = crate::pack::TRAILER_LEN as u64;
        if size < trailer_len {
            return Err(Error::corrupt(what, "shorter than its trailer"));
        }
        let trailer = self.read_pack_range(id, size - trailer_len..size)?;
        let region = crate::pack::header_region_len(&trailer)
            .filter(|r| *r <= size)
            .ok_or_else(|| Error::corrupt(&what, "bad pack trailer"))?;
        let tail = self.read_pack_range(id, size - region..size)?;
        crate::pack::decode_header(&self.inner.keys.meta, &tail, size, &what)
    }

    /// Reads a byte range of a pack, and refuses a short answer: whatever
    /// the backend, the caller gets exactly the bytes it asked for.
    pub(crate) fn read_pack_range(
        &self,
        pack: &crate::id::PackId,
        range: Range<u64>,
    ) -> Result<Bytes> {
        let want = range.end.saturating_sub(range.start);
        let start = range.start;
        let bytes = self
            .inner
            .backend
            .read_range(FileKind::Pack, &pack.to_hex(), range)?;
        if bytes.len() as u64 != want {
            return Err(Error::corrupt(
                format!("pack {pack}"),
                format!(
                    "short read: wanted {want} bytes at offset {start}, got {}",
                    bytes.len()
                ),
            ));
        }
        Ok(bytes)
    }
}
