//! Retention policies: which snapshots `forget` keeps, and why.
//!
//! The semantics are restic's `forget` (restic's `ApplyPolicy`), with
//! snapshot times in UTC; `docs/maintenance.md` states every rule. In short:
//! - snapshots are grouped (by host, tags and/or paths), and each group is
//!   decided on its own, newest first (equal times: the larger id first);
//! - `tags` keeps every snapshot that carries all tags of at least one list;
//! - `within` keeps every snapshot newer than the group's latest snapshot
//!   minus a calendar duration (years and months are calendar years and
//!   months); the latest snapshot is the newest one not in the future;
//! - count rules (`last`, `hourly`, `daily`, `weekly`, `monthly`, `yearly`)
//!   keep a snapshot when the rule still has count left and the snapshot's
//!   bucket (hour, day, ISO week, month, year) differs from the last bucket
//!   that rule kept; `-1` means unlimited. While a rule still has count left
//!   when the walk reaches the group's oldest snapshot, it keeps that one too,
//!   even in an already kept bucket;
//! - `within_hourly` .. `within_yearly` keep the newest snapshot of every
//!   bucket among those `within` would keep for their own duration, and the
//!   group's oldest snapshot when it lies in that range;
//! - a snapshot is kept when any rule keeps it, and the reasons are all the
//!   rules that did.

use crate::error::{Error, Result};
use crate::id::SnapshotId;
use crate::snapshot::Snapshot;
use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Timelike, Utc};
use std::collections::BTreeMap;
use std::fmt;

/// What to keep. Counts: `None` or `Some(0)` = rule not set, `Some(-1)` =
/// unlimited; other negative counts are refused.
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
    /// Keep all newer than the group's latest snapshot minus this.
    pub within: Option<CalendarDuration>,
    /// Newest snapshot of each hour, among those newer than latest minus this.
    pub within_hourly: Option<CalendarDuration>,
    /// ... of each day.
    pub within_daily: Option<CalendarDuration>,
    /// ... of each ISO week.
    pub within_weekly: Option<CalendarDuration>,
    /// ... of each month.
    pub within_monthly: Option<CalendarDuration>,
    /// ... of each year.
    pub within_yearly: Option<CalendarDuration>,
    /// Keep every snapshot that has all tags of at least one of these lists
    /// (see [`parse_tag_list`]).
    pub tags: Vec<Vec<String>>,
}

/// A `--keep-within` duration: calendar years and months, days and hours,
/// subtracted from a time as restic does (years and months first, on the
/// calendar, then days, then hours).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CalendarDuration {
    /// Calendar years.
    pub years: u32,
    /// Calendar months.
    pub months: u32,
    /// Days.
    pub days: u32,
    /// Hours.
    pub hours: u32,
}

