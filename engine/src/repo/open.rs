//! Creating and opening a repository.

use super::Repository;
use crate::backend::{Backend, FileKind};
use crate::config::{Config, FORMAT_VERSION, KNOWN_FEATURES};
use crate::crypto::{Argon2Params, ChunkingSecret, Keys, MasterSecret};
use crate::envelope::{self, EnvelopeKind};
use crate::error::{Error, Result};
use crate::id::KeyId;
use crate::index::MemIndex;
use crate::keyslot::{KeySlot, Secret};
use bytes::Bytes;
use std::sync::Arc;

/// Options for [`Repository::init`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct InitOptions {
    /// Argon2id cost for passphrase slots.
    pub argon2: Argon2Params,
    /// Label of the first key slot.
    pub label: String,
    /// zstd level for new blobs (0 = none).
    pub compression_level: i32,
    /// Override the chunking profiles (name → params).
    pub profiles: Option<std::collections::BTreeMap<String, crate::chunker::ChunkerParams>>,
    /// Target pack size in bytes.
    pub pack_size: u32,
    /// Reuse another repository's chunking secret so dedup carries across.
    pub chunking_secret: Option<ChunkingSecret>,
    /// Forbid deletions (forget, prune, key removal) for every client.
    pub append_only: bool,
}

crate::ops::setters!(InitOptions {
    argon2: Argon2Params,
    label: String,
    compression_level: i32,
    profiles: Option<std::collections::BTreeMap<String, crate::chunker::ChunkerParams>>,
    pack_size: u32,
    chunking_secret: Option<ChunkingSecret>,
    append_only: bool,
});

impl Default for InitOptions {
    fn default() -> Self {
        InitOptions {
            argon2: Argon2Params::default(),
            label: String::new(),
            compression_level: 3,
            profiles: None,
            pack_size: 16 * 1024 * 1024,
            chunking_secret: None,
            append_only: false,
        }
    }
}

/// Options for [`Repository::open_with`].
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct OpenOptions {
    /// Id (or prefix) of the key slot to try first, without the cost
    /// limits that apply to other slots (cheapest slots first, bounded Argon2 work; see `docs/repository-format.md`).
    pub key_hint: Option<String>,
}

impl OpenOptions {
    /// Tries the slot whose id starts with `hint` first.
    pub fn key_hint(mut self, hint: impl Into<String>) -> Self {
        self.key_hint = Some(hint.into());
        self
    }
}

/// The error for a location without `config`: nothing there, or a
/// repository that lost its config (which `init` must not paper over).
fn missing_config(backend: &dyn Backend) -> Error {
    let holds = |kind| backend.list(kind).map(|l| !l.is_empty()).unwrap_or(false);
    if holds(FileKind::Key) || holds(FileKind::Snapshot) || holds(FileKind::Index) {
        return Error::corrupt(
            "config",
            format!(
                "missing at {}, which holds key slots, index files or snapshots: the \
                 repository is damaged; restore `config` from a copy (running init here \
                 is refused)",
                backend.location()
            ),
        );
    }
    Error::RepositoryNotFound(backend.location())
}

fn is_known_feature(f: &str) -> bool {
    KNOWN_FEATURES.contains(&f)
}

impl Repository {
    /// Creates a repository with a new master secret and one key slot.
    pub fn init(backend: Arc<dyn Backend>, secret: &Secret, opts: InitOptions) -> Result<Self> {
        match backend.read(FileKind::Config, "") {
            Ok(_) => {
                return Err(Error::invalid(format!(
                    "a repository already exists at {}",
                    backend.location()
                )))
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
        if let e @ Error::Corrupt { .. } = missing_config(backend.as_ref()) {
            return Err(e);
        }
        let master = MasterSecret::generate();
        let chunking = opts
            .chunking_secret
            .unwrap_or_else(|| ChunkingSecret::derive(&master));
        let mut config = Config::new(chunking);
        config.compression_level = opts.compression_level;
        config.append_only = opts.append_only;
        config.pack_size = opts.pack_size.clamp(1 << 20, 1 << 30);
        if !(0..=22).contains(&opts.compression_level) {
            return Err(Error::invalid(format!(
                "compression level {} is out of range 0..=22",
                opts.compression_level
            )));
        }
        if let Some(p) = opts.profiles {
            for params in p.values() {
                params.validate()?;
            }
            if !p.contains_key(crate::config::PROFILE_FILES) {
                return Err(Error::invalid("chunking profiles must include \"files\""));
            }
            config.profiles = p;
        }
        let slot = KeySlot::create(&master, secret, opts.argon2, &opts.label, false)?;
        let key_id = KeyId(crate::id::random_bytes());
        // Key first, config last: a repository without config does not exist.
        backend.create(
            FileKind::Key,
            &key_id.to_hex(),
            Bytes::from(slot.to_bytes()),
        )?;
        let meta = Keys::meta_only(&master);
        let bytes = envelope::seal(EnvelopeKind::Config, FORMAT_VERSION, &meta, &config);
        backend.create(FileKind::Config, "", Bytes::from(bytes))?;
        let keys = Keys::derive(&master, &config.chunking_secret);
        Ok(Self::assemble(
            backend,
            config,
            keys,
            master,
            (key_id, false),
            MemIndex::new(),
        ))
    }

    /// Opens a repository with a secret that one of its key slots accepts,
    /// and loads the index.
    pub fn open(backend: Arc<dyn Backend>, secret: &Secret) -> Result<Self> {
        Self::open_with(backend, secret, &OpenOptions::default())
    }

    /// As [`Repository::open`], with options (a key slot hint).
    pub fn open_with(
        backend: Arc<dyn Backend>,
        secret: &Secret,
        opts: &OpenOptions,
    ) -> Result<Self> {
        let location = backend.location();
        let raw = match backend.read(FileKind::Config, "") {
            Ok(b) => b,
            Err(e) if e.is_not_found() => return Err(missing_config(backend.as_ref())),
            Err(e) => return Err(e),
        };
        if raw.len() < 4 || &raw[..3] != envelope::MAGIC || raw[3] != b'C' {
            return Err(Error::NotARepository(
                location,
                "its config object is not a cairn config".into(),
            ));
        }
        envelope::check_header(EnvelopeKind::Config, FORMAT_VERSION, &raw, "config")?;
        let unlocked = crate::unlock::unlock(backend.as_ref(), secret, opts.key_hint.as_deref())?;
        let (key_id, master) = ((unlocked.key_id, unlocked.append_only), unlocked.master);
        let meta = Keys::meta_only(&master);
        let config: Config =
            envelope::open(EnvelopeKind::Config, FORMAT_VERSION, &meta, &raw, "config")?;
        if config.version != FORMAT_VERSION {
            return Err(Error::corrupt(
                "config",
                format!(
                    "config says version {} inside a version {FORMAT_VERSION} envelope",
                    config.version
                ),
            ));
        }
        config.validate()?;
        if let Some(f) = config.features.iter().find(|f| !is_known_feature(f)) {
            return Err(Error::UnsupportedVersion {
                what: format!("repository (mandatory feature {f:?} unknown to this build)"),
                found: config.version,
                supported: FORMAT_VERSION,
            });
        }
        let keys = Keys::derive(&master, &config.chunking_secret);
        let repo = Self::assemble(backend, config, keys, master, key_id, MemIndex::new());
        repo.reload_index()?;
        Ok(repo)
    }
}
