//! The Keycloak component against a stand-in `kc.sh` (no Keycloak server
//! can run here) that takes the real command line and writes real export
//! files, in every `--users` layout, built from a real Keycloak 26.6.0
//! export (`../shared/fixtures/keycloak/`).

use cairn::{Argon2Params, InitOptions, ObjectBackend, Repository, Secret, SnapshotId};
use cairn_keycloak::{ExportOptions, ImportOptions, KeycloakComponent, UsersMode};
use cairn_plan::{backup_component, Component, ComponentRun, RestoreCx};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn fixture() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/keycloak/migration-realm-26.6.0.json");
    assert!(
        p.exists(),
        "the Keycloak fixture is missing: {} (../shared beside the checkout)",
        p.display()
    );
    p
}

fn standin() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/kc-standin.py")
        .display()
        .to_string()
}

struct Rig {
    repo: Repository,
    dir: tempfile::TempDir,
}

fn rig() -> Rig {
    std::env::set_var("KC_FIXTURE", fixture());
    let opts = InitOptions::default().argon2(Argon2Params::insecure_for_tests());
    let repo = Repository::init(
        Arc::new(ObjectBackend::memory().expect("step failed")),
        &Secret::passphrase("t"),
        opts,
    )
    .expect("step failed");
    Rig {
        repo,
        dir: tempfile::tempdir().expect("step failed"),
    }
}

fn component(r: &Rig, mode: UsersMode, per_file: u64, env: &[(&str, &str)]) -> KeycloakComponent {
    // The knobs go through `env` so that parallel tests do not share them.
    let mut kc = vec!["env".to_string()];
    kc.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
    kc.extend(["python3".to_string(), standin()]);
    KeycloakComponent::new(ExportOptions {
        kc: kc.clone(),
        work_dir: r.dir.path().to_path_buf(),
        users: mode,
        users_per_file: per_file,
        ..Default::default()
    })
    .import_into(ImportOptions {
        kc,
        work_dir: r.dir.path().to_path_buf(),
        override_existing: true,
        ..Default::default()
    })
}

fn backup(r: &Rig, c: &KeycloakComponent) -> cairn::Result<(SnapshotId, cairn::Snapshot)> {
    let snaps = r.repo.snapshots()?;
    let rep = backup_component(&r.repo, c, &ComponentRun::default(), &snaps)?;
    Ok((rep.id, rep.snapshot))
}

fn info<'a>(s: &'a cairn::Snapshot, k: &str) -> &'a str {
    s.info
        .get(&format!("keycloak.{k}"))
        .map(String::as_str)
        .unwrap_or("")
}

#[test]
fn every_users_layout_is_captured_whole_checked_and_imported_back() {
    for (mode, per, files) in [
        (UsersMode::RealmFile, 50, 3),
        (UsersMode::SameFile, 50, 5),
        (UsersMode::DifferentFiles, 1, 8),
        (UsersMode::DifferentFiles, 2, 6),
    ] {
        let r = rig();
        let state = r.dir.path().join("server");
        let c = component(
            &r,
            mode,
            per,
            &[("KC_STATE", state.to_str().expect("step failed"))],
        );
        let (id, s) = backup(&r, &c).expect("step failed");
        assert_eq!(info(&s, "files"), files.to_string(), "{mode:?} {per}");
        assert_eq!(info(&s, "realms"), "Migration,Migration2,master");
        assert_eq!(info(&s, "users"), "5");
        assert_eq!(info(&s, "realm.Migration.users"), "3");
        assert_eq!(info(&s, "realm.Migration.clients"), "10");
        assert_eq!(info(&s, "realm.Migration.roles"), "33");
        assert_eq!(info(&s, "realm.Migration.identity_providers"), "5");
        assert_eq!(info(&s, "realm.Migration2.users"), "0");
        assert_eq!(info(&s, "realm.master.users"), "2");
        assert_eq!(info(&s, "realm.master.roles"), "70");
        let cx = RestoreCx {
            repo: &r.repo,
            id,
            snapshot: &s,
            log: None,
        };
        let v = c.verify(&cx).expect("step failed");
        assert_eq!(v.items, files);
        let out = c.restore(&cx).expect("step failed");
        assert!(
            out.summary.contains("3 realm(s) with 5 users"),
            "{}",
            out.summary
        );
        // What the server holds now: every user of the fixture, by id.
        let fixture: serde_json::Value =
            serde_json::from_slice(&std::fs::read(fixture()).expect("step failed"))
                .expect("step failed");
        for realm in fixture.as_array().expect("step failed") {
            let name = realm["realm"].as_str().expect("step failed");
            let held: serde_json::Value = serde_json::from_slice(
                &std::fs::read(state.join(format!("{name}.json"))).expect("step failed"),
            )
            .expect("step failed");
            let ids = |v: &serde_json::Value| {
                let mut x: Vec<String> = v["users"]
                    .as_array()
                    .map_or(vec![], |a| a.iter().map(|u| u["id"].to_string()).collect());
                x.sort();
                x
            };
            assert_eq!(ids(&held), ids(realm), "{mode:?}: users of {name}");
            assert_eq!(held["clients"], realm["clients"], "{name}");
        }
        // Nothing is left on disk: export and import directories hold secrets.
        let left: Vec<_> = std::fs::read_dir(r.dir.path())
            .expect("step failed")
            .map(|e| e.expect("step failed").file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("server")], "{left:?}");
    }
}

