//! cairn's retention decisions against restic's own forget-policy suite.
//!
//! `tests/data/restic_policy.txt` holds restic's snapshot list, its 40
//! policies and, for each, the golden result (which snapshots restic keeps,
//! newest first, and the rules that kept each); its header names the source
//! files and commit. restic's test applies each policy to the whole list
//! without grouping, so cairn runs with `--group-by none`.
//!
//! restic orders snapshots with equal times by their position in the list
//! (a stable sort); cairn orders them by id, larger first. The ids given
//! here fall with the position, so both orders agree.
//!
//! For `--group-by`, restic's suite has no golden data. A small reference
//! model written here from restic's stated rules (`docs/maintenance.md`),
//! independent of the engine, is first required to reproduce all 40 golden
//! results; it then gives the expected decisions for the same policies under
//! every grouping, which the engine must match.

use cairn::{
    parse_tag_list, BlobId, CalendarDuration, GroupBy, RetentionPolicy, Snapshot, SnapshotId,
    Summary,
};
use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Timelike, Utc};
use std::collections::BTreeMap;

/// One snapshot of restic's list; `n` is its 1-based position.
#[derive(Clone, Debug)]
struct Entry {
    n: usize,
    time: DateTime<Utc>,
    tags: Vec<String>,
    paths: Vec<String>,
    host: String,
}

/// A policy as written in the data file.
#[derive(Clone, Debug, Default)]
struct Rules {
    /// last, hourly, daily, weekly, monthly, yearly (0 = not set).
    counts: [i64; 6],
    within: Option<String>,
    /// within-hourly .. within-yearly.
    within_buckets: [Option<String>; 5],
    tags: Vec<String>,
}

/// A kept snapshot: its position and the rules that kept it, as tokens.
type Kept = (usize, Vec<String>);

struct Policy {
    number: usize,
    text: String,
    rules: Rules,
    golden: Vec<Kept>,
}

const COUNT_NAMES: [&str; 6] = ["last", "hourly", "daily", "weekly", "monthly", "yearly"];

fn list(s: &str) -> Vec<String> {
    if s == "-" {
        vec![]
    } else {
        s.split(',').map(String::from).collect()
    }
}

fn parse() -> (Vec<Entry>, Vec<Policy>) {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/restic_policy.txt"
    ))
    .expect("data file");
    let mut entries = Vec::new();
    let mut policies: Vec<Policy> = Vec::new();
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f[0] {
            "snapshot" => {
                let n: usize = f[1].parse().expect("position");
                assert_eq!(n, entries.len() + 1, "snapshots numbered in order");
                entries.push(Entry {
                    n,
                    time: DateTime::parse_from_rfc3339(f[2])
                        .expect("time")
                        .with_timezone(&Utc),
                    tags: list(f[3]),
                    paths: list(f[4]),
                    host: String::new(),
                });
            }
            "policy" => {
                let mut rules = Rules::default();
                for r in f[2..].iter().filter(|r| **r != "-") {
                    let (k, v) = r.split_once('=').expect("rule=value");
                    if let Some(i) = COUNT_NAMES.iter().position(|c| *c == k) {
                        rules.counts[i] = v.parse().expect("count");
                    } else if k == "within" {
                        rules.within = Some(v.to_string());
                    } else if let Some(b) = k.strip_prefix("within-") {
                        let i = COUNT_NAMES[1..]
                            .iter()
                            .position(|c| *c == b)
                            .expect("within bucket");
                        rules.within_buckets[i] = Some(v.to_string());
                    } else if k == "tag" {
                        rules.tags.push(v.to_string());
                    } else {
                        panic!("unknown rule {r}");
                    }
                }
                policies.push(Policy {
                    number: f[1].parse().expect("number"),
                    text: f[2..].join(" "),
                    rules,
                    golden: vec![],
                });
            }
            "keep" => policies.last_mut().expect("policy").golden.push((
                f[1].parse().expect("position"),
                f[2..].iter().map(|s| s.to_string()).collect(),
            )),
            other => panic!("bad line {other}"),
        }
    }
    (entries, policies)
}

/// The engine's policy for these rules (durations through cairn's parser).
fn policy(r: &Rules) -> RetentionPolicy {
    let count = |i: usize| (r.counts[i] != 0).then_some(r.counts[i]);
    let dur = |d: &Option<String>| {
        d.as_deref()
            .map(|s| CalendarDuration::parse(s).expect("duration"))
    };
    RetentionPolicy {
        last: count(0),
        hourly: count(1),
        daily: count(2),
        weekly: count(3),
        monthly: count(4),
        yearly: count(5),
        within: dur(&r.within),
        within_hourly: dur(&r.within_buckets[0]),
        within_daily: dur(&r.within_buckets[1]),
        within_weekly: dur(&r.within_buckets[2]),
        within_monthly: dur(&r.within_buckets[3]),
        within_yearly: dur(&r.within_buckets[4]),
        tags: r.tags.iter().map(|t| parse_tag_list(t)).collect(),
    }
}

