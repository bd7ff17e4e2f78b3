//! Reading Prometheus textfiles with the `prometheus_client` package's
//! own text-format parser (an independent reader of what cairn writes).

use std::path::Path;
use std::process::Command;

/// One sample: (name, labels, value).
pub type Sample = (String, serde_json::Value, f64);

/// The samples of a metrics file. Python comes from `CAIRN_MOTO_PYTHON`
/// (the test venv `scripts/test` builds), else `python3`.
pub fn parse_metrics(path: &Path) -> Vec<Sample> {
    let py = std::env::var("CAIRN_MOTO_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = "import sys, json\nfrom prometheus_client.parser import text_string_to_metric_families\nfor f in text_string_to_metric_families(open(sys.argv[1]).read()):\n    for s in f.samples:\n        print(json.dumps([s.name, s.labels, s.value]))\n";
    let o = Command::new(&py)
        .args(["-c", script])
        .arg(path)
        .output()
        .expect("python");
    assert!(
        o.status.success(),
        "the Prometheus parser failed (is prometheus_client installed? scripts/test installs it into its venv): {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json");
            (
                v[0].as_str().unwrap_or("").to_string(),
                v[1].clone(),
                v[2].as_f64().unwrap_or(f64::NAN),
            )
        })
        .collect()
}

/// The value of the first sample named `name` (with label `k = v`).
pub fn sample(samples: &[Sample], name: &str, label: Option<(&str, &str)>) -> Option<f64> {
    samples
        .iter()
        .find(|(n, l, _)| n == name && label.is_none_or(|(k, v)| l[k] == v))
        .map(|(_, _, v)| *v)
}
