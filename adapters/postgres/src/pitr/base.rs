//! Base backups: `pg_basebackup` in tar format, streamed from a live
//! server into one snapshot (`kind = "postgres-base"`), with the WAL
//! range it needs recorded in the snapshot.

use super::catalog::BASE_SOURCE;
use super::name::{lsn_segment, parse_lsn, DEFAULT_SEGMENT_SIZE};
use crate::tools::psql;
use crate::{PgConn, Tools};
use cairn::{Error, Result, Snapshot, SnapshotId, StreamSource};
use cairn_plan::{keys, Capture, CaptureCx};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Stream name of the base backup's tar.
pub const BASE_STREAM: &str = "postgres-base/base.tar";

/// How to take a base backup.
#[derive(Clone, Debug, Default)]
pub struct BaseOptions {
    /// A replication connection (a role with `REPLICATION`).
    pub conn: PgConn,
    /// Client tools.
    pub tools: Tools,
    /// Spread the starting checkpoint over `checkpoint_completion_target`
    /// instead of forcing it at once.
    pub spread_checkpoint: bool,
}

/// What a base backup snapshot records, read back.
#[derive(Clone, Debug)]
pub struct BaseInfo {
    /// The snapshot.
    pub id: SnapshotId,
    /// WAL position where the backup started.
    pub start_lsn: u64,
    /// WAL position where it stopped: recovery is consistent from here.
    pub stop_lsn: u64,
    /// Timeline at the start.
    pub timeline: u32,
    /// The server's WAL segment size.
    pub segment_size: u64,
    /// When the backup ended, Unix nanoseconds.
    pub ended_ns: i64,
}

impl BaseInfo {
    /// Reads the facts of a base backup snapshot; `None` for another one
    /// (or one written without them).
    pub fn of(id: &SnapshotId, s: &Snapshot) -> Option<BaseInfo> {
        if s.source != BASE_SOURCE {
            return None;
        }
        let m = |k: &str| s.info.get(&format!("{}{k}", keys::MARKER));
        let ended_ns = s
            .info
            .get(keys::ENDED)
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .and_then(|t| t.timestamp_nanos_opt())?;
        Some(BaseInfo {
            id: *id,
            start_lsn: parse_lsn(m("start_lsn")?).ok()?,
            stop_lsn: parse_lsn(m("stop_lsn")?).ok()?,
            timeline: m("timeline")?.parse().ok()?,
            segment_size: s
                .info
                .get("postgres-base.segment_size")
                .and_then(|v| v.parse().ok())
                .unwrap_or(DEFAULT_SEGMENT_SIZE),
            ended_ns,
        })
    }

    /// The segment number the backup started in.
    pub fn start_segment(&self) -> u64 {
        lsn_segment(self.start_lsn, self.segment_size)
    }

    /// The segment number it stopped in.
    pub fn stop_segment(&self) -> u64 {
        lsn_segment(self.stop_lsn, self.segment_size)
    }
}

/// `pg_basebackup -v` reports "write-ahead log start point: 0/2000028 on
/// timeline 1" and "write-ahead log end point: 0/2000100" on stderr.
pub(crate) fn parse_positions(stderr: &str) -> Result<BTreeMap<String, String>> {
    let find = |marker: &str| {
        stderr.lines().find_map(|l| {
            l.split_once(marker)
                .map(|(_, rest)| rest.trim().to_string())
        })
    };
    let start = find("write-ahead log start point:");
    let end = find("write-ahead log end point:");
    let (Some(start), Some(end)) = (start, end) else {
        return Err(Error::Source {
            name: "pg_basebackup".into(),
            detail: format!(
                "its output did not name the WAL start and end points, so the backup's WAL range \
                 is unknown: {}",
                stderr.trim()
            ),
        });
    };
    let (start_lsn, timeline) = match start.split_once(" on timeline ") {
        Some((l, t)) => (l.trim().to_string(), t.trim().to_string()),
        None => (start.clone(), "1".to_string()),
    };
    parse_lsn(&start_lsn)?;
    parse_lsn(&end)?;
    let mut m = BTreeMap::new();
    m.insert("start_lsn".to_string(), start_lsn);
    m.insert("stop_lsn".to_string(), end);
    m.insert("timeline".to_string(), timeline);
    Ok(m)
}

fn setting(o: &BaseOptions, name: &str) -> Result<String> {
    let db = crate::backup::maintenance_db(&o.conn);
    Ok(psql(
        &o.tools,
        &o.conn,
        Some(&db),
        &[("name", name)],
        "SELECT setting FROM pg_settings WHERE name = :'name';\n",
    )?
    .trim()
    .to_string())
}

/// The base backup stream and its facts.
pub(crate) fn capture(o: &BaseOptions, cx: &CaptureCx<'_>) -> Result<Capture> {
    let version = o.tools.version("pg_basebackup")?;
    let segment_size = setting(o, "wal_segment_size")?;
    let archive_mode = setting(o, "archive_mode")?;
    let mut cmd = o.conn.command(&o.tools.path("pg_basebackup"), None);
    cmd.args([
        "--pgdata=-",
        "--format=tar",
        "--wal-method=fetch",
        "--verbose",
    ]);
    cmd.arg("--label=cairn base backup");
    cmd.arg(if o.spread_checkpoint {
        "--checkpoint=spread"
    } else {
        "--checkpoint=fast"
    });
    let log = Arc::new(Mutex::new(Vec::new()));
    let stream =
        StreamSource::from_process_logged(BASE_STREAM, cmd, cx.cancel.clone(), Some(log.clone()))?
            .with_profile(cairn::PROFILE_DATABASE);
    let mut c = Capture::streams(vec![stream]).consistency(
        "a base backup: consistent once WAL is replayed from marker.start_lsn to \
         marker.stop_lsn (the WAL for that range is inside the tar); later points need the \
         archived WAL",
    );
    c = c
        .info(BASE_SOURCE, "pg_basebackup_version", version)
        .info(BASE_SOURCE, "segment_size", segment_size)
        .info(BASE_SOURCE, "archive_mode", archive_mode)
        .info(BASE_SOURCE, "connection", o.conn.redacted());
    c.marker_end = Some(Box::new(move || {
        let text = log.lock().map(|l| l.clone()).unwrap_or_default();
        parse_positions(&String::from_utf8_lossy(&text))
    }));
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_read_from_verbose_output() {
        let text = "pg_basebackup: initiating base backup, waiting for checkpoint to complete\n\
                    pg_basebackup: write-ahead log start point: 0/2000028 on timeline 3\n\
                    pg_basebackup: write-ahead log end point: 0/2000100\n";
        let m = parse_positions(text).expect("step failed");
        assert_eq!(m["start_lsn"], "0/2000028");
        assert_eq!(m["stop_lsn"], "0/2000100");
        assert_eq!(m["timeline"], "3");
        assert!(parse_positions("pg_basebackup: base backup completed\n").is_err());
    }
}