impl CalendarDuration {
    /// Parses `1y5m7d2h`: numbers followed by `y` (years), `m` (months),
    /// `d` (days), `h` (hours), in any order, each at most once. `w` (7
    /// days) is accepted too, a cairn addition. The total must not be zero.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = |why: &str| Error::invalid(format!("bad duration {s:?}: {why}"));
        let mut d = CalendarDuration::default();
        let mut weeks = None::<u32>;
        let mut seen = String::new();
        let mut num = String::new();
        for c in s.trim().chars() {
            if c.is_ascii_digit() {
                num.push(c);
                continue;
            }
            if num.is_empty() {
                return Err(bad("a unit must follow a number, like 30d or 1y6m"));
            }
            let n: u32 = num.parse().map_err(|_| bad("number too large"))?;
            num.clear();
            if seen.contains(c) {
                return Err(bad(&format!("unit {c:?} given twice")));
            }
            seen.push(c);
            match c {
                'y' => d.years = n,
                'm' => d.months = n,
                'w' => weeks = Some(n),
                'd' => d.days = n,
                'h' => d.hours = n,
                _ => return Err(bad("units are y, m, w, d, h")),
            }
        }
        if !num.is_empty() {
            return Err(bad("a number needs a unit (y, m, w, d, h)"));
        }
        if let Some(w) = weeks {
            d.days = w
                .checked_mul(7)
                .and_then(|w| w.checked_add(d.days))
                .ok_or_else(|| bad("number too large"))?;
        }
        if d.is_zero() {
            return Err(bad("like 30d, 12h or 1y6m, and not zero"));
        }
        Ok(d)
    }

    /// True when every part is zero (such a rule is not set).
    pub fn is_zero(&self) -> bool {
        *self == CalendarDuration::default()
    }

    /// `t` minus this duration: years and months on the calendar (a day
    /// that does not exist in the target month runs over into the next, so
    /// Mar 31 minus 1m is Mar 3 or Mar 2), then days, then hours. `None`
    /// when the result is beyond the calendar's range.
    pub fn before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let month_index = i64::from(t.year()) * 12 + i64::from(t.month0())
            - i64::from(self.years) * 12
            - i64::from(self.months);
        let year = i32::try_from(month_index.div_euclid(12)).ok()?;
        let month = u32::try_from(month_index.rem_euclid(12)).ok()? + 1;
        let first = NaiveDate::from_ymd_opt(year, month, 1)?;
        let day_offset = i64::from(t.day()) - 1 - i64::from(self.days);
        let date = first.checked_add_signed(TimeDelta::try_days(day_offset)?)?;
        date.and_time(t.time())
            .and_utc()
            .checked_sub_signed(TimeDelta::try_hours(i64::from(self.hours))?)
    }
}

impl fmt::Display for CalendarDuration {
    /// `1y2m3d4h`, zero parts left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, unit) in [
            (self.years, 'y'),
            (self.months, 'm'),
            (self.days, 'd'),
            (self.hours, 'h'),
        ] {
            if n != 0 {
                write!(f, "{n}{unit}")?;
            }
        }
        Ok(())
    }
}

/// Splits one `--keep-tag` value into its tag list: `a,b` means a snapshot
/// must carry both `a` and `b`; whitespace around each tag is dropped. An
/// empty value is the list `[""]`, which matches untagged snapshots.
pub fn parse_tag_list(s: &str) -> Vec<String> {
    s.split(',').map(|t| t.trim().to_string()).collect()
}