#[test]
fn a_damaged_export_fails_the_backup_names_the_file_and_stores_nothing() {
    let secret = {
        let f: serde_json::Value =
            serde_json::from_slice(&std::fs::read(fixture()).expect("step failed"))
                .expect("step failed");
        f[0]["users"]
            .as_array()
            .expect("step failed")
            .iter()
            .find_map(|u| {
                u["credentials"][0]["secretData"]
                    .as_str()
                    .map(str::to_string)
            })
            .expect("step failed")
    };
    for (damage, words) in [
        ("missing-users-file", "not a complete sequence"),
        ("truncate-realm", "does not parse"),
        (
            "short-users-file",
            "holds 1 users, but the export wrote 2 per file",
        ),
        ("duplicate-user", "appears twice"),
    ] {
        let r = rig();
        let c = component(
            &r,
            UsersMode::DifferentFiles,
            2,
            &[("KC_EXTRA_USERS", "6"), ("KC_DAMAGE", damage)],
        );
        let err = backup(&r, &c).expect_err("must fail").to_string();
        assert!(err.contains(words), "{damage}: {err}");
        assert!(err.contains(".json"), "{damage}: names the file: {err}");
        assert!(
            !err.contains(&secret[..20]),
            "{damage}: the error shows a secret"
        );
        assert!(
            r.repo.snapshots().expect("step failed").is_empty(),
            "{damage}: nothing stored"
        );
    }
    let r = rig();
    let c = component(&r, UsersMode::DifferentFiles, 50, &[("KC_FAIL", "1")]);
    let err = backup(&r, &c).expect_err("must fail").to_string();
    assert!(err.contains("Failed to start server"), "{err}");
}

#[test]
fn a_weekly_export_with_a_few_changed_users_adds_little() {
    let r = rig();
    let first = component(
        &r,
        UsersMode::DifferentFiles,
        50,
        &[("KC_EXTRA_USERS", "3000")],
    );
    let (_, a) = backup(&r, &first).expect("step failed");
    let changed = component(
        &r,
        UsersMode::DifferentFiles,
        50,
        &[("KC_EXTRA_USERS", "3000"), ("KC_CHANGE", "5")],
    );
    let (_, b) = backup(&r, &changed).expect("step failed");
    let total = b.summary.total_bytes;
    let added = b.summary.raw_bytes_added;
    println!(
        "keycloak dedup: export {total} bytes in {} files; first backup added {} raw bytes; 5 changed users added {added} raw bytes ({:.2}% of the export)",
        info(&b, "files"),
        a.summary.raw_bytes_added,
        added as f64 * 100.0 / total as f64
    );
    assert_eq!(info(&b, "users"), "3005");
    assert!(
        added * 10 < total,
        "5 changed users of 3005 added {added} of {total} bytes"
    );
}

