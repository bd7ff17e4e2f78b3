//! Monitoring: Prometheus text-format files for node_exporter's textfile
//! collector. Each file is rewritten whole (temporary file, rename) from
//! the repository and the run records, so it is always complete and never
//! double-counts.

use crate::journal::{Journal, RunStatus};
use crate::model::Plan;
use crate::status::PlanStatus;
use cairn::{Error, Repository, Result};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Metric text being built: HELP and TYPE once per metric name.
#[derive(Default)]
pub struct Metrics {
    text: String,
    declared: Vec<String>,
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// Adds one gauge sample.
    pub fn gauge(&mut self, name: &str, help: &str, labels: &[(&str, &str)], value: f64) {
        if !self.declared.iter().any(|d| d == name) {
            self.declared.push(name.to_string());
            let _ = writeln!(self.text, "# HELP {name} {help}");
            let _ = writeln!(self.text, "# TYPE {name} gauge");
        }
        let labels: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
            .collect();
        let _ = writeln!(self.text, "{name}{{{}}} {value}", labels.join(","));
    }

    /// The text.
    pub fn text(&self) -> &str {
        &self.text
    }
}

fn secs(ns: i64) -> f64 {
    ns as f64 / 1e9
}

/// A plan's metrics: per component its last success, duration, bytes,
/// interval, overdue flag and failures in the kept run records; per plan
/// the last run, its outcome and the failed runs; the last drill.
pub fn plan_metrics(
    repo: &Repository,
    plan: &Plan,
    st: &PlanStatus,
    journal: &Journal,
) -> Result<String> {
    let mut m = Metrics::default();
    let records = journal.list()?;
    let p = plan.name.as_str();
    for c in &st.components {
        let l = [
            ("plan", p),
            ("component", c.name.as_str()),
            ("kind", c.kind.as_str()),
        ];
        if let Some((id, started)) = c.last_good {
            let s = repo.load_snapshot(&id)?;
            m.gauge(
                "cairn_component_last_success_timestamp_seconds",
                "Start of the newest backup of the component.",
                &l,
                secs(started),
            );
            m.gauge(
                "cairn_component_last_duration_seconds",
                "Duration of the newest backup of the component.",
                &l,
                s.summary.duration_ms as f64 / 1000.0,
            );
            m.gauge(
                "cairn_component_last_bytes_read",
                "Bytes read by the newest backup of the component.",
                &l,
                s.summary.bytes_read as f64,
            );
            m.gauge(
                "cairn_component_last_bytes_added",
                "Bytes stored (compressed and sealed) by the newest backup of the component.",
                &l,
                s.summary.bytes_added as f64,
            );
        }
        m.gauge(
            "cairn_component_interval_seconds",
            "Expected time between good backups of the component.",
            &l,
            c.interval.as_secs_f64(),
        );
        m.gauge("cairn_component_overdue", "1 when the component's newest backup is older than its interval plus a quarter, or missing.", &l, f64::from(u8::from(c.overdue)));
        let failures = records
            .iter()
            .filter(|r| {
                r.components.iter().any(|x| {
                    x.name == c.name && (x.status == "failed" || x.status == "interrupted")
                })
            })
            .count();
        m.gauge(
            "cairn_component_failed_runs",
            "Kept run records in which the component failed or was stopped.",
            &l,
            failures as f64,
        );
    }
    let l = [("plan", p)];
    m.gauge(
        "cairn_plan_healthy",
        "1 when nothing is overdue and the last run did not fail.",
        &l,
        f64::from(u8::from(st.healthy())),
    );
    if let (Some(r), Some(status)) = (&st.last_run, st.last_run_status) {
        let started = chrono::DateTime::parse_from_rfc3339(&r.started)
            .map(|t| t.timestamp() as f64)
            .unwrap_or(0.0);
        m.gauge(
            "cairn_plan_last_run_timestamp_seconds",
            "Start of the newest run recorded on this machine.",
            &l,
            started,
        );
        m.gauge(
            "cairn_plan_last_run_success",
            "1 when the newest recorded run succeeded.",
            &l,
            f64::from(u8::from(status == RunStatus::Ok)),
        );
    }
    let failed = records
        .iter()
        .filter(|r| {
            matches!(
                r.effective_status(),
                RunStatus::Failed | RunStatus::Interrupted
            )
        })
        .count();
    m.gauge(
        "cairn_plan_failed_runs",
        "Kept run records that failed, were stopped or were killed.",
        &l,
        failed as f64,
    );
    m.gauge(
        "cairn_plan_recorded_runs",
        "Kept run records.",
        &l,
        records.len() as f64,
    );
    if let Some(d) = journal.last_drill()? {
        m.gauge(
            "cairn_drill_last_timestamp_seconds",
            "Start of the newest restore drill.",
            &l,
            secs(d.started_ns),
        );
        m.gauge(
            "cairn_drill_last_success",
            "1 when every component of the newest drill passed.",
            &l,
            f64::from(u8::from(d.ok)),
        );
        for s in &d.steps {
            let l = [("plan", p), ("component", s.name.as_str())];
            m.gauge(
                "cairn_drill_rto_seconds",
                "Time the newest drill took to restore and check the component.",
                &l,
                s.rto_ms as f64 / 1000.0,
            );
            m.gauge(
                "cairn_drill_component_success",
                "1 when the component passed the newest drill.",
                &l,
                f64::from(u8::from(s.ok)),
            );
        }
    }
    Ok(m.text)
}

/// A metrics file name for a label: letters, digits and `_` only.
pub fn file_name(prefix: &str, label: &str) -> String {
    let clean: String = label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("{prefix}_{clean}.prom")
}

/// Writes `text` to `dir/name` whole: temporary file, sync, rename, so the
/// collector never reads half a file.
pub fn write_textfile(dir: &Path, name: &str, text: &str) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let path = dir.join(name);
    let tmp = dir.join(format!(".{name}.tmp"));
    let write = || -> std::io::Result<()> {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    };
    write().map_err(|e| Error::io(&path, e))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauges_declare_once_and_escape_labels() {
        let mut m = Metrics::default();
        m.gauge("x", "help", &[("a", "q\"\\\n")], 1.0);
        m.gauge("x", "help", &[("a", "b")], 2.5);
        let t = m.text();
        assert_eq!(t.matches("# TYPE x gauge").count(), 1);
        assert!(t.contains("x{a=\"q\\\"\\\\\\n\"} 1\n"), "{t}");
        assert!(t.contains("x{a=\"b\"} 2.5\n"));
        assert_eq!(
            file_name("cairn_plan", "acme-prod.1"),
            "cairn_plan_acme_prod_1.prom"
        );
    }
}
