//! `wal status`: is point-in-time recovery still receiving data?

use super::catalog::Catalog;
use super::name::segment_name;
use super::recover::bases;
use std::collections::BTreeMap;

/// The archive's health.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct WalStatus {
    /// WAL files archived.
    pub files: usize,
    /// The newest archived file and when, Unix nanoseconds.
    pub newest: Option<(String, i64)>,
    /// Seconds since the newest file was archived.
    pub age_secs: Option<f64>,
    /// Missing segments between archived ones, per timeline, as
    /// (first missing, last missing), after the oldest base backup's start.
    pub gaps: Vec<(String, String)>,
    /// Base backups.
    pub base_backups: usize,
    /// The oldest point a restore can reach (the oldest base backup's end),
    /// Unix nanoseconds.
    pub oldest_point_ns: Option<i64>,
    /// Snapshots that could not be read.
    pub damaged: Vec<String>,
}

impl WalStatus {
    /// Whether it is healthy with `max_age_secs` as the freshness limit.
    pub fn problems(&self, max_age_secs: Option<f64>) -> Vec<String> {
        let mut p = Vec::new();
        match (self.age_secs, max_age_secs) {
            (None, _) => p.push("no WAL has been archived".to_string()),
            (Some(a), Some(m)) if a > m => p.push(format!(
                "the newest WAL file was archived {a:.0} s ago, over the limit of {m:.0} s: is \
                 archive_command failing? (see pg_stat_archiver on the server)"
            )),
            _ => {}
        }
        for (a, b) in &self.gaps {
            p.push(match a == b {
                true => format!("segment {a} is missing from the archive"),
                false => format!("segments {a} to {b} are missing from the archive"),
            });
        }
        if self.base_backups == 0 {
            p.push("no base backup is stored: WAL alone restores nothing".into());
        }
        p.extend(self.damaged.iter().cloned());
        p
    }
}

/// The status at `now_ns`.
pub fn wal_status(catalog: &Catalog, now_ns: i64) -> WalStatus {
    let size = catalog.segment_size();
    let all_bases = bases(catalog);
    let from = all_bases
        .iter()
        .map(|b| b.start_segment())
        .min()
        .unwrap_or(0);
    let mut per_tl: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
    for (n, _) in catalog.segments() {
        per_tl.entry(n.timeline).or_default().push(n.number(size));
    }
    let mut gaps = Vec::new();
    for (tl, mut nums) in per_tl {
        nums.sort_unstable();
        nums.dedup();
        for w in nums.windows(2) {
            if w[1] > w[0] + 1 && w[1] > from {
                let first = (w[0] + 1).max(from);
                gaps.push((
                    segment_name(tl, first, size),
                    segment_name(tl, w[1] - 1, size),
                ));
            }
        }
    }
    let newest = catalog.newest().map(|a| (a.name.clone(), a.time_ns));
    WalStatus {
        files: catalog.wal.len(),
        age_secs: newest.as_ref().map(|(_, t)| (now_ns - t) as f64 / 1e9),
        newest,
        gaps,
        base_backups: all_bases.len(),
        oldest_point_ns: all_bases.first().map(|b| b.ended_ns),
        damaged: catalog.damaged.clone(),
    }
}

/// Prometheus text for the status.
pub fn metrics(st: &WalStatus, repo_label: &str, max_age_secs: Option<f64>) -> String {
    let mut m = cairn_plan::Metrics::default();
    let l = [("repository", repo_label)];
    let g = |m: &mut cairn_plan::Metrics, n: &str, h: &str, v: f64| m.gauge(n, h, &l, v);
    g(
        &mut m,
        "cairn_wal_files",
        "WAL files in the archive.",
        st.files as f64,
    );
    if let Some((_, t)) = &st.newest {
        g(
            &mut m,
            "cairn_wal_last_archived_timestamp_seconds",
            "When the newest WAL file was archived.",
            *t as f64 / 1e9,
        );
    }
    g(
        &mut m,
        "cairn_wal_gaps",
        "Ranges of segments missing from the archive.",
        st.gaps.len() as f64,
    );
    g(
        &mut m,
        "cairn_wal_base_backups",
        "Base backups stored.",
        st.base_backups as f64,
    );
    if let Some(t) = st.oldest_point_ns {
        g(
            &mut m,
            "cairn_wal_oldest_restore_point_timestamp_seconds",
            "The oldest point a point-in-time restore can reach.",
            t as f64 / 1e9,
        );
    }
    g(
        &mut m,
        "cairn_wal_ok",
        "1 when the archive is fresh, complete and has a base backup.",
        if st.problems(max_age_secs).is_empty() {
            1.0
        } else {
            0.0
        },
    );
    m.text().to_string()
}