/// Ids that fall with the position, so that cairn's tie order (larger id
/// first) is restic's (earlier in the list first).
fn id(n: usize) -> SnapshotId {
    SnapshotId([u8::try_from(255 - n).expect("fits"); 32])
}

fn snapshots(entries: &[Entry]) -> Vec<(SnapshotId, Snapshot)> {
    entries
        .iter()
        .map(|e| {
            (
                id(e.n),
                Snapshot {
                    time_ns: e.time.timestamp_nanos_opt().expect("range"),
                    host: e.host.clone(),
                    username: String::new(),
                    tags: e.tags.clone(),
                    paths: e.paths.clone(),
                    source: "files".into(),
                    parent: None,
                    tree: BlobId::default(),
                    summary: Summary::default(),
                    program: String::new(),
                    info: BTreeMap::new(),
                },
            )
        })
        .collect()
}

/// cairn's reason text as the data file's token: `daily (2015-11-22)` ->
/// `daily`, `oldest yearly (2014)` -> `oldest-yearly`, `within 2m2h` ->
/// `within`, `daily within 7d (..)` -> `within-daily`, `tag foo,bar` ->
/// `tag=foo,bar`.
fn token(reason: &str) -> String {
    if let Some(t) = reason.strip_prefix("tag ") {
        return format!("tag={t}");
    }
    let rule = reason.split(" (").next().unwrap_or(reason);
    let (oldest, rule) = match rule.strip_prefix("oldest ") {
        Some(r) => ("oldest-", r),
        None => ("", rule),
    };
    let words: Vec<&str> = rule.split_whitespace().collect();
    match words.as_slice() {
        ["within", _] => format!("{oldest}within"),
        [bucket, "within", _] => format!("{oldest}within-{bucket}"),
        [count] => format!("{oldest}{count}"),
        _ => panic!("unexpected reason {reason:?}"),
    }
}

/// Runs the engine; returns the kept snapshots newest first within each
/// group (groups in the engine's order), as (position, tokens).
fn engine(entries: &[Entry], rules: &Rules, group_by: &str) -> Vec<Kept> {
    let snaps = snapshots(entries);
    let now = DateTime::parse_from_rfc3339("2020-01-01T00:00:00Z")
        .expect("now")
        .timestamp_nanos_opt()
        .expect("range");
    let decisions = policy(rules)
        .apply_at(&snaps, GroupBy::parse(group_by).expect("group-by"), now)
        .expect("apply");
    assert_eq!(decisions.len(), snaps.len(), "every snapshot decided once");
    let mut seen = std::collections::BTreeSet::new();
    decisions
        .iter()
        .inspect(|d| {
            assert!(seen.insert(d.id), "decided twice");
            assert_eq!(d.keep, !d.reasons.is_empty(), "kept exactly with a reason");
        })
        .filter(|d| d.keep)
        .map(|d| {
            let n = 255 - usize::from(d.id.0[0]);
            (n, d.reasons.iter().map(|r| token(r)).collect())
        })
        .collect()
}

// ---------------------------------------------------------------------------
// The reference model, from the rules as restic states them.

#[derive(Clone, Copy)]
struct Ymdh(u32, u32, u32, u32);

fn model_duration(s: &str) -> Ymdh {
    let mut d = Ymdh(0, 0, 0, 0);
    let mut n = 0u32;
    for c in s.chars() {
        match c.to_digit(10) {
            Some(v) => n = n * 10 + v,
            None => {
                match c {
                    'y' => d.0 = n,
                    'm' => d.1 = n,
                    'd' => d.2 = n,
                    'h' => d.3 = n,
                    _ => panic!("unit {c}"),
                }
                n = 0;
            }
        }
    }
    d
}

/// restic: latest.AddDate(-y, -m, -d).Add(-h hours), with Go's
/// normalisation of days past the end of a month.
fn model_cutoff(latest: DateTime<Utc>, d: Ymdh) -> DateTime<Utc> {
    let months = latest.year() * 12 + latest.month0() as i32 - d.0 as i32 * 12 - d.1 as i32;
    let first = NaiveDate::from_ymd_opt(months.div_euclid(12), months.rem_euclid(12) as u32 + 1, 1)
        .expect("date");
    let day = first + TimeDelta::days(i64::from(latest.day()) - 1 - i64::from(d.2));
    day.and_time(latest.time()).and_utc() - TimeDelta::hours(i64::from(d.3))
}

