//! S3/MinIO bucket adapter for cairn.
//!
//! Backup lists a bucket (or a prefix of it) and stores each object as a
//! named stream of one snapshot, with its key, content type, user metadata,
//! ETag, size and last-modified time. Objects stream through the engine,
//! never whole in memory; an object whose ETag, size and last-modified time
//! match the parent snapshot is not read again. Restore writes objects back
//! with their content type and user metadata (large ones by multipart
//! upload). Object storage access goes through `object_store`.

mod backup;
mod bucket;
mod component;
mod names;
mod restore;

pub use backup::{backup, S3BackupOptions};
pub use bucket::Bucket;
pub use component::{from_settings, S3Component};
pub use names::{key_of_path, stream_name};
pub use restore::{restore, S3RestoreOptions, S3RestoreReport};

/// Node info keys written by this adapter.
pub mod info {
    /// The exact object key.
    pub const KEY: &str = "s3.key";
    /// ETag as the server reported it.
    pub const ETAG: &str = "s3.etag";
    /// Last-modified time, RFC 3339.
    pub const LAST_MODIFIED: &str = "s3.last_modified";
    /// Object size in bytes.
    pub const SIZE: &str = "s3.size";
    /// Content-Type.
    pub const CONTENT_TYPE: &str = "s3.content_type";
    /// Prefix of user metadata entries (`s3.meta.<name>`).
    pub const META_PREFIX: &str = "s3.meta.";
}
