//! The Kubernetes component against the fixture API server
//! (`cairn_testkit::KubeApi`: no real API server can run here), loaded
//! with the shared manifests plus what a real cluster holds and a backup
//! must skip; and against real `kubectl` on the same server.

use cairn::{Argon2Params, InitOptions, ObjectBackend, Repository, Secret, Snapshot, SnapshotId};
use cairn_kubernetes::{
    BackupOptions, Connection, KubernetesComponent, ObjectKey, RestoreMode, RestoreOptions,
    Selection, INDEX_STREAM,
};
use cairn_plan::{backup_component, Component, ComponentRun, RestoreCx};
use cairn_testkit::KubeApi;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

fn repo() -> Repository {
    let opts = InitOptions::default().argon2(Argon2Params::insecure_for_tests());
    Repository::init(
        Arc::new(ObjectBackend::memory().expect("memory backend")),
        &Secret::passphrase("t"),
        opts,
    )
    .expect("init")
}

fn to(server: &KubeApi) -> Connection {
    Connection {
        kubeconfig: Some(server.kubeconfig()),
        context: None,
    }
}

fn reading(server: &KubeApi, page_size: u32) -> BackupOptions {
    BackupOptions {
        connection: to(server),
        page_size,
        ..Default::default()
    }
}

/// A component that backs up as `b` says (its restores print the order).
fn reader(b: BackupOptions) -> KubernetesComponent {
    KubernetesComponent::new(b, RestoreOptions::default(), RestoreMode::DryRun)
}

fn backup(repo: &Repository, c: &dyn Component) -> cairn::Result<(SnapshotId, Snapshot)> {
    let snaps = repo.snapshots()?;
    let rep = backup_component(repo, c, &ComponentRun::default(), &snaps)?;
    Ok((rep.id, rep.snapshot))
}

/// Every stored object of a snapshot, by path.
fn objects(repo: &Repository, id: &SnapshotId, s: &Snapshot) -> BTreeMap<String, Value> {
    s.paths
        .iter()
        .filter(|p| ObjectKey::from_path(p).is_some())
        .map(|p| {
            let mut b = Vec::new();
            repo.dump(id, p, &mut b).expect("dump");
            (p.clone(), serde_json::from_slice(&b).expect("stored JSON"))
        })
        .collect()
}

fn patches(server: &KubeApi) -> Vec<Value> {
    server
        .requests()
        .into_iter()
        .filter(|r| r["method"] == "PATCH")
        .collect()
}

const DEPLOY: &str = "kubernetes/apps/v1/Deployment/stoa-system/control-plane-api.json";
const SERVICE: &str = "kubernetes/core/v1/Service/stoa-system/control-plane-api.json";
const HEADLESS: &str = "kubernetes/core/v1/Service/stoa-system/postgres.json";
const NODEPORT: &str = "kubernetes/core/v1/Service/stoa-system/edge.json";
const PVC: &str = "kubernetes/core/v1/PersistentVolumeClaim/stoa-system/pg-backups-pvc.json";
const SECRET: &str = "kubernetes/core/v1/Secret/stoa-system/postgres-credentials.json";
const TOOL: &str = "kubernetes/gostoa.dev/v1/Tool/stoa-system/crm-search.json";
const CRD: &str =
    "kubernetes/apiextensions.k8s.io/v1/CustomResourceDefinition/_cluster/tools.gostoa.dev.json";
const HPA: &str =
    "kubernetes/autoscaling/v2/HorizontalPodAutoscaler/stoa-system/control-plane-api.json";

