//! Retention decisions against hand-derived expectations in
//! `tests/data/retention.txt` (see its header for the format).

use cairn::{
    parse_tag_list, BlobId, CalendarDuration, GroupBy, RetentionPolicy, Snapshot, SnapshotId,
    Summary,
};
use std::collections::{BTreeMap, BTreeSet};

struct Case {
    name: String,
    policy: RetentionPolicy,
    group_by: GroupBy,
    keep: BTreeSet<String>,
}

fn snapshot(time: &str, host: &str, tags: &str) -> Snapshot {
    let t = chrono::DateTime::parse_from_rfc3339(time).expect("time");
    Snapshot {
        time_ns: t.timestamp_nanos_opt().expect("range"),
        host: host.into(),
        username: String::new(),
        tags: if tags == "-" {
            vec![]
        } else {
            tags.split(',').map(String::from).collect()
        },
        paths: vec!["/data".into()],
        source: "files".into(),
        parent: None,
        tree: BlobId::default(),
        summary: Summary::default(),
        program: String::new(),
        info: BTreeMap::new(),
    }
}

fn rule(p: &mut RetentionPolicy, r: &str) {
    let (k, v) = r.split_once('=').expect("rule=value");
    let n = || v.parse::<i64>().expect("count");
    match k {
        "last" => p.last = Some(n()),
        "hourly" => p.hourly = Some(n()),
        "daily" => p.daily = Some(n()),
        "weekly" => p.weekly = Some(n()),
        "monthly" => p.monthly = Some(n()),
        "yearly" => p.yearly = Some(n()),
        "within" => p.within = Some(CalendarDuration::parse(v).expect("duration")),
        "tag" => p.tags.push(parse_tag_list(v)),
        "within-daily" => p.within_daily = Some(CalendarDuration::parse(v).expect("duration")),
        other => panic!("unknown rule {other}"),
    }
}

fn parse() -> (Vec<(String, Snapshot)>, Vec<Case>) {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/retention.txt"
    ))
    .expect("data file");
    let mut snaps = Vec::new();
    let mut cases: Vec<Case> = Vec::new();
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f[0] {
            "snapshot" => snaps.push((f[1].to_string(), snapshot(f[2], f[3], f[4]))),
            "case" => cases.push(Case {
                name: f[1].to_string(),
                policy: RetentionPolicy::default(),
                group_by: GroupBy::parse("host").expect("host"),
                keep: BTreeSet::new(),
            }),
            "policy" => f[1..]
                .iter()
                .for_each(|r| rule(&mut cases.last_mut().expect("case").policy, r)),
            "group-by" => {
                cases.last_mut().expect("case").group_by = GroupBy::parse(f[1]).expect("keys")
            }
            "keep" => cases
                .last_mut()
                .expect("case")
                .keep
                .extend(f[1..].iter().map(|s| s.to_string())),
            other => panic!("bad line {other}"),
        }
    }
    (snaps, cases)
}

#[test]
fn every_case_matches_the_hand_derived_expectation() {
    let (named, cases) = parse();
    assert!(named.len() >= 30 && cases.len() >= 14);
    let ids: Vec<(SnapshotId, Snapshot)> = named
        .iter()
        .enumerate()
        .map(|(i, (_, s))| (SnapshotId([i as u8 + 1; 32]), s.clone()))
        .collect();
    let name_of = |id: &SnapshotId| named[id.0[0] as usize - 1].0.clone();
    let mut failures = Vec::new();
    for case in &cases {
        let decisions = case.policy.apply(&ids, case.group_by).expect("apply");
        assert_eq!(
            decisions.len(),
            ids.len(),
            "every snapshot decided in {}",
            case.name
        );
        let kept: BTreeSet<String> = decisions
            .iter()
            .filter(|d| d.keep)
            .map(|d| name_of(&d.id))
            .collect();
        for d in &decisions {
            assert_eq!(
                d.keep,
                !d.reasons.is_empty(),
                "kept exactly when a rule gave a reason"
            );
        }
        if kept != case.keep {
            failures.push(format!(
                "case {}: kept {:?}, expected {:?}",
                case.name,
                kept.iter().collect::<Vec<_>>(),
                case.keep.iter().collect::<Vec<_>>()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn an_empty_policy_is_refused() {
    let (named, _) = parse();
    let ids: Vec<(SnapshotId, Snapshot)> = named
        .into_iter()
        .map(|(_, s)| (SnapshotId::default(), s))
        .collect();
    assert!(RetentionPolicy::default()
        .apply(&ids, GroupBy::default())
        .is_err());
}
