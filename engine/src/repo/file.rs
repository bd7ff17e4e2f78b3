//! Typed repository files.
//!
//! Every enveloped file kind (snapshots, index files, deletion plans,
//! session markers) states once what it is: its directory, its envelope
//! kind and version, and whether it is named by the hash of its bytes.
//! [`Repository::load`] and [`Repository::save`] are then the only code
//! that reads, checks, opens, seals and stores them. The config and key
//! slots are read before any key is known, so they keep their own path
//! (`repo::open`, `keyslot`).

use super::Repository;
use crate::backend::FileKind;
use crate::envelope::{self, EnvelopeKind};
use crate::error::{Error, Result};
use crate::id::content_hash;
use bytes::Bytes;
use serde::{de::DeserializeOwned, Serialize};

/// A file the repository stores in an envelope.
pub(crate) trait RepoFile: Serialize + DeserializeOwned {
    /// Where it is stored.
    const KIND: FileKind;
    /// Its envelope kind byte.
    const ENVELOPE: EnvelopeKind;
    /// The version this build writes.
    const VERSION: u32;
    /// Named by the BLAKE3 hash of its bytes (checked on every load); when
    /// false the writer chooses the name.
    const CONTENT_ADDRESSED: bool;
    /// How messages name one ("snapshot", "index").
    const NOUN: &'static str;

    /// Decodes stored bytes; the default accepts [`RepoFile::VERSION`]
    /// only. Kinds that still read older versions override it.
    fn decode(bytes: &[u8], meta_key: &[u8; 32], name: &str) -> Result<Self> {
        let what = format!("{} {name}", Self::NOUN);
        envelope::open(Self::ENVELOPE, Self::VERSION, meta_key, bytes, &what)
    }
}

impl RepoFile for crate::snapshot::Snapshot {
    const KIND: FileKind = FileKind::Snapshot;
    const ENVELOPE: EnvelopeKind = EnvelopeKind::Snapshot;
    const VERSION: u32 = crate::snapshot::SNAPSHOT_VERSION;
    const CONTENT_ADDRESSED: bool = true;
    const NOUN: &'static str = "snapshot";
}

impl RepoFile for crate::index::IndexFile {
    const KIND: FileKind = FileKind::Index;
    const ENVELOPE: EnvelopeKind = EnvelopeKind::Index;
    const VERSION: u32 = crate::index::INDEX_VERSION;
    const CONTENT_ADDRESSED: bool = true;
    const NOUN: &'static str = "index";
}

impl RepoFile for crate::gc::Plan {
    const KIND: FileKind = FileKind::Plan;
    const ENVELOPE: EnvelopeKind = EnvelopeKind::Plan;
    const VERSION: u32 = crate::gc::PLAN_VERSION;
    const CONTENT_ADDRESSED: bool = true;
    const NOUN: &'static str = "deletion plan";
}

impl RepoFile for crate::gc::Session {
    const KIND: FileKind = FileKind::Session;
    const ENVELOPE: EnvelopeKind = EnvelopeKind::Session;
    const VERSION: u32 = crate::gc::SESSION_VERSION;
    const CONTENT_ADDRESSED: bool = false;
    const NOUN: &'static str = "session";

    /// Version 2 markers are still read (see `gc::session`).
    fn decode(bytes: &[u8], meta_key: &[u8; 32], name: &str) -> Result<Self> {
        crate::gc::Session::decode(bytes, meta_key, name)
    }
}

impl RepoFile for crate::ops::check_progress::CheckProgress {
    const KIND: FileKind = FileKind::Check;
    const ENVELOPE: EnvelopeKind = EnvelopeKind::Check;
    const VERSION: u32 = crate::ops::check_progress::CHECK_PROGRESS_VERSION;
    const CONTENT_ADDRESSED: bool = true;
    const NOUN: &'static str = "check progress record";
}

impl Repository {
    /// Reads, checks and opens the file `name` of kind `T`.
    pub(crate) fn load<T: RepoFile>(&self, name: &str) -> Result<T> {
        let bytes = self.backend().read(T::KIND, name)?;
        if T::CONTENT_ADDRESSED && hex::encode(content_hash(&bytes)) != name {
            return Err(Error::corrupt(
                format!("{} {name}", T::NOUN),
                "content does not match its name",
            ));
        }
        T::decode(&bytes, &self.keys().meta, name)
    }

    /// Seals and stores a content-addressed file; returns its name. Storing
    /// the same content twice is not an error (the name says it is there).
    pub(crate) fn save<T: RepoFile>(&self, value: &T) -> Result<String> {
        debug_assert!(
            T::CONTENT_ADDRESSED,
            "{} files are named by their writer",
            T::NOUN
        );
        let bytes = self.seal(value);
        let name = hex::encode(content_hash(&bytes));
        self.create_idempotent(T::KIND, &name, bytes)?;
        Ok(name)
    }

    /// Seals and stores a file under a name its writer chose; an existing
    /// file of that name is never replaced.
    pub(crate) fn save_as<T: RepoFile>(&self, name: &str, value: &T) -> Result<()> {
        let bytes = self.seal(value);
        self.backend().create(T::KIND, name, bytes.into())
    }

    fn seal<T: RepoFile>(&self, value: &T) -> Vec<u8> {
        envelope::seal(T::ENVELOPE, T::VERSION, &self.keys().meta, value)
    }

    /// Content-addressed create: an existing object with the same name and
    /// size has the same content, so `AlreadyExists` is success; a partial
    /// leftover is replaced.
    pub(crate) fn create_idempotent(
        &self,
        kind: FileKind,
        name: &str,
        bytes: Vec<u8>,
    ) -> Result<()> {
        crate::backend::create_checked(
            self.inner.backend.as_ref(),
            kind,
            name,
            vec![Bytes::from(bytes)],
        )
    }
}
