//! The one error type of the engine.

use std::path::PathBuf;

/// Result alias used across the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The error a storage or I/O library gave, kept as the source of ours.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong inside the engine, by meaning: each
/// variant means one thing, and a caller may match on it (new variants may
/// be added, so a match needs a catch-all arm).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No repository exists at this location (no `config` object).
    #[error("no repository at {0}: run `init` first or check the location")]
    RepositoryNotFound(String),
    /// Something is stored at this location, but it is not a cairn repository.
    #[error("{0} is not a cairn repository: {1}")]
    NotARepository(String, String),
    /// The repository was written by a newer format version.
    #[error("unsupported {what} version {found} (this build supports up to {supported})")]
    UnsupportedVersion {
        /// Which file or structure.
        what: String,
        /// Version found.
        found: u32,
        /// Highest version this build reads.
        supported: u32,
    },
    /// No key slot accepted the given secret.
    #[error("wrong key: no key slot of this repository accepts the given secret")]
    WrongKey,
    /// No key slot that was tried accepted the secret, and some slots were
    /// not tried because of their cost (name yours with a key hint).
    #[error(
        "wrong key: none of the {tried} key slot(s) tried accepts the given secret; {skipped} \
         costly slot(s) were not tried (name your slot with --key-hint ID, see `key list`)"
    )]
    KeySlotsSkipped {
        /// Slots tried.
        tried: usize,
        /// Slots left untried because of their cost.
        skipped: usize,
    },
    /// A repository object does not exist.
    #[error("{kind} {name} not found in the repository")]
    NotFound {
        /// File kind, as in [`crate::backend::FileKind`].
        kind: String,
        /// Object name (usually a hex id).
        name: String,
    },
    /// An object was expected to be new but already exists (create-only write).
    #[error("{kind} {name} already exists; existing objects are never overwritten")]
    AlreadyExists {
        /// File kind.
        kind: String,
        /// Object name.
        name: String,
    },
    /// Stored bytes failed authentication, decoding or a consistency check.
    #[error("corrupt {what}: {detail}")]
    Corrupt {
        /// The object or structure that is damaged, named so a user can find it.
        what: String,
        /// What exactly is wrong.
        detail: String,
    },
    /// A storage operation failed.
    #[error("storage error during {op}: {detail}")]
    Backend {
        /// Operation and object.
        op: String,
        /// What went wrong, in words.
        detail: String,
        /// The storage library's error, when there is one.
        #[source]
        source: Option<BoxError>,
    },
    /// A storage operation failed in a way that may succeed when retried
    /// (timeout, throttling, 5xx, connection reset).
    #[error("storage temporarily unavailable during {op}: {detail}")]
    Unavailable {
        /// Operation and object.
        op: String,
        /// What went wrong, in words.
        detail: String,
        /// The storage library's error, when there is one.
        #[source]
        source: Option<BoxError>,
    },
    /// A local file operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The local path involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A data source (stdin, a command, an adapter) failed.
    #[error("source {name} failed: {detail}")]
    Source {
        /// Stream or source name.
        name: String,
        /// What went wrong (for commands: exit status and stderr).
        detail: String,
    },
    /// The caller passed something invalid.
    #[error("{0}")]
    InvalidInput(String),
    /// Deletion refused: the repository or key slot is append-only.
    #[error("{0} refused: this repository (or the key used to open it) is append-only")]
    AppendOnly(String),
    /// A backup lost the protection of its session markers long enough for
    /// prune to treat it as dead, and prune planned deletions meanwhile; no
    /// snapshot was stored.
    #[error("backup session lost: {0}")]
    SessionLost(String),
    /// The operation was stopped on request (a signal); what it stored is
    /// kept (for a backup: stored and indexed, reused by the next one).
    #[error("interrupted: {0}")]
    Interrupted(String),
    /// The last key slot cannot be removed.
    #[error("cannot remove the last key slot: the repository would become unreadable")]
    LastKeySlot,
    /// cairn itself failed: a worker thread panicked or stopped, or an
    /// invariant broke. Nothing the caller passed or stored is at fault;
    /// please report it.
    #[error("internal error (a bug in cairn; please report it): {0}")]
    Internal(String),
}

impl Error {
    /// Shorthand for a [`Error::Corrupt`].
    pub fn corrupt(what: impl Into<String>, detail: impl std::fmt::Display) -> Self {
        Error::Corrupt {
            what: what.into(),
            detail: detail.to_string(),
        }
    }

    /// Shorthand for an [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// A storage failure, keeping the library's error as the source.
    pub fn backend(op: impl Into<String>, source: impl Into<BoxError>) -> Self {
        let source = source.into();
        Error::Backend {
            op: op.into(),
            detail: source.to_string(),
            source: Some(source),
        }
    }

    /// A storage failure worth retrying, keeping the library's error.
    pub fn unavailable(op: impl Into<String>, source: impl Into<BoxError>) -> Self {
        let source = source.into();
        Error::Unavailable {
            op: op.into(),
            detail: source.to_string(),
            source: Some(source),
        }
    }

    /// Shorthand for [`Error::Internal`].
    pub fn internal(msg: impl std::fmt::Display) -> Self {
        Error::Internal(msg.to_string())
    }

    /// Shorthand for [`Error::InvalidInput`].
    pub fn invalid(msg: impl std::fmt::Display) -> Self {
        Error::InvalidInput(msg.to_string())
    }

    /// True when the error means "this object does not exist".
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }
}
