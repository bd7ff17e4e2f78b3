//! Key slot management: add, list, remove. No data is rewritten.

use crate::backend::FileKind;
use crate::crypto::Argon2Params;
use crate::error::{Error, Result};
use crate::id::KeyId;
use crate::keyslot::{KeySlot, Secret};
use crate::repo::Repository;
use bytes::Bytes;

/// Options for a new key slot ([`Repository::add_key`],
/// [`Repository::replace_key`]).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct KeyOptions {
    /// Argon2id cost for a passphrase (ignored for key files and commands).
    pub argon2: Argon2Params,
    /// A label shown by `key list`.
    pub label: String,
    /// Sessions opened with the slot may not delete anything.
    pub append_only: bool,
}

super::setters!(KeyOptions {
    argon2: Argon2Params,
    label: String,
    append_only: bool,
});

impl Repository {
    /// Adds a key slot that wraps this repository's master secret; returns
    /// its id. An append-only session can only add append-only slots.
    ///
    /// ```
    /// # fn main() -> cairn::Result<()> {
    /// # use std::sync::Arc;
    /// # let opts = cairn::InitOptions::default().argon2(cairn::Argon2Params::insecure_for_tests());
    /// # let backend = Arc::new(cairn::ObjectBackend::memory()?);
    /// # let repo = cairn::Repository::init(backend.clone(), &cairn::Secret::passphrase("admin"), opts)?;
    /// let client = cairn::Secret::passphrase("backup client");
    /// let key = cairn::KeyOptions::default()
    ///     .argon2(cairn::Argon2Params::insecure_for_tests())
    ///     .label("nightly client".into())
    ///     .append_only(true);
    /// let id = repo.add_key(&client, key)?;
    /// let session = cairn::Repository::open(backend, &client)?;
    /// assert!(session.append_only());
    /// assert_eq!(session.key_id(), id);
    /// # Ok(())
    /// # }
    /// ```
    pub fn add_key(&self, secret: &Secret, opts: KeyOptions) -> Result<KeyId> {
        let KeyOptions {
            argon2,
            label,
            append_only,
        } = opts;
        let label = label.as_str();
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
    pub fn replace_key(&self, secret: &Secret, opts: KeyOptions) -> Result<KeyId> {
        self.ensure_may_delete("replacing a key slot")?;
        let new = self.add_key(secret, opts)?;
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
