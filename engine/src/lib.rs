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
//! use cairn::{ObjectBackend, BackupOptions, InitOptions, Repository,
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
//! let opts = InitOptions::default().argon2(Argon2Params::insecure_for_tests());
//! let repo = Repository::init(backend.clone(), &secret, opts)?;
//!
//! // Back up a directory and a stream in one snapshot.
//! let result = repo.backup(
//!     BackupOptions::default()
//!         .paths(vec![dir.join("src")])
//!         .streams(vec![StreamSource::from_reader("db/dump.sql", &b"CREATE TABLE t();"[..])]),
//! )?;
//!
//! // List snapshots (reopening checks the key).
//! let repo = Repository::open(backend, &secret)?;
//! assert_eq!(repo.snapshots()?.len(), 1);
//!
//! // Restore the whole snapshot, and dump the stream.
//! let target = dir.join("restored");
//! repo.restore(&result.id, RestoreOptions::new(&target))?;
//! let restored = target.join(dir.join("src/hello.txt").strip_prefix("/").unwrap());
//! assert_eq!(std::fs::read(restored)?, b"hello, world");
//! let mut out = Vec::new();
//! repo.dump(&result.id, "db/dump.sql", &mut out)?;
//! assert_eq!(out, b"CREATE TABLE t();");
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(())
//! # }
//! ```

mod backend;
mod blob;
mod chunker;
mod config;
mod crypto;
mod envelope;
mod error;
mod exclude;
#[doc(hidden)]
pub mod fuzz;
mod gc;
mod id;
mod index;
mod keyslot;
mod ops;
mod pack;
mod pool;
mod progress;
mod reader;
mod repo;
mod snapshot;
mod tree;
mod unlock;
mod writer;

pub use backend::{
    conformance, create_checked, open_backend, AsyncBridge, Backend, BackendOptions, DryRunBackend,
    FaultBackend, FaultPlan, FileKind, LocalBackend, ObjectBackend, ObjectInfo, RetryBackend,
    Scheme, ServerBusy, ThrottledBackend, SCHEMES,
};
#[cfg(feature = "s3")]
pub use backend::{parse_s3_url, s3_store, S3Options};
pub use chunker::ChunkerParams;
pub use config::{default_profiles, Config, PROFILE_DATABASE, PROFILE_DOCUMENTS, PROFILE_FILES};
pub use crypto::Argon2Params;
pub use error::{BoxError, Error, Result};
pub use exclude::{ExcludeRules, Excludes, CACHEDIR_TAG_SIGNATURE, SEED_TEMP_EXCLUDES};
pub use gc::SessionOptions;
pub use id::{BlobId, IndexId, KeyId, PackId, SnapshotId};
pub use keyslot::{KeySlot, Secret, SlotKind};
pub use ops::backup::{
    BackupOptions, BackupReport, Changes, FinishInfo, ParentChoice, StderrLog, StreamSource,
};
pub use ops::check::{Affected, CheckOptions, CheckReport, Problem, Subset};
pub use ops::check_progress::{CheckProgress, CHECK_PROGRESS_VERSION};
pub use ops::copy::{CopyOptions, CopyReport};
pub use ops::exclusive::Exclusive;
pub use ops::filter::{latest_per_group, SnapshotFilter};
pub use ops::forget::{ForgetOptions, ForgetReport};
pub use ops::keys::KeyOptions;
pub use ops::prune::{PruneOptions, PruneReport};
pub use ops::repair::{RepairOptions, RepairReport};
pub use ops::restore::{DumpReport, Overwrite, Owners, RestoreOptions, RestoreReport, TarReport};
pub use ops::retention::{
    parse_duration, parse_tag_list, CalendarDuration, Decision, GroupBy, RetentionPolicy,
};
pub use ops::rewrite::{RewriteOptions, RewriteReport};
pub use ops::snapshot_stats::SnapshotStats;
pub use ops::stats::{StatsOptions, StatsReport};
pub use ops::tag::TagChange;
pub use ops::walk::Change;
pub use pack::{PackBlob, PackHeader};
pub use progress::{InFlight, Progress};
pub use repo::{InitOptions, OpenOptions, Repository, SnapshotList};
pub use snapshot::{format_time, hostname, now_ns, Snapshot, Summary};
pub use tree::{Content, Hole, Meta, Node, NodeKind, Tree, Xattr, FLAG_CHANGED};

/// The format's building blocks, for golden, tamper, fuzz and benchmark
/// code that must reach below the API (pack writers, envelopes, key
/// slots, raw trees). Not part of the API: it changes without notice.
#[doc(hidden)]
pub mod raw {
    macro_rules! expose {
        ($($m:ident),*) => { $(pub mod $m { pub use crate::$m::*; })* };
    }
    expose!(
        backend, blob, chunker, config, crypto, envelope, error, exclude, gc, id, index, keyslot,
        pack, snapshot, tree, unlock
    );
    /// The operations' modules.
    pub mod ops {
        macro_rules! expose_ops {
            ($($m:ident),*) => { $(pub mod $m { pub use crate::ops::$m::*; })* };
        }
        expose_ops!(
            backup,
            check,
            check_progress,
            copy,
            filter,
            forget,
            keys,
            prune,
            refs,
            repair,
            restore,
            retention,
            stats,
            tag,
            walk
        );
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::io("", e)
    }
}
