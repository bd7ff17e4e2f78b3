//! Recovery targets: a time, an LSN, a transaction id, or the end of the
//! archive.

use super::name::{format_lsn, parse_lsn};
use cairn::{Error, Result};

/// Where a point-in-time restore stops.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Replay every archived segment.
    Latest,
    /// Stop as soon as the base backup is consistent.
    Immediate,
    /// Stop before the first transaction committed after this time (Unix
    /// nanoseconds).
    Time(i64),
    /// Stop at this WAL position.
    Lsn(u64),
    /// Stop after this transaction id committed.
    Xid(u64),
}

/// What the server does at the target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Action {
    /// Stay read-only and wait for `pg_wal_replay_resume()` (PostgreSQL's
    /// default: look before you commit to the new timeline).
    #[default]
    Pause,
    /// End recovery and accept writes.
    Promote,
    /// Stop the server.
    Shutdown,
}

impl Action {
    /// Parses `pause`, `promote` or `shutdown`.
    pub fn parse(s: &str) -> Result<Action> {
        match s {
            "pause" => Ok(Action::Pause),
            "promote" => Ok(Action::Promote),
            "shutdown" => Ok(Action::Shutdown),
            _ => Err(Error::invalid(format!(
                "bad target action {s:?}: pause, promote or shutdown"
            ))),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Action::Pause => "pause",
            Action::Promote => "promote",
            Action::Shutdown => "shutdown",
        }
    }
}

/// Parses a time: RFC 3339 (`2026-12-01T10:00:00Z`), or
/// `2026-12-01 10:00:00[.ffffff][+01:00]` (no zone: UTC).
pub fn parse_time(s: &str) -> Result<i64> {
    let t = s.trim();
    let parsed = chrono::DateTime::parse_from_rfc3339(t)
        .or_else(|_| chrono::DateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f%#z"))
        .map(|d| d.with_timezone(&chrono::Utc))
        .or_else(|_| {
            chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f").map(|n| n.and_utc())
        })
        .map_err(|_| {
            Error::invalid(format!(
                "bad time {s:?}: like 2026-12-01T10:00:00Z or \"2026-12-01 10:00:00.5+01:00\""
            ))
        })?;
    parsed
        .timestamp_nanos_opt()
        .ok_or_else(|| Error::invalid(format!("time {s:?} is out of range")))
}

/// A time as PostgreSQL reads it, in UTC with microseconds.
pub fn pg_time(ns: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(ns)
        .format("%Y-%m-%d %H:%M:%S%.6f+00")
        .to_string()
}

impl Target {
    /// From the command line's choices; at most one may be given.
    pub fn from_flags(
        time: Option<&str>,
        lsn: Option<&str>,
        xid: Option<&str>,
        immediate: bool,
    ) -> Result<Target> {
        let given = [time.is_some(), lsn.is_some(), xid.is_some(), immediate];
        if given.iter().filter(|g| **g).count() > 1 {
            return Err(Error::invalid(
                "give one of --target-time, --target-lsn, --target-xid and --target-immediate",
            ));
        }
        if let Some(t) = time {
            return Ok(Target::Time(parse_time(t)?));
        }
        if let Some(l) = lsn {
            return Ok(Target::Lsn(parse_lsn(l)?));
        }
        if let Some(x) = xid {
            return x
                .trim()
                .parse()
                .map(Target::Xid)
                .map_err(|_| Error::invalid(format!("bad transaction id {x:?}")));
        }
        Ok(if immediate {
            Target::Immediate
        } else {
            Target::Latest
        })
    }

    /// In words, for reports.
    pub fn describe(&self) -> String {
        match self {
            Target::Latest => "the end of the archived WAL".into(),
            Target::Immediate => "the end of the base backup".into(),
            Target::Time(t) => format!("time {}", pg_time(*t)),
            Target::Lsn(l) => format!("LSN {}", format_lsn(*l)),
            Target::Xid(x) => format!("transaction {x}"),
        }
    }

    /// The `postgresql.auto.conf` lines for this target.
    pub fn settings(&self, action: Action) -> Vec<(String, String)> {
        let mut v = vec![("recovery_target_timeline".to_string(), "latest".to_string())];
        let target = match self {
            Target::Latest => None,
            Target::Immediate => Some(("recovery_target", "immediate".to_string())),
            Target::Time(t) => Some(("recovery_target_time", pg_time(*t))),
            Target::Lsn(l) => Some(("recovery_target_lsn", format_lsn(*l))),
            Target::Xid(x) => Some(("recovery_target_xid", x.to_string())),
        };
        if let Some((k, val)) = target {
            v.push((k.to_string(), val));
            v.push(("recovery_target_action".into(), action.as_str().into()));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_in_both_forms_and_zones_count() {
        let a = parse_time("2026-12-01T10:00:00Z").expect("step failed");
        assert_eq!(parse_time("2026-12-01 10:00:00").expect("step failed"), a);
        assert_eq!(
            parse_time("2026-12-01 11:00:00+01:00").expect("step failed"),
            a
        );
        assert_eq!(
            parse_time("2026-12-01 10:00:00.25").expect("step failed"),
            a + 250_000_000
        );
        assert_eq!(pg_time(a + 250_000_000), "2026-12-01 10:00:00.250000+00");
        assert!(parse_time("yesterday").is_err());
    }

    #[test]
    fn one_target_at_most() {
        assert!(
            Target::from_flags(Some("2026-12-01T10:00:00Z"), Some("0/1"), None, false).is_err()
        );
        assert_eq!(
            Target::from_flags(None, None, None, false).expect("step failed"),
            Target::Latest
        );
        assert_eq!(
            Target::from_flags(None, Some("0/10"), None, false).expect("step failed"),
            Target::Lsn(16)
        );
        let s = Target::Xid(7).settings(Action::Promote);
        assert!(s.contains(&("recovery_target_xid".into(), "7".into())));
        assert!(s.contains(&("recovery_target_action".into(), "promote".into())));
    }
}
