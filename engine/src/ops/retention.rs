//! Retention policies: which snapshots `forget` keeps, and why.
//!
//! The semantics follow restic's `forget` (in UTC):
//! - snapshots are grouped (by host, tags and/or paths), and each group is
//!   decided on its own;
//! - count rules (`last`, `hourly`, `daily`, `weekly`, `monthly`, `yearly`)
//!   walk a group newest first and keep a snapshot when the rule still has
//!   count left and the snapshot's bucket (hour, day, ISO week, month, year)
//!   differs from the last bucket that rule kept; `-1` means unlimited;
//! - `within` keeps everything no older than the duration before the
//!   group's newest snapshot; `tag` keeps every snapshot with that tag;
//! - a snapshot is kept when any rule keeps it, and the reasons are all the
//!   rules that did.

use crate::error::{Error, Result};
use crate::id::SnapshotId;
use crate::snapshot::Snapshot;
use chrono::{DateTime, Datelike, Timelike, Utc};
use std::collections::BTreeMap;

/// How many per bucket kind to keep (`None` = rule not set, `Some(-1)` =
/// unlimited).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Newest N snapshots.
    pub last: Option<i64>,
    /// Newest snapshot of each of the N most recent hours with snapshots.
    pub hourly: Option<i64>,
    /// ... days.
    pub daily: Option<i64>,
    /// ... ISO weeks.
    pub weekly: Option<i64>,
    /// ... months.
    pub monthly: Option<i64>,
    /// ... years.
    pub yearly: Option<i64>,
    /// Keep all within this many seconds of the group's newest snapshot.
    pub within_secs: Option<i64>,
    /// Keep all snapshots with any of these tags.
    pub tags: Vec<String>,
}

/// What identifies a group of snapshots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupBy {
    /// Same host.
    pub host: bool,
    /// Same set of tags.
    pub tags: bool,
    /// Same set of paths.
    pub paths: bool,
}

impl Default for GroupBy {
    /// restic's default: host and paths.
    fn default() -> Self {
        GroupBy {
            host: true,
            tags: false,
            paths: true,
        }
    }
}

impl GroupBy {
    /// Parses `host,tags,paths` (any subset) or `none`.
    pub fn parse(s: &str) -> Result<Self> {
        let mut g = GroupBy {
            host: false,
            tags: false,
            paths: false,
        };
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "host" => g.host = true,
                "tags" => g.tags = true,
                "paths" => g.paths = true,
                "none" => {}
                other => {
                    return Err(Error::invalid(format!(
                        "unknown group-by key {other:?}: use host, tags, paths or none"
                    )))
                }
            }
        }
        Ok(g)
    }

    fn key(&self, s: &Snapshot) -> String {
        let mut tags = s.tags.clone();
        tags.sort();
        let mut paths = s.paths.clone();
        paths.sort();
        format!(
            "{}|{}|{}",
            if self.host { s.host.as_str() } else { "" },
            if self.tags {
                tags.join(",")
            } else {
                String::new()
            },
            if self.paths {
                paths.join("\n")
            } else {
                String::new()
            }
        )
    }
}

/// The decision for one snapshot.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Decision {
    /// The snapshot.
    pub id: SnapshotId,
    /// Kept or to be removed.
    pub keep: bool,
    /// Rules that kept it (empty when removed).
    pub reasons: Vec<String>,
    /// The group it was decided in.
    pub group: String,
}

/// Parses durations like `30d`, `12h`, `1y6m` (y = 365 days, m = 30 days,
/// w = 7 days, d = day, h = hour).
pub fn parse_duration(s: &str) -> Result<i64> {
    let mut total = 0i64;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: i64 = num
            .parse()
            .map_err(|_| Error::invalid(format!("bad duration {s:?}")))?;
        num.clear();
        let unit = match c {
            'y' => 365 * 86400,
            'm' => 30 * 86400,
            'w' => 7 * 86400,
            'd' => 86400,
            'h' => 3600,
            _ => {
                return Err(Error::invalid(format!(
                    "bad duration {s:?}: units are y, m, w, d, h"
                )))
            }
        };
        total += n * unit;
    }
    if !num.is_empty() || total == 0 {
        return Err(Error::invalid(format!(
            "bad duration {s:?}: like 30d, 12h or 1y6m"
        )));
    }
    Ok(total)
}

