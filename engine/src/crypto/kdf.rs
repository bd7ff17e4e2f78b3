//! Key-derivation functions that turn a user secret into a key-encryption key.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Argon2id cost parameters, stored in each passphrase key slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Argon2Params {
    /// Memory cost in KiB.
    pub m_cost_kib: u32,
    /// Number of passes.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl Default for Argon2Params {
    /// 64 MiB, 3 passes, 4 lanes: the second recommended option of RFC 9106.
    /// The lanes run in parallel (rayon): on two cores an unlock takes
    /// about 0.10 s, as one lane did, where four lanes on one thread take
    /// 0.15 s. Slots made with 1 lane still open.
    fn default() -> Self {
        Argon2Params {
            m_cost_kib: 64 * 1024,
            t_cost: 3,
            p_cost: 4,
        }
    }
}

impl Argon2Params {
    /// Cheap parameters for tests and examples. Never use them for real data.
    pub fn insecure_for_tests() -> Self {
        Argon2Params {
            m_cost_kib: 64,
            t_cost: 1,
            p_cost: 1,
        }
    }
}

/// How a key slot turns its secret into the key that wraps the master secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kdf {
    /// Argon2id (version 0x13) over a passphrase.
    Argon2id {
        /// Cost parameters.
        params: Argon2Params,
        /// Random 16-byte salt.
        salt: [u8; 16],
    },
    /// BLAKE3 `derive_key` over a 32-byte random key file and a salt; no
    /// stretching is needed because the input already has full entropy.
    Blake3 {
        /// Random 16-byte salt.
        salt: [u8; 16],
    },
}

/// Bounds that stop a hostile key slot from demanding unbounded work.
const MAX_M_COST_KIB: u32 = 1024 * 1024;
const MAX_T_COST: u32 = 16;
const MAX_P_COST: u32 = 16;

impl Kdf {
    /// Derives the 32-byte key-encryption key from `secret`.
    pub fn derive(&self, secret: &[u8]) -> Result<[u8; 32]> {
        match self {
            Kdf::Argon2id { params, salt } => argon2id(params, salt, secret),
            Kdf::Blake3 { salt } => {
                let mut material = Vec::with_capacity(secret.len() + salt.len());
                material.extend_from_slice(secret);
                material.extend_from_slice(salt);
                Ok(blake3::derive_key("cairn v1 key-file slot", &material))
            }
        }
    }
}

fn argon2id(p: &Argon2Params, salt: &[u8], secret: &[u8]) -> Result<[u8; 32]> {
    if p.m_cost_kib > MAX_M_COST_KIB || p.t_cost > MAX_T_COST || p.p_cost > MAX_P_COST {
        return Err(Error::corrupt(
            "key slot",
            format!("argon2 parameters out of range: {p:?}"),
        ));
    }
    let params = argon2::Params::new(p.m_cost_kib, p.t_cost, p.p_cost, Some(32))
        .map_err(|e| Error::corrupt("key slot", format!("argon2 parameters: {e}")))?;
    let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = [0u8; 32];
    a.hash_password_into(secret, salt, &mut out)
        .map_err(|e| Error::invalid(format!("argon2: {e}")))?;
    Ok(out)
}
