//! # cairn
//!
//! A content-addressed, deduplicating, encrypted backup engine.
//!
//! Inputs (file trees and named streams) are cut into chunks by keyed
//! FastCDC, named by keyed BLAKE3, compressed with zstd, sealed with
//! XChaCha20-Poly1305 and packed into immutable pack files. Snapshots point
//! at trees of nodes. The normative format is `docs/repository-format.md`.
//!
//! ```
//! use cairn::{backend::ObjectBackend, BackupOptions, InitOptions, Repository,
//!             RestoreOptions, Secret, StreamSource, Argon2Params};
//! use std::sync::Arc;
//!
//! # fn main() -> cairn::Result<()> {
//! let dir = std::env::temp_dir().join(format!("cairn-doc-{}", std::process::id()));
//! std::fs::create_dir_all(dir.join("src"))?;
//! std::fs::write(dir.join("src/hello.txt"), b"hello, world")?;
//!
//! // Init a repository (in memory here; `ObjectBackend::local` for a directory).
//! let backend = Arc::new(ObjectBackend::memory()?);
//! let secret = Secret::passphrase("correct horse battery staple");
//! let opts = InitOptions { argon2: Argon2Params::insecure_for_tests(), ..Default::default() };
//! let repo = Repository::init(backend.clone(), &secret, opts)?;
//!
//! // Back up a directory and a stream in one snapshot.
//! let result = repo.backup(BackupOptions {
//!     paths: vec![dir.join("src")],
//!     streams: vec![StreamSource::from_reader("db/dump.sql", &b"CREATE TABLE t();"[..])],
//!     ..Default::default()
//! })?;
//!
//! // List snapshots (reopening checks the key).
//! let repo = Repository::open(backend, &secret)?;
//! assert_eq!(repo.snapshots()?.len(), 1);
//!
//! // Restore the whole snapshot, and dump the stream.
//! let target = dir.join("restored");
//! repo.restore(&result.id, RestoreOptions { target: target.clone(), ..Default::default() })?;
//! let restored = target.join(dir.join("src/hello.txt").strip_prefix("/").unwrap());
//! assert_eq!(std::fs::read(restored)?, b"hello, world");
//! let mut out = Vec::new();
//! repo.dump(&result.id, "db/dump.sql", &mut out)?;
//! assert_eq!(out, b"CREATE TABLE t();");
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(())
//! # }
//! ```

pub mod backend;
pub mod blob;
pub mod chunker;
pub mod config;
pub mod crypto;
pub mod envelope;
pub mod error;
pub mod exclude;
#[doc(hidden)]
pub mod fuzz;
pub mod gc;
pub mod id;
pub mod index;
pub mod keyslot;
pub mod ops;
pub mod pack;
mod pool;
mod progress;
mod reader;
mod repo;
pub mod snapshot;
pub mod tree;
pub mod unlock;
mod writer;

pub use backend::{open_backend, BackendOptions};
pub use crypto::Argon2Params;
pub use error::{Error, Result};
pub use keyslot::Secret;
pub use ops::backup::{BackupOptions, BackupResult, ParentChoice, StreamSource};
pub use ops::restore::{RestoreOptions, RestoreSummary};
pub use ops::stats::RepoStats;
pub use progress::Progress;
pub use repo::{InitOptions, OpenOptions, Repository, SnapshotList};

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::io("", e)
    }
}
