//! A plan built in code and the same plan read from a file store the same
//! snapshots: same sources, same facts, same trees.

use cairn::{Argon2Params, InitOptions, ObjectBackend, Repository, Secret};
use cairn_plan::{
    parse_plan, run_plan, CommandSource, Files, Keep, Plan, PlanComponent, Registry, RunOptions,
    RunStatus,
};
use std::collections::BTreeSet;
use std::sync::Arc;

fn repo() -> Repository {
    let opts = InitOptions::default().argon2(Argon2Params::insecure_for_tests());
    Repository::init(
        Arc::new(ObjectBackend::memory().expect("memory")),
        &Secret::passphrase("pw"),
        opts,
    )
    .expect("init")
}

fn info_keys(info: &std::collections::BTreeMap<String, String>) -> BTreeSet<String> {
    info.keys().cloned().collect()
}

#[test]
fn a_plan_built_in_code_runs_exactly_as_one_read_from_a_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("tmp")).expect("mkdir");
    std::fs::write(src.join("a.txt"), b"alpha").expect("write");
    std::fs::write(src.join("tmp/x"), b"temp").expect("write");
    let excludes = cairn_plan::preset("seed-temp").expect("preset");
    let code = Plan::new("same")
        .state_dir(dir.path().join("state-code"))
        .component(
            PlanComponent::new(
                "db",
                Arc::new(CommandSource::new("printf 'INSERT 1;'", "db/dump.sql")),
            )
            .keep(Keep::Forever)
            .older_than(vec!["content".into()]),
        )
        .component(PlanComponent::new(
            "content",
            Arc::new(Files::new(vec![src.clone()]).excludes(excludes)),
        ));
    let text = format!(
        r#"name = "same"
state_dir = "{}"
[[component]]
name = "db"
kind = "command"
keep = "forever"
older_than = ["content"]
[component.settings]
command = "printf 'INSERT 1;'"
stream = "db/dump.sql"
[[component]]
name = "content"
kind = "files"
[component.settings]
paths = ["{}"]
exclude_preset = "seed-temp"
"#,
        dir.path().join("state-file").display(),
        src.display()
    );
    let file = parse_plan("same.toml", &text, &Registry::builtin()).expect("parse");
    let (r1, r2) = (repo(), repo());
    let a = run_plan(&r1, &code, &RunOptions::default()).expect("code plan");
    let b = run_plan(&r2, &file, &RunOptions::default()).expect("file plan");
    assert_eq!(a.status, RunStatus::Ok);
    assert_eq!(b.status, RunStatus::Ok);
    for (x, y) in a.components.iter().zip(&b.components) {
        let (sx, sy) = (
            &x.backup.as_ref().expect("stored").snapshot,
            &y.backup.as_ref().expect("stored").snapshot,
        );
        assert_eq!(x.name, y.name);
        assert_eq!(sx.source, sy.source);
        assert_eq!(sx.paths, sy.paths);
        assert_eq!(info_keys(&sx.info), info_keys(&sy.info));
        for k in [
            "plan.name",
            "plan.component",
            "plan.kind",
            "plan.mode",
            "plan.consistency",
        ] {
            assert_eq!(sx.info.get(k), sy.info.get(k), "{k}");
        }
        assert_eq!(sx.summary.total_bytes, sy.summary.total_bytes);
        assert_eq!(sx.summary.files, sy.summary.files);
    }
    let content = &a.components[1].backup.as_ref().expect("stored").snapshot;
    assert_eq!(content.summary.files, 1, "tmp/ is excluded");
    assert_eq!(content.info["plan.mode"], "hot");
}

#[test]
fn a_plan_with_a_bad_restore_order_or_rule_is_refused_before_it_runs() {
    let f = || Arc::new(Files::new(vec!["/nonexistent".into()]));
    let mut p = Plan::new("p")
        .component(PlanComponent::new("a", f()))
        .component(PlanComponent::new("b", f()).older_than(vec!["a".into()]));
    let e = p
        .validate()
        .expect_err("b after a cannot be older")
        .to_string();
    assert!(e.contains("must come before it"), "{e}");
    p.components[1].older_than.clear();
    p.restore.order = vec!["a".into()];
    let e = p
        .validate()
        .expect_err("b missing from the order")
        .to_string();
    assert!(e.contains("exactly once"), "{e}");
    let e = run_plan(&repo(), &p, &RunOptions::default()).expect_err("refused");
    assert!(e.to_string().contains("exactly once"));
}