#[test]
fn a_backup_stores_one_clean_object_per_file_and_skips_what_must_not_come_back() {
    let server = KubeApi::platform();
    let repo = repo();
    let c = reader(reading(&server, 2));
    let (id, snap) = backup(&repo, &c).expect("backup");
    let objs = objects(&repo, &id, &snap);
    for p in [
        DEPLOY,
        SERVICE,
        HEADLESS,
        NODEPORT,
        PVC,
        SECRET,
        TOOL,
        CRD,
        HPA,
        "kubernetes/core/v1/Namespace/_cluster/stoa-system.json",
        "kubernetes/gostoa.dev/v1/ToolSet/stoa-system/acme-support.json",
        "kubernetes/rbac.authorization.k8s.io/v1/Role/stoa-system/tool-reconciler.json",
        "kubernetes/batch/v1/CronJob/stoa-system/pg-backup.json",
        "kubernetes/core/v1/Pod/stoa-system/debug-shell.json",
    ] {
        assert!(
            objs.contains_key(p),
            "{p} is not stored; stored: {:?}",
            objs.keys()
        );
    }
    // Never stored: nodes, events (both groups), leases, completed pods
    // and jobs, and the v1 copy of a group served at its preferred v2.
    for bad in [
        "/Node/",
        "/Event/",
        "/Lease/",
        "migrate-db",
        "pg-backup-29000000",
        "autoscaling/v1/",
    ] {
        assert!(!objs.keys().any(|p| p.contains(bad)), "{bad} was stored");
    }
    for (p, o) in &objs {
        let meta = o["metadata"].as_object().expect("metadata");
        for f in [
            "uid",
            "resourceVersion",
            "generation",
            "creationTimestamp",
            "managedFields",
        ] {
            assert!(!meta.contains_key(f), "{p} keeps metadata.{f}");
        }
        assert!(o.get("status").is_none(), "{p} keeps its status");
        assert_eq!(&ObjectKey::of(o).expect("key").path(), p);
    }
    assert!(objs[SERVICE]["spec"].get("clusterIP").is_none());
    assert!(objs[SERVICE]["spec"].get("clusterIPs").is_none());
    assert_eq!(objs[HEADLESS]["spec"]["clusterIP"], "None");
    assert!(objs[NODEPORT]["spec"]["ports"][0].get("nodePort").is_none());
    assert!(objs[PVC]["spec"].get("volumeName").is_none());
    assert!(objs[PVC]["metadata"].get("annotations").is_none());
    assert!(
        objs["kubernetes/core/v1/Pod/stoa-system/debug-shell.json"]["spec"]
            .get("nodeName")
            .is_none()
    );
    assert_eq!(objs[SECRET]["data"]["PGPASSWORD"], "czNjcjN0LVBnITIwMjY=");
    assert_eq!(objs[TOOL]["spec"]["method"], "POST");
    // Paged lists: every list asked for 2 at a time, and followed `continue`.
    let lists: Vec<Value> = server
        .requests()
        .into_iter()
        .filter(|r| r["method"] == "GET" && r["query"].get("limit").is_some())
        .collect();
    assert!(lists.iter().all(|r| r["query"]["limit"] == "2"));
    assert!(
        lists.iter().any(|r| r["query"].get("continue").is_some()),
        "no list was paged"
    );
    assert!(!lists
        .iter()
        .any(|r| r["path"] == "/api/v1/nodes" || r["path"] == "/api/v1/events"));
    // The index and the consistency marker.
    let mut b = Vec::new();
    repo.dump(&id, INDEX_STREAM, &mut b).expect("index");
    let index = cairn_kubernetes::Index::parse(&b).expect("index parses");
    assert_eq!(index.objects(), objs.len() as u64);
    assert_eq!(index.skipped.get("completed pods"), Some(&1));
    assert_eq!(index.skipped.get("completed jobs"), Some(&1));
    let rv = snap
        .info
        .get("marker.kubernetes.rv.deployments.apps.*")
        .expect("a list's resourceVersion");
    assert!(rv.parse::<u64>().is_ok(), "{rv}");
    assert_eq!(snap.info["kubernetes.objects"], objs.len().to_string());
    let v = c
        .verify(&RestoreCx {
            repo: &repo,
            id,
            snapshot: &snap,
            log: None,
        })
        .expect("verify");
    assert_eq!(v.items, objs.len() as u64);
}

