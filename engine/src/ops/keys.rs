//! Key slot management: add, list, remove. No data is rewritten.

use crate::backend::FileKind;
use crate::crypto::Argon2Params;
use crate::error::{Error, Result};
use crate::id::KeyId;
use crate::keyslot::{KeySlot, Secret};
use crate::repo::Repository;
use bytes::Bytes;

impl Repository {
    /// Adds a key slot that wraps this repository's master secret.
    pub fn add_key(&self, secret: &Secret, argon2: Argon2Params, label: &str) -> Result<KeyId> {
        self.add_key_with(secret, argon2, label, false)
    }

    /// Adds a key slot; with `append_only`, sessions opened with it may not
    /// delete anything. An append-only session can only add append-only
    /// slots.
    pub fn add_key_with(
        &self,
        secret: &Secret,
        argon2: Argon2Params,
        label: &str,
        append_only: bool,
    ) -> Result<KeyId> {
        if self.append_only() && !append_only {
            return Err(Error::AppendOnly(
                "adding a key slot that may delete".into(),
            ));
        }
        let slot = KeySlot::create(&self.inner.master, secret, argon2, label, append_only)?;
        let id = KeyId(crate::id::random_bytes());
        self.backend()
            .create(FileKind::Key, &id.to_hex(), Bytes::from(slot.to_bytes()))?;
        Ok(id)
    }

    /// All key slots, oldest first.
    pub fn list_keys(&self) -> Result<Vec<(KeyId, KeySlot)>> {
        let mut out = Vec::new();
        for (name, _) in self.backend().list(FileKind::Key)? {
            let what = format!("key slot {name}");
            let bytes = self.backend().read(FileKind::Key, &name)?;
            out.push((KeyId::from_hex(&name)?, KeySlot::from_bytes(&bytes, &what)?));
        }
        out.sort_by_key(|(_, s)| s.created_ns);
        Ok(out)
    }

    /// Removes a key slot. Refuses the last slot and the slot this session
    /// was opened with.
    pub fn remove_key(&self, id: &KeyId) -> Result<()> {
        self.ensure_may_delete("removing a key slot")?;
        let keys = self.list_keys()?;
        if !keys.iter().any(|(k, _)| k == id) {
            return Err(Error::NotFound {
                kind: "key".into(),
                name: id.to_hex(),
            });
        }
        if keys.len() <= 1 {
            return Err(Error::LastKeySlot);
        }
        if *id == self.key_id() {
            return Err(Error::invalid(
                "refusing to remove the key slot in use; open the repository with another key to remove it",
            ));
        }
        self.backend().delete(FileKind::Key, &id.to_hex())
    }

    /// Replaces the slot this session was opened with by a new one (a
    /// password change): the new slot is stored first, then the old one
    /// removed. Refused in append-only sessions.
    pub fn replace_key(&self, secret: &Secret, argon2: Argon2Params, label: &str) -> Result<KeyId> {
        self.ensure_may_delete("replacing a key slot")?;
        let new = self.add_key(secret, argon2, label)?;
        self.backend()
            .delete(FileKind::Key, &self.key_id().to_hex())?;
        Ok(new)
    }

    /// Resolves a full key id or an unambiguous prefix.
    pub fn resolve_key(&self, spec: &str) -> Result<KeyId> {
        let hits: Vec<KeyId> = self
            .list_keys()?
            .into_iter()
            .map(|(k, _)| k)
            .filter(|k| k.to_hex().starts_with(spec))
            .collect();
        match hits.as_slice() {
            [one] => Ok(*one),
            [] => Err(Error::NotFound {
                kind: "key".into(),
                name: spec.into(),
            }),
            _ => Err(Error::invalid(format!("key prefix {spec:?} is ambiguous"))),
        }
    }
}
