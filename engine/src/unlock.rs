//! Unlocking: finding the key slot that accepts a secret, with bounded
//! work whatever slots a storage writer added.
//!
//! Slots are tried cheapest first (key files, then Argon2 slots by memory
//! × passes, oldest first among equals). Without a hint, slots over
//! [`UNHINTED_MAX_M_COST_KIB`] are not tried at all, and the Argon2 work
//! spent on one open stops at [`STRETCH_BUDGET`] default slots' worth: a
//! repository with hostile slots opens as fast as without them for the
//! holder of a cheap or default slot, and anyone else is told to name
//! their slot (`key_hint`) instead of waiting minutes.

use crate::backend::{Backend, FileKind};
use crate::crypto::{Argon2Params, MasterSecret};
use crate::error::{Error, Result};
use crate::id::KeyId;
use crate::keyslot::{KeySlot, Secret};

/// Argon2 slots above this memory cost are tried only when named by a
/// hint: 256 MiB, four times the default.
pub const UNHINTED_MAX_M_COST_KIB: u32 = 256 * 1024;

/// Argon2 work one open may spend without a hint, in default slots.
pub const STRETCH_BUDGET: u64 = 16;

/// The slot that opened, and the master secret it wraps.
pub(crate) struct Unlocked {
    pub key_id: KeyId,
    pub append_only: bool,
    pub master: MasterSecret,
}

struct Candidate {
    id: KeyId,
    slot: KeySlot,
    stored_ns: i64,
    hinted: bool,
}

fn default_cost() -> u64 {
    let d = Argon2Params::default();
    u64::from(d.m_cost_kib) * u64::from(d.t_cost)
}

/// Reads every slot; damaged ones are noted, never fatal.
fn candidates(
    backend: &dyn Backend,
    secret: &Secret,
    hint: Option<&str>,
    damaged: &mut Vec<String>,
) -> Result<Vec<Candidate>> {
    let listed = backend.list_info(FileKind::Key)?;
    if listed.is_empty() {
        return Err(Error::corrupt(
            "keys/",
            "the repository has no key slot; without one nothing can be decrypted \
             (restore keys/ from a copy of the repository)",
        ));
    }
    let hint = hint.map(str::to_ascii_lowercase);
    let mut out = Vec::new();
    for info in listed {
        let what = format!("key slot {}", info.name);
        let slot = match backend
            .read(FileKind::Key, &info.name)
            .and_then(|b| KeySlot::from_bytes(&b, &what))
        {
            Ok(slot) => slot,
            Err(e @ (Error::Corrupt { .. } | Error::UnsupportedVersion { .. })) => {
                damaged.push(e.to_string());
                continue;
            }
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(e),
        };
        if !secret.fits(slot.kind) {
            continue;
        }
        let hinted = hint.as_deref().is_some_and(|h| info.name.starts_with(h));
        out.push(Candidate {
            id: KeyId::from_hex(&info.name)?,
            slot,
            stored_ns: info.modified_ns,
            hinted,
        });
    }
    out.sort_by_key(|c| (!c.hinted, c.slot.cost(), c.stored_ns));
    Ok(out)
}

/// Finds the slot that accepts `secret`. `hint` is a key id prefix: that
/// slot is tried first and without the cost limits.
pub(crate) fn unlock(
    backend: &dyn Backend,
    secret: &Secret,
    hint: Option<&str>,
) -> Result<Unlocked> {
    let mut damaged = Vec::new();
    let cands = candidates(backend, secret, hint, &mut damaged)?;
    let budget = STRETCH_BUDGET * default_cost();
    let (mut spent, mut tried, mut skipped) = (0u64, 0usize, 0usize);
    for c in &cands {
        if c.slot.is_stretched() && !c.hinted {
            let too_big = matches!(&c.slot.kdf, crate::crypto::Kdf::Argon2id { params, .. }
                if params.m_cost_kib > UNHINTED_MAX_M_COST_KIB);
            if too_big || spent.saturating_add(c.slot.cost()) > budget {
                skipped += 1;
                continue;
            }
            spent += c.slot.cost();
        }
        tried += 1;
        // A slot that cannot be evaluated (hostile or damaged KDF
        // parameters) is skipped, never a reason to refuse the others.
        match c.slot.unwrap_master(secret) {
            Ok(Some(master)) => {
                return Ok(Unlocked {
                    key_id: c.id,
                    append_only: c.slot.append_only,
                    master,
                })
            }
            Ok(None) => {}
            Err(e) => damaged.push(format!("key slot {}: {e}", c.id)),
        }
    }
    if skipped > 0 {
        return Err(Error::KeySlotsSkipped { tried, skipped });
    }
    if damaged.is_empty() {
        return Err(Error::WrongKey);
    }
    Err(Error::corrupt(
        "key slots",
        format!(
            "no intact key slot accepts this secret, and some are damaged \
             (the secret may belong to one of them): {}",
            damaged.join("; ")
        ),
    ))
}
