//! `cairn backup kubernetes` and `cairn restore kubernetes` through the real
//! binary, against the fixture Kubernetes API server, and a plan with a
//! `kubernetes` component.

mod common;
use cairn_testkit::KubeApi;
use common::*;

#[test]
fn backup_and_restore_kubernetes_from_the_command_line() {
    let env = Env::new();
    let (repo, key) = (env.path("repo"), env.path("key"));
    env.init_repo(&repo, &key);
    let source = KubeApi::platform();
    let kc = source.kubeconfig();
    let kc = kc.to_str().expect("utf-8");
    let o = env.run_with(
        &repo,
        &key,
        &[
            "backup",
            "kubernetes",
            "--kubeconfig",
            kc,
            "--exclude-namespace",
            "team-b",
        ],
    );
    assert_code(&o, 0);
    assert!(
        stdout(&o).contains("Kubernetes resources"),
        "{}",
        stdout(&o)
    );
    let o = env.run_with(&repo, &key, &["ls", "latest"]);
    assert_code(&o, 0);
    let listing = stdout(&o);
    assert!(
        listing.contains("kubernetes/gostoa.dev/v1/Tool/stoa-system/crm-search.json"),
        "{listing}"
    );
    assert!(!listing.contains("team-b-settings"), "{listing}");
    // One object as JSON, which kubectl apply -f - accepts.
    let o = env.run_with(
        &repo,
        &key,
        &[
            "dump",
            "latest",
            "kubernetes/apps/v1/Deployment/stoa-system/control-plane-api.json",
        ],
    );
    assert_code(&o, 0);
    let d: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    assert_eq!(d["kind"], "Deployment");

    let o = env.run_with(
        &repo,
        &key,
        &[
            "restore",
            "kubernetes",
            "latest",
            "--dry-run",
            "--namespace",
            "stoa-system",
        ],
    );
    assert_code(&o, 0);
    let out = stdout(&o);
    let first = out.lines().next().expect("a line");
    assert!(first.contains("1. CustomResourceDefinition"), "{out}");
    assert!(out.contains("would apply"), "{out}");

    let target = KubeApi::start(&[]);
    let tk = target.kubeconfig();
    let o = env.run_with(
        &repo,
        &key,
        &[
            "--json",
            "restore",
            "kubernetes",
            "latest",
            "--kubeconfig",
            tk.to_str().expect("utf-8"),
        ],
    );
    assert_code(&o, 0);
    let v: serde_json::Value =
        serde_json::from_str(stdout(&o).lines().last().expect("json")).expect("JSON");
    let applied = target
        .requests()
        .iter()
        .filter(|r| r["method"] == "PATCH")
        .count();
    assert_eq!(v["items"].as_u64(), Some(applied as u64));
    assert!(applied > 15, "{applied}");

    let yaml = env.path("yaml");
    let o = env.run_with(
        &repo,
        &key,
        &[
            "restore",
            "kubernetes",
            "latest",
            "--to-yaml",
            yaml.to_str().expect("utf-8"),
        ],
    );
    assert_code(&o, 0);
    assert!(yaml.join("0-crds").is_dir() && yaml.join("1-objects").is_dir());

    // The same files through `cairn dump kubernetes`.
    let dumped = env.path("dumped");
    let o = env.run_with(
        &repo,
        &key,
        &[
            "dump",
            "kubernetes",
            "latest",
            dumped.to_str().expect("utf-8"),
            "--kind",
            "Tool",
        ],
    );
    assert_code(&o, 0);
    let files: Vec<String> = std::fs::read_dir(dumped.join("1-objects"))
        .expect("objects")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(
        files.iter().all(|f| f.contains("-Tool-stoa-system-")),
        "{files:?}"
    );
    let o = env.run_with(&repo, &key, &["dump", "latest"]);
    assert_code(&o, 2);

    // Both at once is refused by the parser.
    let o = env.run_with(
        &repo,
        &key,
        &[
            "restore",
            "kubernetes",
            "latest",
            "--dry-run",
            "--to-yaml",
            "/tmp/x",
        ],
    );
    assert_code(&o, 2);
}

#[test]
fn a_plan_backs_up_a_kubernetes_component() {
    let env = Env::new();
    let (repo, key) = (env.path("repo"), env.path("key"));
    env.init_repo(&repo, &key);
    let source = KubeApi::platform();
    let plan = env.path("k8s.toml");
    std::fs::write(
        &plan,
        format!(
            "name = \"k8s\"\n[[component]]\nname = \"crds\"\nkind = \"kubernetes\"\n[component.settings]\nkubeconfig = {:?}\n\
             kinds = [\"customresourcedefinitions.apiextensions.k8s.io\", \"tools.gostoa.dev\", \"toolsets.gostoa.dev\"]\n",
            source.kubeconfig().to_str().expect("utf-8")
        ),
    )
    .expect("write plan");
    let p = plan.to_str().expect("utf-8");
    assert_code(&env.run_with(&repo, &key, &["plan", "run", p]), 0);
    let o = env.run_with(&repo, &key, &["ls", "latest"]);
    let files: Vec<String> = stdout(&o)
        .lines()
        .filter(|l| l.ends_with(".json") && l.contains("kubernetes/"))
        .map(str::to_string)
        .collect();
    assert_eq!(files.len(), 5, "{files:?}");
    assert_code(&env.run_with(&repo, &key, &["plan", "verify", p]), 0);
}