#[test]
fn a_partial_export_is_configuration_only_and_never_restored() {
    let r = rig();
    let portfile = r.dir.path().join("port");
    let mut api = std::process::Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/kc-api.py"))
        .arg(&portfile)
        .spawn()
        .expect("python3");
    let port = cairn_testkit::wait_for_port(&portfile, "the API stand-in");
    let url = format!("http://127.0.0.1:{port}");
    let pw = r.dir.path().join("pw");
    std::fs::write(&pw, "s3cret").expect("step failed");
    let plan_text = format!(
        "name = \"kc\"\n[[component]]\nname = \"kc-config\"\nkind = \"keycloak\"\n[component.settings]\nmode = \"partial\"\nurl = \"{url}\"\nrealm = \"Migration\"\nusername = \"admin\"\npassword_file = \"{}\"\n",
        pw.display()
    );
    let registry =
        cairn_plan::Registry::builtin().register("keycloak", cairn_keycloak::from_settings);
    let plan = cairn_plan::parse_plan("kc.toml", &plan_text, &registry).expect("step failed");
    let c = plan.components[0].component.clone();
    let snaps = r.repo.snapshots().expect("step failed");
    let rep = backup_component(&r.repo, c.as_ref(), &ComponentRun::default(), &snaps)
        .expect("step failed");
    let s = &rep.snapshot;
    assert!(
        info(s, "mode").contains("NOT a restorable backup"),
        "{:?}",
        s.info
    );
    assert_eq!(info(s, "realm.Migration.clients"), "10");
    assert_eq!(info(s, "realm.Migration.users"), "0");
    let mut stored = Vec::new();
    r.repo
        .dump(&rep.id, "keycloak-partial/Migration.json", &mut stored)
        .expect("step failed");
    assert!(!String::from_utf8_lossy(&stored).contains("\"users\""));
    let cx = RestoreCx {
        repo: &r.repo,
        id: rep.id,
        snapshot: s,
        log: None,
    };
    c.verify(&cx).expect("step failed");
    let err = c.restore(&cx).expect_err("must fail").to_string();
    assert!(err.contains("NOT a restorable backup"), "{err}");
    // A wrong password is a clear failure, and nothing is stored.
    std::fs::write(&pw, "wrong").expect("step failed");
    let before = r.repo.snapshots().expect("step failed").len();
    let err = backup_component(&r.repo, c.as_ref(), &ComponentRun::default(), &[])
        .expect_err("must fail")
        .to_string();
    assert!(
        err.contains("keycloak token") && err.contains("401"),
        "{err}"
    );
    assert_eq!(r.repo.snapshots().expect("step failed").len(), before);
    let _ = api.kill();
    let _ = api.wait();
}

#[test]
fn skip_holds_no_users_and_a_realm_restores_alone() {
    let r = rig();
    let c = component(&r, UsersMode::Skip, 50, &[]);
    let (_, s) = backup(&r, &c).expect("skip backs up");
    assert_eq!(info(&s, "users"), "0");
    assert_eq!(info(&s, "files"), "3");
    // One realm of a full export: only its files reach the server.
    let state = r.dir.path().join("server");
    let mut c = component(
        &r,
        UsersMode::SameFile,
        50,
        &[("KC_STATE", state.to_str().expect("utf8"))],
    );
    let (id, s) = backup(&r, &c).expect("backup");
    if let Some(i) = c.import.as_mut() {
        i.realm = Some("master".into());
    }
    let out = c
        .restore(&RestoreCx {
            repo: &r.repo,
            id,
            snapshot: &s,
            log: None,
        })
        .expect("restore");
    assert!(
        out.summary.contains("1 realm(s) with 2 users"),
        "{}",
        out.summary
    );
    let held: Vec<_> = std::fs::read_dir(&state)
        .expect("state")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(held, vec![std::ffi::OsString::from("master.json")]);
    if let Some(i) = c.import.as_mut() {
        i.realm = Some("nope".into());
    }
    let err = c
        .restore(&RestoreCx {
            repo: &r.repo,
            id,
            snapshot: &s,
            log: None,
        })
        .expect_err("unknown realm");
    assert!(
        err.to_string().contains("\"nope\" is not in this export"),
        "{err}"
    );
}