#[test]
fn an_unchanged_cluster_adds_nothing_to_the_repository() {
    let server = KubeApi::platform();
    let repo = repo();
    let c = reader(reading(&server, 500));
    let (id1, first) = backup(&repo, &c).expect("first");
    let (id2, second) = backup(&repo, &c).expect("second");
    for p in &first.paths {
        let a = repo.find_path(&id1, p).expect("first node");
        let b = repo.find_path(&id2, p).expect("second node");
        assert_eq!(
            format!("{:?}", a.content()),
            format!("{:?}", b.content()),
            "{p} changed"
        );
    }
    assert_eq!(first.paths, second.paths);
    // Stream nodes carry the time of the backup, so each directory's tree
    // is new; no object's content is.
    let mut dirs: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    for p in &second.paths {
        let mut at = p.as_str();
        while let Some((parent, _)) = at.rsplit_once('/') {
            dirs.insert(parent);
            at = parent;
        }
    }
    let trees = dirs.len() as u64 + 1;
    assert!(
        first.summary.blobs_added > trees + 20,
        "{}",
        first.summary.blobs_added
    );
    assert!(
        second.summary.blobs_added <= trees,
        "{} blobs added, {trees} trees",
        second.summary.blobs_added
    );
}

#[test]
fn selections_narrow_a_backup() {
    let server = KubeApi::platform();
    let repo = repo();
    let mut b = reading(&server, 500);
    b.selection = Selection {
        namespaces: vec!["team-b".into()],
        ..Default::default()
    };
    let (id, snap) = backup(&repo, &reader(b.clone())).expect("namespace backup");
    let got: Vec<String> = objects(&repo, &id, &snap).into_keys().collect();
    assert_eq!(
        got,
        [
            "kubernetes/core/v1/ConfigMap/team-b/team-b-settings.json",
            "kubernetes/core/v1/Namespace/_cluster/team-b.json",
        ]
    );
    // A namespace selection takes the CRDs of the custom resources it takes.
    b.selection = Selection {
        namespaces: vec!["stoa-system".into()],
        ..Default::default()
    };
    let (id, snap) = backup(&repo, &reader(b.clone())).expect("stoa backup");
    let got = objects(&repo, &id, &snap);
    assert!(got.contains_key(CRD) && got.contains_key(TOOL));
    assert!(!got
        .keys()
        .any(|p| p.contains("StorageClass") || p.contains("team-b")));
    b.selection = Selection::default();
    b.labels = Some("tier=web".into());
    b.secrets = false;
    let (id, snap) = backup(&repo, &reader(b.clone())).expect("label backup");
    let got: Vec<String> = objects(&repo, &id, &snap).into_keys().collect();
    assert_eq!(
        got,
        ["kubernetes/core/v1/ConfigMap/team-b/team-b-settings.json"]
    );
    assert!(server
        .requests()
        .iter()
        .filter(|r| r["query"].get("limit").is_some())
        .all(|r| r["path"] != "/api/v1/secrets" || r["query"]["labelSelector"] != "tier=web"));
    b.labels = None;
    b.selection = Selection {
        kinds: vec!["deployments.apps".into(), "Tool".into()],
        ..Default::default()
    };
    let (id, snap) = backup(&repo, &reader(b)).expect("kinds backup");
    let got: Vec<String> = objects(&repo, &id, &snap).into_keys().collect();
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got
        .iter()
        .all(|p| p.contains("/Deployment/") || p.contains("/Tool/")));
}

fn platform_snapshot() -> (KubeApi, Repository, SnapshotId, Snapshot) {
    let server = KubeApi::platform();
    let repo = repo();
    let c = reader(reading(&server, 500));
    let (id, snap) = backup(&repo, &c).expect("backup");
    (server, repo, id, snap)
}

fn restore_with(
    repo: &Repository,
    id: SnapshotId,
    snap: &Snapshot,
    r: RestoreOptions,
    mode: RestoreMode,
) -> cairn::Result<cairn_plan::Outcome> {
    let c = KubernetesComponent::new(BackupOptions::default(), r, mode);
    c.restore(&RestoreCx {
        repo,
        id,
        snapshot: snap,
        log: None,
    })
}

