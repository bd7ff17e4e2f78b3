//! Snapshots: the root of one backup.

use crate::id::BlobId;
use crate::id::SnapshotId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the snapshot structure.
pub const SNAPSHOT_VERSION: u32 = 1;

/// Counters of one backup run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Regular files in the snapshot.
    pub files: u64,
    /// Directories in the snapshot.
    pub dirs: u64,
    /// Named streams in the snapshot.
    pub streams: u64,
    /// Files skipped as unchanged (metadata matched the parent).
    pub unchanged_files: u64,
    /// Bytes read from sources.
    pub bytes_read: u64,
    /// Total logical size of the snapshot.
    pub total_bytes: u64,
    /// New blobs written.
    pub blobs_added: u64,
    /// Bytes of new blobs as stored (compressed and sealed).
    pub bytes_added: u64,
    /// Plaintext bytes of new data blobs.
    pub raw_bytes_added: u64,
    /// Entries that could not be read and were left out.
    pub errors: u64,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
}

/// One snapshot as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Time of the backup, Unix nanoseconds (UTC).
    pub time_ns: i64,
    /// Host name.
    pub host: String,
    /// User name.
    pub username: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Backed-up paths and stream names.
    pub paths: Vec<String>,
    /// What kind of source: "files", "stream", "postgres", ...
    pub source: String,
    /// The parent used to skip unchanged files.
    pub parent: Option<SnapshotId>,
    /// Root tree blob.
    pub tree: BlobId,
    /// Counters.
    pub summary: Summary,
    /// Program and version that wrote it.
    pub program: String,
    /// Facts recorded by the source (server versions, database sizes, ...).
    pub info: BTreeMap<String, String>,
}

impl Snapshot {
    /// The time as RFC 3339 UTC text.
    pub fn time_string(&self) -> String {
        format_time(self.time_ns)
    }
}

/// Formats Unix nanoseconds as RFC 3339 (UTC, seconds precision).
pub fn format_time(ns: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(ns)
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Now, in Unix nanoseconds.
pub fn now_ns() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
}

/// The host name of this machine.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// The current user name.
pub fn username() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::{self, EnvelopeKind};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trip(time_ns in any::<i64>(), host in ".{0,10}", tags in prop::collection::vec(".{0,5}", 0..3), files in any::<u64>()) {
            let s = Snapshot {
                time_ns, host, username: "u".into(), tags, paths: vec!["/x".into()], source: "files".into(),
                parent: Some(SnapshotId([1; 32])), tree: BlobId([2; 32]),
                summary: Summary { files, ..Summary::default() }, program: "cairn".into(), info: BTreeMap::new(),
            };
            let bytes = envelope::seal(EnvelopeKind::Snapshot, SNAPSHOT_VERSION, &[1; 32], &s);
            let back: Snapshot = envelope::open(EnvelopeKind::Snapshot, SNAPSHOT_VERSION, &[1; 32], &bytes, "s").expect("opens");
            prop_assert_eq!(back, s);
        }
    }

    #[test]
    fn formats_time() {
        assert_eq!(format_time(0), "1970-01-01T00:00:00Z");
    }
}