impl RetentionPolicy {
    /// True when no rule is set (forget refuses to remove everything).
    pub fn is_empty(&self) -> bool {
        self == &RetentionPolicy::default()
    }

    /// Decides every snapshot. Input order does not matter.
    pub fn apply(
        &self,
        snaps: &[(SnapshotId, Snapshot)],
        group_by: GroupBy,
    ) -> Result<Vec<Decision>> {
        if self.is_empty() {
            return Err(Error::invalid(
                "no retention rule given: refusing to remove every snapshot",
            ));
        }
        let mut groups: BTreeMap<String, Vec<&(SnapshotId, Snapshot)>> = BTreeMap::new();
        for s in snaps {
            groups.entry(group_by.key(&s.1)).or_default().push(s);
        }
        let mut out = Vec::new();
        for (key, mut members) in groups {
            members.sort_by(|a, b| b.1.time_ns.cmp(&a.1.time_ns).then(b.0.cmp(&a.0)));
            out.extend(self.decide_group(&members, &key));
        }
        Ok(out)
    }

    fn decide_group(&self, members: &[&(SnapshotId, Snapshot)], group: &str) -> Vec<Decision> {
        type Bucket = fn(&DateTime<Utc>, usize) -> String;
        let rules: [(&str, Option<i64>, Bucket); 6] = [
            ("last", self.last, |_, i| i.to_string()),
            ("hourly", self.hourly, |t, _| {
                format!("{} {:02}", t.date_naive(), t.hour())
            }),
            ("daily", self.daily, |t, _| t.date_naive().to_string()),
            ("weekly", self.weekly, |t, _| {
                let w = t.iso_week();
                format!("{}-W{:02}", w.year(), w.week())
            }),
            ("monthly", self.monthly, |t, _| {
                format!("{}-{:02}", t.year(), t.month())
            }),
            ("yearly", self.yearly, |t, _| t.year().to_string()),
        ];
        let mut counters: Vec<(i64, Option<String>)> =
            rules.iter().map(|r| (r.1.unwrap_or(0), None)).collect();
        let newest = members.first().map(|s| s.1.time_ns).unwrap_or(0);
        let mut out = Vec::new();
        for (i, (id, snap)) in members.iter().map(|s| (&s.0, &s.1)).enumerate() {
            let t = DateTime::from_timestamp_nanos(snap.time_ns);
            let mut reasons = Vec::new();
            for (r, (count, last)) in rules.iter().zip(counters.iter_mut()) {
                if *count == 0 {
                    continue;
                }
                let bucket = (r.2)(&t, i);
                if last.as_deref() != Some(bucket.as_str()) {
                    reasons.push(format!("{} ({bucket})", r.0));
                    *last = Some(bucket);
                    if *count > 0 {
                        *count -= 1;
                    }
                }
            }
            if let Some(w) = self.within_secs {
                if snap.time_ns >= newest.saturating_sub(w.saturating_mul(1_000_000_000)) {
                    reasons.push("within".to_string());
                }
            }
            for tag in &self.tags {
                if snap.tags.contains(tag) {
                    reasons.push(format!("tag {tag}"));
                }
            }
            out.push(Decision {
                id: *id,
                keep: !reasons.is_empty(),
                reasons,
                group: group.replace('\n', ","),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30d").expect("ok"), 30 * 86400);
        assert_eq!(
            parse_duration("1y6m").expect("ok"),
            365 * 86400 + 180 * 86400
        );
        assert_eq!(parse_duration("12h").expect("ok"), 12 * 3600);
        assert!(parse_duration("12").is_err());
        assert!(parse_duration("3x").is_err());
        assert!(parse_duration("").is_err());
    }
}