#[test]
fn a_restore_applies_server_side_in_a_safe_order_and_round_trips() {
    let (_source, repo, id, snap) = platform_snapshot();
    let stored = objects(&repo, &id, &snap);
    let target = KubeApi::start(&[]);
    let r = RestoreOptions {
        connection: to(&target),
        ..Default::default()
    };
    let out = restore_with(&repo, id, &snap, r, RestoreMode::Apply).expect("restore");
    let applied = patches(&target);
    assert_eq!(out.items, applied.len() as u64);
    // Two objects are left to their controllers: the Deployment's
    // ReplicaSet and that ReplicaSet's Pod.
    assert_eq!(applied.len(), stored.len() - 2);
    assert!(out
        .details
        .iter()
        .any(|d| d.contains("owned by a ReplicaSet") && d.contains("owned by a Deployment")));
    let kinds: Vec<String> = applied
        .iter()
        .map(|p| p["body"]["kind"].as_str().expect("kind").to_string())
        .collect();
    let first = |k: &str| {
        kinds
            .iter()
            .position(|x| x == k)
            .unwrap_or_else(|| panic!("{k} not applied"))
    };
    let last = |k: &str| kinds.iter().rposition(|x| x == k).expect("kind");
    assert_eq!(last("CustomResourceDefinition"), 1);
    for (a, b) in [
        ("CustomResourceDefinition", "Namespace"),
        ("Namespace", "StorageClass"),
        ("StorageClass", "PersistentVolumeClaim"),
        ("PersistentVolumeClaim", "ServiceAccount"),
        ("ServiceAccount", "Secret"),
        ("Secret", "ConfigMap"),
        ("ConfigMap", "Pod"),
        ("Pod", "Service"),
        ("Service", "Deployment"),
        ("Namespace", "Tool"),
    ] {
        assert!(last(a) < first(b), "{a} after {b}: {kinds:?}");
    }
    // The CRDs were read back (Established) before anything else was applied.
    let reqs = target.requests();
    let crd_get = reqs
        .iter()
        .position(|r| {
            r["method"] == "GET"
                && r["path"]
                    .as_str()
                    .is_some_and(|p| p.ends_with("/customresourcedefinitions/tools.gostoa.dev"))
        })
        .expect("CRD read back");
    let ns_patch = reqs
        .iter()
        .position(|r| r["method"] == "PATCH" && r["body"]["kind"] == "Namespace")
        .expect("ns");
    assert!(crd_get < ns_patch);
    for p in &applied {
        assert_eq!(p["content_type"], "application/apply-patch+yaml");
        assert_eq!(p["query"]["fieldManager"], "cairn");
        assert_eq!(p["query"]["force"], "true");
        let key = ObjectKey::of(&p["body"]).expect("key");
        assert_eq!(
            &p["body"],
            &stored[&key.path()],
            "{} was not sent as stored",
            key.path()
        );
    }
    // What the target holds now backs up to the same objects.
    let repo2 = self::repo();
    let (id2, snap2) =
        backup(&repo2, &reader(reading(&target, 500))).expect("backup of the target");
    let again = objects(&repo2, &id2, &snap2);
    let want: BTreeMap<_, _> = stored
        .into_iter()
        .filter(|(p, _)| !p.contains("7c9f"))
        .collect();
    assert_eq!(again, want);
}

