//! Cryptography: the master secret, derived subkeys, AEAD sealing and the
//! key-derivation functions that protect key slots.

mod aead;
mod kdf;
mod keys;

pub use aead::{
    open, open_in_place, seal, seal_parts, seal_prepared, NONCE_LEN, SEAL_OVERHEAD, TAG_LEN,
};
pub use kdf::{Argon2Params, Kdf};
pub use keys::{ChunkingSecret, Keys, MasterSecret};