/// restic's tag-list match: every tag of `list` is on the snapshot, where an
/// empty tag reached before any mismatch matches a snapshot without tags.
fn has_tags(snapshot_tags: &[String], list: &[String]) -> bool {
    for tag in list {
        if tag.is_empty() && snapshot_tags.is_empty() {
            return true;
        }
        if !snapshot_tags.contains(tag) {
            return false;
        }
    }
    true
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
    /// Parses a comma-separated subset of `host`, `tags`, `paths` (restic's
    /// `hosts`, `tag` and `path` too); `none` or an empty string: no
    /// grouping.
    pub fn parse(s: &str) -> Result<Self> {
        let mut g = GroupBy {
            host: false,
            tags: false,
            paths: false,
        };
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "host" | "hosts" => g.host = true,
                "tags" | "tag" => g.tags = true,
                "paths" | "path" => g.paths = true,
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

/// Parses durations like `30d`, `12h`, `1y6m` into seconds (y = 365 days,
/// m = 30 days, w = 7 days, d = day, h = hour). Used for `prune --grace`;
/// `--keep-within*` use the calendar [`CalendarDuration`] instead.
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

type Bucket = fn(&DateTime<Utc>, usize) -> String;

fn hour_bucket(t: &DateTime<Utc>, _: usize) -> String {
    format!("{} {:02}", t.date_naive(), t.hour())
}
fn day_bucket(t: &DateTime<Utc>, _: usize) -> String {
    t.date_naive().to_string()
}
fn week_bucket(t: &DateTime<Utc>, _: usize) -> String {
    let w = t.iso_week();
    format!("{}-W{:02}", w.year(), w.week())
}
fn month_bucket(t: &DateTime<Utc>, _: usize) -> String {
    format!("{}-{:02}", t.year(), t.month())
}
fn year_bucket(t: &DateTime<Utc>, _: usize) -> String {
    t.year().to_string()
}
fn position_bucket(_: &DateTime<Utc>, i: usize) -> String {
    i.to_string()
}

impl RetentionPolicy {
    /// True when no rule is set (forget refuses to remove everything). A
    /// count of 0 and a zero duration are rules not set, as in restic.
    pub fn is_empty(&self) -> bool {
        let counts = [
            self.last,
            self.hourly,
            self.daily,
            self.weekly,
            self.monthly,
            self.yearly,
        ];
        let durations = [
            self.within,
            self.within_hourly,
            self.within_daily,
            self.within_weekly,
            self.within_monthly,
            self.within_yearly,
        ];
        counts.iter().all(|c| c.unwrap_or(0) == 0)
            && durations.iter().all(|d| d.is_none_or(|d| d.is_zero()))
            && self.tags.is_empty()
    }

    /// Decides every snapshot, with "now" the current time (only snapshots
    /// before it can be a group's latest). Input order does not matter.
    pub fn apply(
        &self,
        snaps: &[(SnapshotId, Snapshot)],
        group_by: GroupBy,
    ) -> Result<Vec<Decision>> {
        self.apply_at(snaps, group_by, crate::snapshot::now_ns())
    }

    /// [`apply`](Self::apply) with "now" given, in Unix nanoseconds.
    pub fn apply_at(
        &self,
        snaps: &[(SnapshotId, Snapshot)],
        group_by: GroupBy,
        now_ns: i64,
    ) -> Result<Vec<Decision>> {
        if self.is_empty() {
            return Err(Error::invalid(
                "no retention rule given: refusing to remove every snapshot",
            ));
        }
        for (name, c) in [
            ("last", self.last),
            ("hourly", self.hourly),
            ("daily", self.daily),
            ("weekly", self.weekly),
            ("monthly", self.monthly),
            ("yearly", self.yearly),
        ] {
            if c.unwrap_or(0) < -1 {
                return Err(Error::invalid(format!(
                    "keep-{name} {}: counts are N >= 0, or -1 for unlimited",
                    c.unwrap_or(0)
                )));
            }
        }
        let mut groups: BTreeMap<String, Vec<&(SnapshotId, Snapshot)>> = BTreeMap::new();
        for s in snaps {
            groups.entry(group_by.key(&s.1)).or_default().push(s);
        }
        let mut out = Vec::new();
        for (key, mut members) in groups {
            members.sort_by(|a, b| b.1.time_ns.cmp(&a.1.time_ns).then(b.0.cmp(&a.0)));
            out.extend(self.decide_group(&members, &key, now_ns));
        }
        Ok(out)
    }

    /// Decides one group, sorted newest first.
    fn decide_group(
        &self,
        members: &[&(SnapshotId, Snapshot)],
        group: &str,
        now_ns: i64,
    ) -> Vec<Decision> {
        let count_rules: [(&str, Option<i64>, Bucket); 6] = [
            ("last", self.last, position_bucket),
            ("hourly", self.hourly, hour_bucket),
            ("daily", self.daily, day_bucket),
            ("weekly", self.weekly, week_bucket),
            ("monthly", self.monthly, month_bucket),
            ("yearly", self.yearly, year_bucket),
        ];
        let within_rules: [(&str, Option<CalendarDuration>, Bucket); 5] = [
            ("hourly", self.within_hourly, hour_bucket),
            ("daily", self.within_daily, day_bucket),
            ("weekly", self.within_weekly, week_bucket),
            ("monthly", self.within_monthly, month_bucket),
            ("yearly", self.within_yearly, year_bucket),
        ];
        // The reference for the within rules: the newest snapshot that is
        // not in the future. Without one, every snapshot counts as within
        // (restic measures from year 1 then).
        let latest = members
            .iter()
            .map(|s| s.1.time_ns)
            .filter(|&t| t < now_ns)
            .max()
            .map(DateTime::from_timestamp_nanos);
        let is_within = |d: &CalendarDuration, t: &DateTime<Utc>| match latest {
            None => true,
            Some(l) => d.before(l).is_none_or(|cutoff| *t > cutoff),
        };
        let mut counts: Vec<i64> = count_rules.iter().map(|r| r.1.unwrap_or(0)).collect();
        let mut count_last: Vec<Option<String>> = vec![None; count_rules.len()];
        let mut within_last: Vec<Option<String>> = vec![None; within_rules.len()];
        let oldest = members.len().saturating_sub(1);
        let mut out = Vec::new();
        for (i, (id, snap)) in members.iter().map(|s| (&s.0, &s.1)).enumerate() {
            let t = DateTime::from_timestamp_nanos(snap.time_ns);
            let mut reasons = Vec::new();
            for list in &self.tags {
                if has_tags(&snap.tags, list) {
                    let shown = list.join(",");
                    reasons.push(if shown.is_empty() {
                        "tag ''".to_string()
                    } else {
                        format!("tag {shown}")
                    });
                }
            }
            if let Some(d) = self.within.filter(|d| !d.is_zero()) {
                if is_within(&d, &t) {
                    reasons.push(format!("within {d}"));
                }
            }
            for (r, (count, last)) in count_rules
                .iter()
                .zip(counts.iter_mut().zip(count_last.iter_mut()))
            {
                if *count == 0 {
                    continue;
                }
                let bucket = (r.2)(&t, i);
                let same = last.as_deref() == Some(bucket.as_str());
                if !same || i == oldest {
                    let prefix = if same { "oldest " } else { "" };
                    reasons.push(format!("{prefix}{} ({bucket})", r.0));
                    *last = Some(bucket);
                    if *count > 0 {
                        *count -= 1;
                    }
                }
            }
            for (r, last) in within_rules.iter().zip(within_last.iter_mut()) {
                let Some(d) = r.1.filter(|d| !d.is_zero()) else {
                    continue;
                };
                if !is_within(&d, &t) {
                    continue;
                }
                let bucket = (r.2)(&t, i);
                let same = last.as_deref() == Some(bucket.as_str());
                if !same || i == oldest {
                    let prefix = if same { "oldest " } else { "" };
                    reasons.push(format!("{prefix}{} within {d} ({bucket})", r.0));
                    *last = Some(bucket);
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

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

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

    #[test]
    fn calendar_durations_parse_like_restic() {
        let d = |y, m, d, h| CalendarDuration {
            years: y,
            months: m,
            days: d,
            hours: h,
        };
        // restic's own TestParseDuration cases without negative numbers.
        for (s, want, shown) in [
            ("9h", d(0, 0, 0, 9), "9h"),
            ("3d", d(0, 0, 3, 0), "3d"),
            ("4d2h", d(0, 0, 4, 2), "4d2h"),
            ("7m5d", d(0, 7, 5, 0), "7m5d"),
            ("6m4d8h", d(0, 6, 4, 8), "6m4d8h"),
            ("5d7m", d(0, 7, 5, 0), "7m5d"),
            ("4h3d9m", d(0, 9, 3, 4), "9m3d4h"),
            ("1y1d1m", d(1, 1, 1, 0), "1y1m1d"),
            // cairn's addition: weeks fold into days.
            ("2w", d(0, 0, 14, 0), "14d"),
            ("1w2d", d(0, 0, 9, 0), "9d"),
        ] {
            let got = CalendarDuration::parse(s).expect(s);
            assert_eq!(got, want, "{s}");
            assert_eq!(got.to_string(), shown, "{s}");
        }
        for s in [
            "",
            "12",
            "s",
            "3x",
            "0d",
            "1d2d",
            "-1d",
            "d",
            "1y 2m",
            "99999999999d",
        ] {
            assert!(CalendarDuration::parse(s).is_err(), "{s:?} must be refused");
        }
    }

    #[test]
    fn months_and_years_are_calendar_months_and_years() {
        let d = |s: &str| CalendarDuration::parse(s).expect("duration");
        let before = |dur: &str, t: &str| d(dur).before(utc(t)).expect("in range");
        // 2m2h from 2016-01-18 12:02:03 is 2015-11-18 10:02:03, not 60 days.
        assert_eq!(
            before("2m2h", "2016-01-18T12:02:03Z"),
            utc("2015-11-18T10:02:03Z")
        );
        // Leap year: 1y before 2025-01-01 is 2024-01-01 (366 days).
        assert_eq!(
            before("1y", "2025-01-01T15:30:00Z"),
            utc("2024-01-01T15:30:00Z")
        );
        // A day that does not exist runs over: Mar 31 - 1m = "Feb 31" = Mar 3
        // (2015) and Mar 2 (2016, leap year), as Go's AddDate does.
        assert_eq!(
            before("1m", "2015-03-31T00:00:00Z"),
            utc("2015-03-03T00:00:00Z")
        );
        assert_eq!(
            before("1m", "2016-03-31T00:00:00Z"),
            utc("2016-03-02T00:00:00Z")
        );
        // Days after months: 1m1d before Mar 1 is Jan 31 (Feb 1 - 1 day).
        assert_eq!(
            before("1m1d", "2015-03-01T06:00:00Z"),
            utc("2015-01-31T06:00:00Z")
        );
        // Hours last, across a day boundary.
        assert_eq!(
            before("1d3h", "2015-03-01T02:00:00Z"),
            utc("2015-02-27T23:00:00Z")
        );
        // Far beyond chrono's range: no cutoff.
        assert!(d("4000000000y")
            .before(utc("2016-01-01T00:00:00Z"))
            .is_none());
    }

    #[test]
    fn tag_lists_need_every_tag_and_empty_matches_untagged() {
        let tags = |s: &[&str]| s.iter().map(|t| t.to_string()).collect::<Vec<_>>();
        assert_eq!(parse_tag_list("foo, bar"), tags(&["foo", "bar"]));
        assert_eq!(parse_tag_list(""), tags(&[""]));
        assert!(has_tags(&tags(&["foo", "bar"]), &tags(&["bar", "foo"])));
        assert!(!has_tags(&tags(&["foo"]), &tags(&["foo", "bar"])));
        assert!(has_tags(&[], &tags(&[""])));
        assert!(!has_tags(&tags(&["foo"]), &tags(&[""])));
    }

    #[test]
    fn zero_counts_are_no_rule() {
        let p = RetentionPolicy {
            last: Some(0),
            daily: Some(0),
            ..Default::default()
        };
        assert!(p.is_empty(), "--keep-last 0 must not remove everything");
        let p = RetentionPolicy {
            within: Some(CalendarDuration::default()),
            ..Default::default()
        };
        assert!(p.is_empty());
        let untagged_only = RetentionPolicy {
            tags: vec![vec![String::new()]],
            ..Default::default()
        };
        assert!(!untagged_only.is_empty(), "--keep-tag '' is a rule");
    }

    #[test]
    fn group_by_accepts_restic_spellings() {
        let all = GroupBy {
            host: true,
            tags: true,
            paths: true,
        };
        assert_eq!(GroupBy::parse("host,path,tag").expect("ok"), all);
        assert_eq!(GroupBy::parse("hosts,paths,tags").expect("ok"), all);
        assert_eq!(
            GroupBy::parse("").expect("ok"),
            GroupBy::parse("none").expect("ok")
        );
        assert!(!GroupBy::parse("").expect("ok").host);
        assert!(GroupBy::parse("tags,invalid").is_err());
    }
}