#[test]
fn a_dry_run_prints_the_order_and_namespace_and_kind_narrow_it() {
    let (_source, repo, id, snap) = platform_snapshot();
    // The dry run connects to nothing: the kubeconfig does not exist.
    let nowhere = Connection {
        kubeconfig: Some("/nonexistent/kubeconfig".into()),
        context: None,
    };
    let r = RestoreOptions {
        connection: nowhere.clone(),
        ..Default::default()
    };
    let out = restore_with(&repo, id, &snap, r, RestoreMode::DryRun).expect("dry run");
    assert!(
        out.details[0].contains("1. CustomResourceDefinition"),
        "{:?}",
        out.details
    );
    assert!(out.details[2].contains("Namespace"), "{:?}", out.details);
    let order = out.data["order"].as_array().expect("order");
    assert_eq!(order.len() as u64, out.items);
    let narrowed = |sel: Selection| {
        let r = RestoreOptions {
            connection: nowhere.clone(),
            selection: sel,
            ..Default::default()
        };
        let o = restore_with(&repo, id, &snap, r, RestoreMode::DryRun).expect("narrowed dry run");
        o.data["order"]
            .as_array()
            .expect("order")
            .iter()
            .map(|v| v.as_str().expect("path").to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        narrowed(Selection {
            namespaces: vec!["team-b".into()],
            ..Default::default()
        }),
        [
            "kubernetes/core/v1/Namespace/_cluster/team-b.json",
            "kubernetes/core/v1/ConfigMap/team-b/team-b-settings.json",
        ]
    );
    let tools = narrowed(Selection {
        kinds: vec!["tools.gostoa.dev".into()],
        ..Default::default()
    });
    assert_eq!(tools.len(), 2);
    let stoa = narrowed(Selection {
        namespaces: vec!["stoa-system".into()],
        ..Default::default()
    });
    assert!(
        stoa[0].contains("CustomResourceDefinition")
            && stoa[2].ends_with("Namespace/_cluster/stoa-system.json"),
        "{stoa:?}"
    );
    assert!(!stoa
        .iter()
        .any(|p| p.contains("team-b") || p.contains("StorageClass")));
    let none = RestoreOptions {
        connection: nowhere,
        selection: Selection {
            kinds: vec!["Gateway".into()],
            ..Default::default()
        },
        ..Default::default()
    };
    let e = restore_with(&repo, id, &snap, none, RestoreMode::DryRun).expect_err("empty selection");
    assert!(e.to_string().contains("nothing to restore"), "{e}");
}

fn kubectl(server: &KubeApi, cache: &Path, args: &[&str]) -> std::process::Output {
    let ok = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(ok, "kubectl is missing: run the suite with scripts/test (it installs Debian's kubernetes-client), or `apt-get install kubernetes-client`");
    Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(server.kubeconfig())
        .arg("--cache-dir")
        .arg(cache)
        .args(args)
        .output()
        .expect("run kubectl")
}

#[test]
fn yaml_files_apply_with_real_kubectl_in_two_steps() {
    let (_source, repo, id, snap) = platform_snapshot();
    let stored = objects(&repo, &id, &snap);
    let dir = tempfile::tempdir().expect("tmp");
    let yaml = dir.path().join("yaml");
    let out = restore_with(
        &repo,
        id,
        &snap,
        RestoreOptions::default(),
        RestoreMode::Yaml(yaml.clone()),
    )
    .expect("yaml");
    assert!(out
        .details
        .iter()
        .any(|d| d.contains("kubectl apply --server-side")));
    assert_eq!(
        std::fs::read_dir(yaml.join("0-crds"))
            .expect("crds")
            .count(),
        2
    );
    // A second run refuses to write into the same directory.
    let again = restore_with(
        &repo,
        id,
        &snap,
        RestoreOptions::default(),
        RestoreMode::Yaml(yaml.clone()),
    );
    assert!(again
        .expect_err("non-empty")
        .to_string()
        .contains("not empty"));
    let target = KubeApi::start(&[]);
    let cache = dir.path().join("kube-cache");
    for sub in ["0-crds", "1-objects"] {
        let o = kubectl(
            &target,
            &cache,
            &[
                "apply",
                "--server-side",
                "--validate=false",
                "-R",
                "-f",
                yaml.join(sub).to_str().expect("utf-8"),
            ],
        );
        assert!(
            o.status.success(),
            "kubectl apply {sub}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let applied = patches(&target);
    assert_eq!(applied.len() as u64, out.items);
    for p in &applied {
        assert_eq!(p["content_type"], "application/apply-patch+yaml");
        let key = ObjectKey::of(&p["body"]).expect("key");
        let mut want = stored[&key.path()].clone();
        let mut got = p["body"].clone();
        // kubectl adds the namespace it applies into; nothing else may differ.
        for v in [&mut want, &mut got] {
            if let Some(m) = v["metadata"].as_object_mut() {
                m.remove("namespace");
            }
        }
        assert_eq!(got, want, "{}", key.path());
    }
}

#[test]
fn kubectl_sees_on_the_fixture_server_what_cairn_stores() {
    let (server, repo, id, snap) = platform_snapshot();
    let stored = objects(&repo, &id, &snap);
    let dir = tempfile::tempdir().expect("tmp");
    let o = kubectl(
        &server,
        dir.path(),
        &[
            "get",
            "deployments,configmaps,tools,toolsets,services",
            "-A",
            "-o",
            "json",
            "--chunk-size=1",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let list: Value = serde_json::from_slice(&o.stdout).expect("kubectl's JSON");
    let items = list["items"].as_array().expect("items");
    assert_eq!(
        items.len(),
        stored
            .keys()
            .filter(|p| [
                "/Deployment/",
                "/ConfigMap/",
                "/Tool/",
                "/ToolSet/",
                "/Service/"
            ]
            .iter()
            .any(|k| p.contains(k)))
            .count()
    );
    for it in items {
        let mut it = it.clone();
        let api = it["apiVersion"].as_str().expect("apiVersion").to_string();
        let kind = it["kind"].as_str().expect("kind").to_string();
        cairn_kubernetes::clean(&mut it, &api, &kind);
        let key = ObjectKey::of(&it).expect("key");
        assert_eq!(&it, &stored[&key.path()], "{}", key.path());
    }
}

#[test]
fn failures_are_named_and_nothing_after_an_unestablished_crd_is_applied() {
    let repo = repo();
    let forbidding = KubeApi::start(&[
        "--manifests",
        cairn_testkit::shared_manifests().to_str().expect("utf-8"),
        "--forbid",
        "secrets",
    ]);
    let e = backup(&repo, &reader(reading(&forbidding, 500))).expect_err("forbidden");
    let msg = e.to_string();
    assert!(
        msg.contains("/api/v1/secrets") && msg.contains("forbidden"),
        "{msg}"
    );
    assert!(
        repo.snapshots().expect("list").is_empty(),
        "a failed backup saved a snapshot"
    );
    drop(forbidding);
    let gone = KubeApi::platform();
    let kubeconfig = gone.kubeconfig();
    let copy = tempfile::NamedTempFile::new().expect("tmp");
    std::fs::copy(&kubeconfig, copy.path()).expect("copy kubeconfig");
    let url = gone.url.clone();
    drop(gone);
    let b = BackupOptions {
        connection: Connection {
            kubeconfig: Some(copy.path().into()),
            context: None,
        },
        ..Default::default()
    };
    let e = backup(&repo, &reader(b)).expect_err("no server");
    assert!(e.to_string().contains(&url), "{e}");
    let e = backup(
        &repo,
        &reader(BackupOptions {
            connection: Connection {
                kubeconfig: Some("/nonexistent/kc".into()),
                context: None,
            },
            ..Default::default()
        }),
    )
    .expect_err("no kubeconfig");
    assert!(e.to_string().contains("/nonexistent/kc"), "{e}");

    let (_source, repo, id, snap) = platform_snapshot();
    let stuck = KubeApi::start(&["--never-establish"]);
    let r = RestoreOptions {
        connection: to(&stuck),
        wait: std::time::Duration::from_millis(500),
        ..Default::default()
    };
    let e = restore_with(&repo, id, &snap, r, RestoreMode::Apply).expect_err("never established");
    assert!(e.to_string().contains("not Established"), "{e}");
    let kinds: Vec<Value> = patches(&stuck)
        .iter()
        .map(|p| p["body"]["kind"].clone())
        .collect();
    assert_eq!(
        kinds,
        ["CustomResourceDefinition", "CustomResourceDefinition"]
    );
}

#[test]
fn a_snapshot_of_something_else_is_refused() {
    let repo = repo();
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("f"), b"x").expect("write");
    let rep = repo
        .backup(cairn::BackupOptions::default().paths(vec![dir.path().to_path_buf()]))
        .expect("files backup");
    let snap = repo.load_snapshot(&rep.id).expect("load");
    let e = restore_with(
        &repo,
        rep.id,
        &snap,
        RestoreOptions::default(),
        RestoreMode::DryRun,
    )
    .expect_err("not kubernetes");
    assert!(e.to_string().contains("holds no Kubernetes backup"), "{e}");
}

#[test]
fn plan_settings_are_checked() {
    let parse = |text: &str| {
        let mut t = cairn_plan::Table::parse("plan.toml", text).expect("toml");
        let mut s = t.table("settings").expect("s").expect("settings");
        let mut r = t
            .table("restore")
            .expect("r")
            .unwrap_or_else(|| cairn_plan::Table::parse("plan.toml", "").expect("empty"));
        cairn_kubernetes::from_settings(&mut s, &mut r).map(|c| c.restore_target())
    };
    let ok = parse("[settings]\nnamespaces = [\"a\"]\n[restore]\nyaml_dir = \"/tmp/y\"\n")
        .expect("valid");
    assert!(ok.contains("/tmp/y"), "{ok}");
    assert!(parse("[settings]\npage_size = 0\n")
        .expect_err("page 0")
        .to_string()
        .contains("page_size"));
    let both =
        parse("[settings]\n[restore]\nyaml_dir = \"/y\"\ndry_run = true\n").expect_err("both");
    assert!(both.to_string().contains("exclude each other"), "{both}");
}

#[test]
fn an_expired_continue_token_falls_back_to_one_whole_list() {
    let m = cairn_testkit::shared_manifests();
    let m = m.to_str().expect("utf-8");
    let expiring = KubeApi::start(&["--manifests", m, "--extras", "--expire-continue"]);
    let steady = KubeApi::start(&["--manifests", m, "--extras"]);
    let repo = repo();
    let (id, snap) = backup(&repo, &reader(reading(&expiring, 2))).expect("backup");
    let (id2, snap2) = backup(&repo, &reader(reading(&steady, 2))).expect("backup");
    assert_eq!(objects(&repo, &id, &snap), objects(&repo, &id2, &snap2));
    let lists: Vec<Value> = expiring
        .requests()
        .into_iter()
        .filter(|r| r["method"] == "GET" && r["query"].get("labelSelector").is_none())
        .filter(|r| {
            r["path"]
                .as_str()
                .is_some_and(|p| p.matches('/').count() >= 3)
        })
        .collect();
    let first_continue = lists
        .iter()
        .position(|r| r["query"].get("continue").is_some())
        .expect("a paged list");
    let next = &lists[first_continue + 1];
    assert_eq!(next["path"], lists[first_continue]["path"]);
    assert!(next["query"].get("limit").is_none(), "{next}");
}

#[test]
fn a_restore_goes_on_past_a_refused_object_and_names_every_failure() {
    let (_source, repo, id, snap) = platform_snapshot();
    let target = KubeApi::start(&["--reject", "Service"]);
    let r = RestoreOptions {
        connection: to(&target),
        ..Default::default()
    };
    let e = restore_with(&repo, id, &snap, r, RestoreMode::Apply).expect_err("refused services");
    let msg = e.to_string();
    let services = ["control-plane-api", "postgres", "edge"];
    for s in services {
        assert!(msg.contains(&format!("Service stoa-system/{s}")), "{msg}");
    }
    assert!(
        msg.contains("3 failed") && msg.contains("rejected by the fixture"),
        "{msg}"
    );
    // Everything after the Services in the order was still applied.
    let kinds: Vec<Value> = patches(&target)
        .iter()
        .map(|p| p["body"]["kind"].clone())
        .collect();
    assert!(kinds.iter().any(|k| k == "Deployment") && kinds.iter().any(|k| k == "Tool"));
}

#[test]
fn a_drill_writes_the_yaml_files_and_reads_them_back() {
    let (_source, repo, id, snap) = platform_snapshot();
    let scratch = tempfile::tempdir().expect("tmp");
    let c = reader(BackupOptions::default());
    let cx = RestoreCx {
        repo: &repo,
        id,
        snapshot: &snap,
        log: None,
    };
    let o = c.drill(&cx, scratch.path()).expect("drill");
    let n = objects(&repo, &id, &snap).len();
    assert_eq!(o.items, n as u64);
    assert!(
        o.details
            .iter()
            .any(|d| d == &format!("{n} YAML files written and read back")),
        "{:?}",
        o.details
    );
}
