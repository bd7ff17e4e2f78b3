//! Chunk lists: a node's content as inline ids, or as chunk-list blobs
//! when it has many chunks (read back by `reader::chunk_list`).

use super::Writer;
use crate::blob::BlobKind;
use crate::envelope;
use crate::error::Result;
use crate::id::BlobId;
use crate::tree::{Content, CHUNKS_PER_LIST, INLINE_CHUNKS};

/// A node's content for `ids`: inline when short, else stored as
/// chunk-list blobs of at most [`CHUNKS_PER_LIST`] ids each.
pub(crate) fn make_content(writer: &Writer, ids: Vec<BlobId>) -> Result<Content> {
    if ids.len() <= INLINE_CHUNKS {
        return Ok(Content::Inline(ids));
    }
    let lists = ids
        .chunks(CHUNKS_PER_LIST)
        .map(|part| writer.save(BlobKind::Tree, envelope::encode(&part.to_vec())))
        .collect::<Result<Vec<_>>>()?;
    Ok(Content::Indirect(lists))
}