fn model_bucket(kind: usize, t: DateTime<Utc>, position: usize) -> i64 {
    let (y, m, d, h) = (
        i64::from(t.year()),
        i64::from(t.month()),
        i64::from(t.day()),
        i64::from(t.hour()),
    );
    match kind {
        0 => position as i64,
        1 => ((y * 100 + m) * 100 + d) * 100 + h,
        2 => (y * 100 + m) * 100 + d,
        3 => i64::from(t.iso_week().year()) * 100 + i64::from(t.iso_week().week()),
        4 => y * 100 + m,
        _ => y,
    }
}

/// One group, in list order; returns kept (position, tokens) newest first.
fn model_group(group: &[&Entry], r: &Rules) -> Vec<Kept> {
    let mut g: Vec<&Entry> = group.to_vec();
    g.sort_by_key(|e| std::cmp::Reverse(e.time)); // stable: list order on ties
    let Some(latest) = g.iter().map(|e| e.time).max() else {
        return vec![];
    };
    let within = |d: &str, t: DateTime<Utc>| t > model_cutoff(latest, model_duration(d));
    let mut counts = r.counts;
    let mut last_count: [Option<i64>; 6] = [None; 6];
    let mut last_within: [Option<i64>; 5] = [None; 5];
    let mut out = Vec::new();
    for (i, e) in g.iter().enumerate() {
        let oldest = i + 1 == g.len();
        let mut why = Vec::new();
        for t in &r.tags {
            let wanted = parse_list_model(t);
            let ok = wanted.iter().all(|w| e.tags.contains(w))
                || (wanted.first().is_some_and(String::is_empty) && e.tags.is_empty());
            if ok {
                why.push(format!("tag={t}"));
            }
        }
        if let Some(d) = &r.within {
            if within(d, e.time) {
                why.push("within".to_string());
            }
        }
        for k in 0..6 {
            if counts[k] == 0 {
                continue;
            }
            let b = model_bucket(k, e.time, i);
            if last_count[k] != Some(b) {
                why.push(COUNT_NAMES[k].to_string());
            } else if oldest {
                why.push(format!("oldest-{}", COUNT_NAMES[k]));
            } else {
                continue;
            }
            last_count[k] = Some(b);
            if counts[k] > 0 {
                counts[k] -= 1;
            }
        }
        for k in 0..5 {
            let Some(d) = &r.within_buckets[k] else {
                continue;
            };
            if !within(d, e.time) {
                continue;
            }
            let b = model_bucket(k + 1, e.time, i);
            if last_within[k] != Some(b) {
                why.push(format!("within-{}", COUNT_NAMES[k + 1]));
            } else if oldest {
                why.push(format!("oldest-within-{}", COUNT_NAMES[k + 1]));
            } else {
                continue;
            }
            last_within[k] = Some(b);
        }
        if !why.is_empty() {
            out.push((e.n, why));
        }
    }
    out
}

fn parse_list_model(s: &str) -> Vec<String> {
    s.split(',').map(|t| t.trim().to_string()).collect()
}

/// The model under a grouping: groups keyed by host, sorted paths and/or
/// sorted tags, as restic's GroupSnapshots does.
fn model(entries: &[Entry], r: &Rules, group_by: &str) -> BTreeMap<usize, Vec<String>> {
    let g = GroupBy::parse(group_by).expect("group-by");
    type Key = (String, Vec<String>, Vec<String>);
    let mut groups: BTreeMap<Key, Vec<&Entry>> = BTreeMap::new();
    for e in entries {
        let mut paths = e.paths.clone();
        paths.sort();
        let mut tags = e.tags.clone();
        tags.sort();
        let key = (
            if g.host {
                e.host.clone()
            } else {
                String::new()
            },
            if g.paths { paths } else { vec![] },
            if g.tags { tags } else { vec![] },
        );
        groups.entry(key).or_default().push(e);
    }
    groups
        .values()
        .flat_map(|members| model_group(members, r))
        .collect()
}

// ---------------------------------------------------------------------------

