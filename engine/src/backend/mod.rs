//! Storage: a small trait keyed by (file kind, name), and its
//! implementations.
//!
//! - `local`: a directory, with its own file code (syncs, no-replace
//!   renames, leftovers of interrupted writes);
//! - `bridge`: the private Tokio runtime object-store calls run on;
//! - `object`: anything `object_store` reaches: memory, and S3 with the
//!   `s3` feature (`s3`: its configuration; `transient`: which of its
//!   errors are retried, by kind);
//! - `retry` and `fault`: wrappers that retry transient errors and inject
//!   faults;
//! - `dryrun` and `throttle`: wrappers for `--dry-run` (writes kept in
//!   memory) and `--limit-upload`/`--limit-download`;
//! - `registry`: the schemes a location string may name;
//! - `conformance`: the checks every implementation passes.
//!
//! The trait is synchronous. Network I/O runs on a private Tokio runtime
//! inside the implementation, so callers may be plain threads or tasks of
//! their own runtime without risk of a nested-runtime panic.

mod bridge;
pub mod conformance;
mod dryrun;
mod fault;
mod local;
mod object;
mod registry;
mod retry;
#[cfg(feature = "s3")]
mod s3;
mod throttle;
mod transient;
mod verify;

pub use bridge::AsyncBridge;
pub use dryrun::DryRunBackend;
pub use fault::{FaultBackend, FaultPlan};
pub use local::{temporary_writer, LocalBackend};
pub use object::ObjectBackend;
pub use registry::{open_backend, BackendOptions, Scheme, SCHEMES};
pub use retry::RetryBackend;
#[cfg(feature = "s3")]
pub use s3::{parse_s3_url, s3_store, S3Options};
pub use throttle::ThrottledBackend;
pub use transient::ServerBusy;
pub use verify::create_checked;

use crate::error::Result;
use bytes::Bytes;
use std::ops::Range;

/// The kinds of repository objects, each in its own namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// The single `config` object.
    Config,
    /// Key slots, `keys/<id>`.
    Key,
    /// Index files, `index/<id>`.
    Index,
    /// Snapshots, `snapshots/<id>`.
    Snapshot,
    /// Packs, `data/<first two hex digits>/<id>`.
    Pack,
    /// Deletion plans written by prune, `garbage/<id>`.
    Plan,
    /// Markers of running backups, `sessions/<id>`.
    Session,
    /// Progress of rotating data checks, `checks/<id>`.
    Check,
}

impl FileKind {
    /// Human name used in messages.
    pub fn name(self) -> &'static str {
        match self {
            FileKind::Config => "config",
            FileKind::Key => "key",
            FileKind::Index => "index",
            FileKind::Snapshot => "snapshot",
            FileKind::Pack => "pack",
            FileKind::Plan => "deletion plan",
            FileKind::Session => "session",
            FileKind::Check => "check progress",
        }
    }

    /// Object path of `name` relative to the repository root.
    pub fn path(self, name: &str) -> String {
        match self {
            FileKind::Config => "config".to_string(),
            FileKind::Key => format!("keys/{name}"),
            FileKind::Index => format!("index/{name}"),
            FileKind::Snapshot => format!("snapshots/{name}"),
            FileKind::Pack => format!("data/{}/{name}", name.get(..2).unwrap_or("00")),
            FileKind::Plan => format!("garbage/{name}"),
            FileKind::Session => format!("sessions/{name}"),
            FileKind::Check => format!("checks/{name}"),
        }
    }

    /// Directory prefix listed for this kind.
    pub fn dir(self) -> &'static str {
        match self {
            FileKind::Config => "",
            FileKind::Key => "keys",
            FileKind::Index => "index",
            FileKind::Snapshot => "snapshots",
            FileKind::Pack => "data",
            FileKind::Plan => "garbage",
            FileKind::Session => "sessions",
            FileKind::Check => "checks",
        }
    }
}

/// One listed object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Object name (a hex id, or `config`).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Creation time by the storage's clock, Unix nanoseconds.
    pub modified_ns: i64,
}

/// Object storage as the engine needs it.
///
/// Contract for every implementation:
/// - Objects are immutable. Readers never observe a partially written object.
/// - Errors map to [`crate::Error::NotFound`] for a missing object,
///   [`crate::Error::AlreadyExists`] for a create-only conflict,
///   [`crate::Error::Unavailable`] for a failure worth retrying (decided by
///   the error's kind), and [`crate::Error::Backend`] for everything else.
/// - Every method may be called from many threads at once, and from inside
///   or outside a Tokio runtime.
pub trait Backend: Send + Sync + std::fmt::Debug {
    /// Human-readable location, for messages.
    fn location(&self) -> String;

    /// Stores a new object. Fails with `AlreadyExists` when the name is
    /// taken; an existing object is never overwritten. When this returns
    /// `Ok`, the object is complete and visible to every reader.
    fn create(&self, kind: FileKind, name: &str, data: Bytes) -> Result<()>;

    /// As [`Backend::create`], with the content given as consecutive parts
    /// (a pack's blobs), so they need not be copied into one buffer.
    fn create_parts(&self, kind: FileKind, name: &str, parts: Vec<Bytes>) -> Result<()> {
        let whole: Vec<u8> = parts.concat();
        self.create(kind, name, Bytes::from(whole))
    }

    /// Reads a whole object. `NotFound` when absent.
    fn read(&self, kind: FileKind, name: &str) -> Result<Bytes>;

    /// Reads `range` of an object. A range past the end is an error, never a
    /// short read passed off as complete.
    fn read_range(&self, kind: FileKind, name: &str, range: Range<u64>) -> Result<Bytes>;

    /// Lists the objects of a kind: name (not path), size, and the time
    /// the storage recorded for their creation (its own clock, so times of
    /// different objects compare even when clients' clocks differ). The
    /// order is unspecified. An empty namespace is an empty list.
    fn list_info(&self, kind: FileKind) -> Result<Vec<ObjectInfo>>;

    /// Names and sizes only (see [`Backend::list_info`]).
    fn list(&self, kind: FileKind) -> Result<Vec<(String, u64)>> {
        Ok(self
            .list_info(kind)?
            .into_iter()
            .map(|o| (o.name, o.size))
            .collect())
    }

    /// Size of one object. `NotFound` when absent. The default lists the
    /// namespace; implementations with a cheap metadata call override it.
    fn size(&self, kind: FileKind, name: &str) -> Result<u64> {
        self.list(kind)?
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s)
            .ok_or_else(|| crate::Error::NotFound {
                kind: kind.name().into(),
                name: name.into(),
            })
    }

    /// Temporaries that interrupted writes left in a kind's namespace
    /// (never objects). `delete` removes them by the names listed here.
    /// Stores with atomic writes have none.
    fn list_leftovers(&self, _kind: FileKind) -> Result<Vec<ObjectInfo>> {
        Ok(Vec::new())
    }

    /// Deletes an object. Deleting a missing object is not an error.
    fn delete(&self, kind: FileKind, name: &str) -> Result<()>;

    /// How many requests are worth running at once (upload threads, range
    /// reads): small for local disks, larger for high-latency stores.
    fn concurrency(&self) -> usize {
        2
    }

    /// Longest range worth one read request. Each read thread holds one
    /// range, so this bounds restore memory; stores with a high latency per
    /// request (S3) want longer ones. Measured on a local 2 GB restore:
    /// whole-pack ranges peaked at 134-149 MiB, 2 MiB ranges at 82-89 MiB,
    /// for about 2% of wall time (docs/performance.md).
    fn max_range_read(&self) -> u64 {
        2 << 20
    }
}
