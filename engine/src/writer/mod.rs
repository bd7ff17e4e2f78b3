//! The repository writer: blobs in, packs and index files out.
//!
//! Every operation that stores blobs goes through a [`Writer`]: backup
//! (files, streams, trees), copy (blobs read from another repository) and
//! prune (its repack, with blobs already sealed). One write session is one
//! `Writer`:
//!
//! ```text
//! producer(s) --EncodeJob--> encoders (N) --Sealed--> packer --FinishedPack--> uploaders (U)
//!                                                                  |
//!                                 index file every 64 packs, and at finish
//! ```
//!
//! - [`session`]: the `Writer` handle callers use (save, submit, held
//!   batches, sealed copies, finish).
//! - [`stages`]: the threads behind it.
//! - [`segments`]: large read buffers whose chunks the encoders copy.
//! - [`chunk_list`]: a node's content as inline ids or chunk-list blobs.
//!
//! A blob id is claimed when first seen and stays claimed until its pack is
//! stored and indexed, so a chunk seen twice in flight is stored once, and
//! a pack is always stored before any index file that lists it.

mod chunk_list;
mod segments;
mod session;
mod stages;

pub(crate) use chunk_list::make_content;
pub(crate) use segments::Segments;
pub(crate) use session::{ChunkData, Held, Writer};