fn describe(kept: &[Kept], entries: &[Entry]) -> String {
    kept.iter()
        .map(|(n, why)| {
            let e = &entries[n - 1];
            format!(
                "  #{n} {} tags={:?} paths={:?}: {}",
                e.time.to_rfc3339(),
                e.tags,
                e.paths,
                why.join(" ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_restic_policy_keeps_what_restic_keeps() {
    let (entries, policies) = parse();
    assert_eq!(entries.len(), 103, "restic's list has 103 snapshots");
    assert_eq!(
        policies.iter().map(|p| p.number).collect::<Vec<_>>(),
        (0..40).collect::<Vec<_>>(),
        "all 40 golden files, in order"
    );
    let mut failures = Vec::new();
    let mut checked = 0;
    for p in &policies {
        let engine_policy = policy(&p.rules);
        if engine_policy.is_empty() {
            // restic's forget refuses an empty policy ("no policy was
            // specified, no snapshots will be removed"), as cairn does.
            assert!(
                engine_policy
                    .apply(&snapshots(&entries), GroupBy::parse("none").expect("none"))
                    .is_err(),
                "policy {}: an empty policy must be refused",
                p.number
            );
            continue;
        }
        checked += 1;
        let got = engine(&entries, &p.rules, "none");
        if got != p.golden {
            failures.push(format!(
                "policy {} ({}):\n restic keeps {}:\n{}\n cairn keeps {}:\n{}",
                p.number,
                p.text,
                p.golden.len(),
                describe(&p.golden, &entries),
                got.len(),
                describe(&got, &entries)
            ));
        }
    }
    assert_eq!(checked, 39);
    assert!(
        failures.is_empty(),
        "{} of 39 policies differ from restic:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_reference_model_reproduces_every_golden_file() {
    let (entries, policies) = parse();
    for p in &policies {
        let refs: Vec<&Entry> = entries.iter().collect();
        let got = model_group(&refs, &p.rules);
        assert_eq!(
            got,
            p.golden,
            "model, policy {} ({}):\n{}",
            p.number,
            p.text,
            describe(&got, &entries)
        );
    }
}

#[test]
fn every_restic_policy_under_every_grouping_matches_the_model() {
    let (mut entries, policies) = parse();
    // restic's list has one host; a second run moves every third snapshot
    // to another host so that grouping by host splits something.
    let one_host = entries.clone();
    for e in entries.iter_mut().filter(|e| e.n % 3 == 0) {
        e.host = "web1".into();
    }
    let mut compared = 0;
    for list in [&one_host, &entries] {
        for group_by in [
            "none",
            "host",
            "paths",
            "tags",
            "host,paths",
            "host,tags",
            "tags,paths",
            "host,tags,paths",
        ] {
            for p in policies.iter().filter(|p| !policy(&p.rules).is_empty()) {
                let want = model(list, &p.rules, group_by);
                let got: BTreeMap<usize, Vec<String>> =
                    engine(list, &p.rules, group_by).into_iter().collect();
                assert_eq!(
                    got, want,
                    "policy {} ({}), group-by {group_by}",
                    p.number, p.text
                );
                compared += 1;
            }
        }
    }
    assert_eq!(compared, 2 * 8 * 39);
}

#[test]
fn grouping_changes_the_outcome_here() {
    // Guards the test above against a model that ignores grouping: with
    // tags as a key, last=1 keeps one snapshot per distinct tag set.
    let (entries, policies) = parse();
    let last_1 = Rules {
        counts: [1, 0, 0, 0, 0, 0],
        ..Default::default()
    };
    let by_tags = engine(&entries, &last_1, "tags");
    let tag_sets: std::collections::BTreeSet<Vec<String>> = entries
        .iter()
        .map(|e| {
            let mut t = e.tags.clone();
            t.sort();
            t
        })
        .collect();
    assert_eq!(by_tags.len(), tag_sets.len());
    assert_eq!(engine(&entries, &last_1, "none").len(), 1);
    // The one snapshot with paths is its own group under paths: the oldest
    // snapshot of the main group gets an extra "oldest" keep, and so on.
    let yearly = &policies[16];
    assert_eq!(yearly.text, "yearly=10");
    assert_ne!(
        model(&entries, &yearly.rules, "none"),
        model(&entries, &yearly.rules, "paths")
    );
}

#[test]
fn a_snapshot_in_the_future_does_not_move_the_within_boundary() {
    // restic measures keep-within from the newest snapshot that is not in
    // the future; a clock gone wrong must not expire everything else.
    let (mut entries, _) = parse();
    let within_1d = Rules {
        within: Some("1d".into()),
        ..Default::default()
    };
    let before = engine(&entries, &within_1d, "none");
    assert_eq!(before.iter().map(|k| k.0).collect::<Vec<_>>(), vec![103]);
    entries.push(Entry {
        n: 104,
        time: DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
            .expect("time")
            .with_timezone(&Utc),
        tags: vec![],
        paths: vec![],
        host: String::new(),
    });
    let after = engine(&entries, &within_1d, "none");
    assert_eq!(
        after.iter().map(|k| k.0).collect::<Vec<_>>(),
        vec![104, 103],
        "the future snapshot is within (newer than the cutoff) but the cutoff stays"
    );
}
