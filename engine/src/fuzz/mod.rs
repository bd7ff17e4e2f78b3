//! Entry points for the fuzz targets in `fuzz/` and for the regression
//! tests that replay their corpora (`engine/tests/fuzz_corpus.rs`).
//!
//! Every decoder is fed two ways: the raw bytes, as an attacker who can
//! write to the storage but has no key would present them; and the bytes
//! sealed with the fixed fuzzing key, so that the code behind the
//! authentication check is reached too. A target must never panic, hang or
//! allocate without bound; errors are the expected outcome.

mod decoders;
mod model;

pub use decoders::{blob, config, gc_files, index_file, key_slot, pack_header, snapshot, tree};
pub use model::model;

use crate::crypto::{ChunkingSecret, Keys, MasterSecret};

/// The fixed keys of the fuzz targets.
pub fn keys() -> Keys {
    let m = MasterSecret([7; 32]);
    Keys::derive(&m, &ChunkingSecret::derive(&m))
}

/// A fuzz entry point.
pub type Target = fn(&[u8]);

/// All targets by name, for the corpus replay.
pub const TARGETS: &[(&str, Target)] = &[
    ("pack_header", pack_header),
    ("index_file", index_file),
    ("snapshot", snapshot),
    ("tree", tree),
    ("key_slot", key_slot),
    ("config", config),
    ("blob", blob),
    ("model", model),
    ("gc_files", gc_files),
];
