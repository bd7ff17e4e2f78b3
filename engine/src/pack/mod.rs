//! Pack files: append-only containers of sealed blobs of one kind.
//!
//! Layout: `blob* || sealed header || header_len u32 LE || "CRNPACK1"`.
//! Blobs stream out first; the header, written last, lists them.

mod header;
mod writer;

pub use header::{
    decode_header, encode_header, header_region_len, PackBlob, PackHeader, PACK_MAGIC, TRAILER_LEN,
};
pub use writer::{name_matches, FinishedPack, PackWriter};
