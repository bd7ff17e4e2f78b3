//! The manifests of `docs/deploy/kubernetes/` (cairn as a CronJob): they
//! parse as Kubernetes objects with the kinds and fields the runbook relies
//! on, the plan in the ConfigMap is a valid plan, and real `kubectl`
//! applies them to the fixture API server.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/deploy/kubernetes")
}

/// Every object of every manifest, by `Kind/name`.
fn objects() -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir())
        .expect("docs/deploy/kubernetes")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    names.sort();
    assert!(names.len() >= 5, "{names:?}");
    for p in names {
        let text = std::fs::read_to_string(&p).expect("read");
        for doc in serde_yaml_ng::Deserializer::from_str(&text) {
            let v: Value = serde::Deserialize::deserialize(doc)
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let key = cairn_kubernetes::ObjectKey::of(&v)
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            out.insert(format!("{}/{}", key.kind, key.name), v);
        }
    }
    out
}

#[test]
fn the_manifests_are_the_objects_the_runbook_describes() {
    let o = objects();
    for k in [
        "Namespace/cairn",
        "ServiceAccount/cairn-backup",
        "ClusterRole/cairn-backup-read-only",
        "ClusterRoleBinding/cairn-backup-read-only",
        "Secret/cairn-repository",
        "ConfigMap/cairn-plan-cluster",
        "CronJob/cairn-cluster",
        "CronJob/cairn-cluster-status",
    ] {
        assert!(o.contains_key(k), "{k} missing: {:?}", o.keys());
    }
    // Read-only: no verb that writes.
    for rule in o["ClusterRole/cairn-backup-read-only"]["rules"]
        .as_array()
        .expect("rules")
    {
        for verb in rule["verbs"].as_array().expect("verbs") {
            assert!(
                ["get", "list", "watch"].contains(&verb.as_str().expect("verb")),
                "{verb}"
            );
        }
    }
    let binding = &o["ClusterRoleBinding/cairn-backup-read-only"];
    assert_eq!(binding["roleRef"]["name"], "cairn-backup-read-only");
    assert_eq!(binding["subjects"][0]["name"], "cairn-backup");
    assert_eq!(binding["subjects"][0]["namespace"], "cairn");
    let secret_keys: Vec<&String> = o["Secret/cairn-repository"]["stringData"]
        .as_object()
        .expect("stringData")
        .keys()
        .collect();
    for (name, args0) in [
        ("CronJob/cairn-cluster", "run"),
        ("CronJob/cairn-cluster-status", "status"),
    ] {
        let cj = &o[name];
        assert_eq!(cj["apiVersion"], "batch/v1");
        assert_eq!(cj["spec"]["concurrencyPolicy"], "Forbid");
        assert!(
            cj["spec"]["schedule"]
                .as_str()
                .expect("schedule")
                .split(' ')
                .count()
                == 5
        );
        let pod = &cj["spec"]["jobTemplate"]["spec"]["template"]["spec"];
        assert_eq!(pod["serviceAccountName"], "cairn-backup");
        assert_eq!(pod["restartPolicy"], "Never");
        let c = &pod["containers"][0];
        assert_eq!(c["args"][0], "plan");
        assert_eq!(c["args"][1], args0);
        assert_eq!(c["args"][2], "/etc/cairn/plan/plan.toml");
        for e in c["env"].as_array().expect("env") {
            if let Some(r) = e.pointer("/valueFrom/secretKeyRef") {
                assert_eq!(r["name"], "cairn-repository");
                assert!(
                    secret_keys
                        .iter()
                        .any(|k| *k == r["key"].as_str().expect("key")),
                    "{r}"
                );
            }
        }
        let vols = pod["volumes"].as_array().expect("volumes");
        let plan = vols
            .iter()
            .find(|v| v["name"] == "plan")
            .expect("plan volume");
        assert_eq!(plan["configMap"]["name"], "cairn-plan-cluster");
        let keys = vols
            .iter()
            .find(|v| v["name"] == "keys")
            .expect("keys volume");
        assert_eq!(keys["secret"]["secretName"], "cairn-repository");
        assert_eq!(keys["secret"]["items"][0]["key"], "password");
    }
}

#[test]
fn the_plan_in_the_config_map_is_valid() {
    let o = objects();
    let text = o["ConfigMap/cairn-plan-cluster"]["data"]["plan.toml"]
        .as_str()
        .expect("plan.toml");
    let registry =
        cairn_plan::Registry::builtin().register("kubernetes", cairn_kubernetes::from_settings);
    let plan = cairn_plan::parse_plan("plan.toml", text, &registry).expect("the plan parses");
    assert_eq!(plan.name, "cluster");
    assert!(text.contains("password_file = \"/etc/cairn/keys/password\""));
    let c = plan.find("resources").expect("component");
    assert_eq!(c.component.kind(), "kubernetes");
}

#[test]
fn kubectl_applies_the_manifests() {
    let ok = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(ok, "kubectl is missing: run the suite with scripts/test (it installs Debian's kubernetes-client), or `apt-get install kubernetes-client`");
    let server = cairn_testkit::KubeApi::start(&[]);
    let cache = tempfile::tempdir().expect("tmp");
    let o = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(server.kubeconfig())
        .arg("--cache-dir")
        .arg(cache.path())
        .args(["apply", "--server-side", "--validate=false", "-f"])
        .arg(dir())
        .output()
        .expect("kubectl");
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let applied: Vec<String> = server
        .requests()
        .iter()
        .filter(|r| r["method"] == "PATCH")
        .map(|r| {
            format!(
                "{}/{}",
                r["body"]["kind"].as_str().expect("kind"),
                r["body"]["metadata"]["name"].as_str().expect("name")
            )
        })
        .collect();
    let mut want: Vec<String> = objects().into_keys().collect();
    let mut got = applied.clone();
    want.sort();
    got.sort();
    assert_eq!(got, want);
}
