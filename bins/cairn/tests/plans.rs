//! `cairn plan ...` through the binary: the cold window's post hook on
//! every failure path, ordering rules, status, retention, plan-file errors
//! and the example plans. Hooks and sources are real processes that record
//! what happened to them.

mod common;
use common::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A repository, a state directory and a plan file in one temp dir.
struct Rig {
    env: Env,
    plan: PathBuf,
}

impl Rig {
    /// `body` is the plan without its first lines (name, repository, key,
    /// state directory), which the rig writes.
    fn new(body: &str) -> Rig {
        let env = Env::new();
        env.init_repo(&env.path("repo"), &env.path("key"));
        let rig = Rig {
            plan: env.path("plan.toml"),
            env,
        };
        rig.write(body);
        rig
    }

    fn p(&self, rel: &str) -> String {
        self.env.path(rel).display().to_string()
    }

    fn write(&self, body: &str) {
        let head = format!(
            "name = \"t\"\nrepository = \"{}\"\nkey_file = \"{}\"\nstate_dir = \"{}\"\n",
            self.p("repo"),
            self.p("key"),
            self.p("state")
        );
        let body = body.replace("@DIR@", &self.p(""));
        std::fs::write(&self.plan, format!("{head}{body}")).expect("write plan");
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = self.env.cmd(args);
        c.env("CAIRN_KEY_FILE", self.env.path("key"));
        c
    }

    fn plan(&self, args: &[&str]) -> Output {
        let mut all = vec!["plan", args[0], self.plan.to_str().expect("utf8")];
        all.extend_from_slice(&args[1..]);
        self.cmd(&all).output().expect("runs")
    }

    fn repo(&self, args: &[&str]) -> Output {
        self.cmd(args)
            .env("CAIRN_REPOSITORY", self.env.path("repo"))
            .output()
            .expect("runs")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.env.path("hooks.log")).unwrap_or_default()
    }

    fn snapshot_count(&self) -> usize {
        let o = self.repo(&["--json", "snapshots"]);
        assert_code(&o, 0);
        json(&o).as_array().map(Vec::len).unwrap_or(0)
    }
}

const COLD: &str = r#"
[hooks]
pre = "echo paused >> @DIR@/hooks.log"
post = "echo resumed $CAIRN_RUN_STATUS >> @DIR@/hooks.log"
"#;

/// A files component; `extra` holds component-level keys (keep, ...).
fn files_with(name: &str, dir: &str, extra: &str) -> String {
    format!(
        "[[component]]\nname = \"{name}\"\nkind = \"files\"\n{extra}[component.settings]\npaths = [\"@DIR@/{dir}\"]\n[component.restore]\ntarget = \"@DIR@/restored-{name}\"\n"
    )
}

fn files_component(name: &str, dir: &str) -> String {
    files_with(name, dir, "")
}

/// A command component; `extra` holds component-level keys.
fn command_with(name: &str, command: &str, extra: &str) -> String {
    format!(
        "[[component]]\nname = \"{name}\"\nkind = \"command\"\n{extra}[component.settings]\ncommand = '{command}'\nstream = \"{name}.out\"\n"
    )
}

fn command_component(name: &str, command: &str) -> String {
    command_with(name, command, "")
}

fn make_tree(dir: &Path) {
    std::fs::create_dir_all(dir.join("sub")).expect("mkdir");
    std::fs::write(dir.join("a.txt"), b"alpha").expect("write");
    std::fs::write(dir.join("sub/b.txt"), b"beta").expect("write");
}

#[test]
fn a_failing_component_fails_the_run_keeps_the_others_and_resumes() {
    let body = format!(
        "{COLD}{}{}{}",
        files_component("first", "src"),
        command_component("broken", "echo partial; echo disk on fire >&2; exit 3"),
        files_component("last", "src")
    );
    let rig = Rig::new(&body);
    make_tree(&rig.env.path("src"));
    let o = rig.plan(&["run", "--json"]);
    assert_code(&o, 5);
    let r = json(&o);
    assert_eq!(r["status"], "failed");
    assert_eq!(r["mode"], "cold");
    assert_eq!(r["components"][0]["status"], "ok");
    assert_eq!(r["components"][1]["status"], "failed");
    let err = r["components"][1]["error"].as_str().unwrap_or("");
    assert!(err.contains("disk on fire"), "{err}");
    assert_eq!(r["components"][2]["status"], "skipped");
    assert_eq!(rig.log(), "paused\nresumed failed\n");
    assert_eq!(
        rig.snapshot_count(),
        1,
        "the first component's snapshot stays"
    );
    // The operator's choice: go on after a failure (the run still fails).
    let o = rig.plan(&["run", "--json", "--continue-on-error"]);
    assert_code(&o, 5);
    assert_eq!(json(&o)["components"][2]["status"], "ok");
    assert_eq!(rig.snapshot_count(), 3);
    let o = rig.plan(&["status"]);
    assert_code(&o, 6);
    assert!(stdout(&o).contains("broken: failed"), "{}", stdout(&o));
}

#[test]
fn a_hook_that_times_out_is_killed_and_post_still_runs() {
    let body = format!(
        "[hooks]\npre = \"echo paused >> @DIR@/hooks.log; sleep 30\"\npre_timeout = \"1s\"\npost = \"echo resumed $CAIRN_RUN_STATUS >> @DIR@/hooks.log\"\n{}",
        files_component("content", "src")
    );
    let rig = Rig::new(&body);
    make_tree(&rig.env.path("src"));
    let t = Instant::now();
    let o = rig.plan(&["run", "--json"]);
    assert!(
        t.elapsed() < Duration::from_secs(20),
        "the hook was not killed"
    );
    assert_code(&o, 5);
    let r = json(&o);
    assert!(
        r["errors"][0].as_str().unwrap_or("").contains("timed out"),
        "{r}"
    );
    assert_eq!(r["components"][0]["status"], "skipped");
    assert_eq!(rig.log(), "paused\nresumed failed\n");
    assert_eq!(rig.snapshot_count(), 0);

    // A component hook that times out fails its component; the plan's
    // post hook still runs.
    let body = format!(
        "{COLD}{}[component.hooks]\npre = \"sleep 30\"\ntimeout = \"1s\"\n",
        files_component("content", "src")
    );
    std::fs::remove_file(rig.env.path("hooks.log")).expect("rm");
    rig.write(&body);
    let o = rig.plan(&["run", "--json"]);
    assert_code(&o, 5);
    let r = json(&o);
    assert_eq!(r["components"][0]["status"], "failed");
    assert!(r["components"][0]["error"]
        .as_str()
        .unwrap_or("")
        .contains("timed out"));
    assert_eq!(rig.log(), "paused\nresumed failed\n");
}

fn wait_for(path: &Path, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !path.exists() {
        if let Ok(Some(s)) = child.try_wait() {
            panic!("plan run ended ({s}) before {} appeared", path.display());
        }
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn pid_alive(pid: &str) -> bool {
    Path::new(&format!("/proc/{}", pid.trim())).exists()
}

/// SIGINT or SIGTERM while a component's command runs: the command is
/// killed, no snapshot is written, the rest is skipped, post runs, exit 130.
fn stop_with(signal: &str) {
    let body = format!(
        "{COLD}{}{}",
        command_component("slow", "echo $$ > @DIR@/slow.pid; sleep 60"),
        files_component("content", "src")
    );
    let rig = Rig::new(&body);
    make_tree(&rig.env.path("src"));
    let mut child = rig
        .cmd(&["plan", "run", "--json", rig.plan.to_str().expect("utf8")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid_file = rig.env.path("slow.pid");
    wait_for(&pid_file, &mut child);
    std::thread::sleep(Duration::from_millis(200));
    let sent = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    let t = Instant::now();
    let o = child.wait_with_output().expect("wait");
    assert!(t.elapsed() < Duration::from_secs(20), "stop took too long");
    assert_code(&o, 130);
    let r = json(&o);
    assert_eq!(r["status"], "interrupted");
    assert_eq!(r["components"][0]["status"], "interrupted");
    assert_eq!(r["components"][1]["status"], "skipped");
    assert_eq!(rig.log(), "paused\nresumed interrupted\n");
    let pid = std::fs::read_to_string(&pid_file).expect("pid");
    let deadline = Instant::now() + Duration::from_secs(5);
    while pid_alive(&pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !pid_alive(&pid),
        "the component's command survived the stop"
    );
    assert_eq!(rig.snapshot_count(), 0);
    assert_code(&rig.repo(&["check"]), 0);
    let o = rig.plan(&["status", "--json"]);
    assert_code(&o, 6);
    assert_eq!(json(&o)["last_run"]["status"], "interrupted");
}

#[test]
fn sigint_stops_the_run_and_post_still_runs() {
    stop_with("-INT");
}

#[test]
fn sigterm_stops_the_run_and_post_still_runs() {
    stop_with("-TERM");
}

#[test]
fn a_database_newer_than_the_files_is_refused_unless_forced() {
    let body = format!(
        "[restore]\norder = [\"content\", \"db\"]\n{}[component.restore]\npath = \"@DIR@/restored-db.out\"\n{}",
        command_with("db", "echo rows", "older_than = [\"content\"]\n"),
        files_component("content", "src")
    );
    let rig = Rig::new(&body);
    make_tree(&rig.env.path("src"));
    // The files first, the database afterwards: the database points at
    // files the file backup may not have.
    assert_code(&rig.plan(&["run", "--only", "content"]), 0);
    std::thread::sleep(Duration::from_millis(20));
    assert_code(&rig.plan(&["run", "--only", "db"]), 0);
    let o = rig.plan(&["restore"]);
    assert_code(&o, 1);
    assert!(
        stderr(&o).contains("no run of plan t stored all of"),
        "{}",
        stderr(&o)
    );
    let o = rig.plan(&["restore", "--latest"]);
    assert_code(&o, 7);
    assert!(
        stderr(&o).contains("db (snapshot") && stderr(&o).contains("is not older than content"),
        "{}",
        stderr(&o)
    );
    assert!(
        !rig.env.path("restored-content").exists(),
        "nothing is touched"
    );
    assert!(!rig.env.path("restored-db.out").exists());
    let o = rig.plan(&["restore", "--latest", "--force", "--json"]);
    assert_code(&o, 0);
    assert_eq!(json(&o)["violations"].as_array().map(Vec::len), Some(1));
    assert!(rig.env.path("restored-db.out").exists());
    // A full run keeps the order, so its set restores without force.
    std::fs::remove_file(rig.env.path("restored-db.out")).expect("rm");
    assert_code(&rig.plan(&["run"]), 0);
    let o = rig.plan(&["restore", "--dry-run"]);
    assert_code(&o, 0);
    let out = stdout(&o);
    let (c, d) = (
        out.find("restore content").expect("content step"),
        out.find("restore db").expect("db step"),
    );
    assert!(c < d, "restore order: {out}");
    assert!(
        !rig.env.path("restored-db.out").exists(),
        "a dry run touches nothing"
    );
    let o = rig.plan(&["restore"]);
    assert_code(&o, 0);
    assert_eq!(
        std::fs::read_to_string(rig.env.path("restored-db.out")).expect("restored"),
        "rows\n"
    );
    assert_eq!(
        std::fs::read(
            rig.env
                .path(&format!("restored-content{}/sub/b.txt", rig.p("src")))
        )
        .expect("restored file"),
        b"beta"
    );
}

#[test]
fn status_reports_overdue_components_and_forget_keeps_each_components_rule() {
    let body = format!(
        "interval = \"1s\"\n{}{}",
        command_with("db", "date +%s%N", "keep = { last = 2 }\n"),
        files_with("content", "src", "keep = \"forever\"\n")
    );
    let rig = Rig::new(&body);
    make_tree(&rig.env.path("src"));
    let o = rig.plan(&["status", "--json"]);
    assert_code(&o, 6);
    assert_eq!(
        json(&o)["components"][0]["overdue"],
        true,
        "never backed up"
    );
    for _ in 0..2 {
        assert_code(&rig.plan(&["run"]), 0);
    }
    // The files component's parent is its previous snapshot in the plan:
    // unchanged files are not read again.
    let o = rig.plan(&["run", "--json"]);
    assert_code(&o, 0);
    assert_eq!(json(&o)["components"][1]["summary"]["unchanged_files"], 2);
    let o = rig.plan(&["status", "--json"]);
    assert_code(&o, 0);
    assert_eq!(json(&o)["last_run"]["status"], "ok");
    std::thread::sleep(Duration::from_millis(1600));
    let o = rig.plan(&["status"]);
    assert_code(&o, 6);
    assert!(stdout(&o).contains("OVERDUE"), "{}", stdout(&o));
    let o = rig.plan(&["forget", "--json"]);
    assert_code(&o, 0);
    let f = json(&o);
    assert_eq!(
        f["components"][0]["removed"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(f["components"][1]["kept"], 3);
    assert_eq!(rig.snapshot_count(), 5);
}

#[test]
fn bad_plan_files_are_refused_with_line_and_column() {
    let rig = Rig::new(&files_component("content", "src"));
    let cases = [
        ("[[component]]\nname = \"x\"\nkind = \"files\"\ncolour = 1\n[component.settings]\npaths = [\"/a\"]\n", "plan.toml:8:1: unknown key `colour` in `component \"x\"`"),
        ("[[component]]\nname = \"x\"\nkind = \"files\"\n[component.settings]\npaths = [\"/a\"]\nexclude_prset = \"seed-temp\"\n", "plan.toml:10:1: unknown key `exclude_prset` in `component \"x\".settings`"),
        ("[[component]]\nname = \"x\"\nkind = \"nosuch\"\n", "unknown component kind \"nosuch\""),
        ("[[component]]\nname = \"x\"\nkind = \"files\"\n[component.settings]\npaths = \"relative\"\n", "is not absolute"),
        ("[[component]]\nname = \"x\"\nkind = \"command\"\n[component.settings]\ncommand = 3\n", "plan.toml:9:11: `component \"x\".settings.command` must be a string"),
        ("intervl = \"1d\"\n", "plan.toml:5:1: unknown key `intervl` at the top level"),
        ("[[component]]\nname = \"x\"\nkind = \"files\"\nkeep = { dayly = 7 }\n[component.settings]\npaths = [\"/a\"]\n", "unknown key `dayly`"),
        ("[[component]]\nname = \"x\"\nkind = \"files\"\nolder_than = [\"nope\"]\n[component.settings]\npaths = [\"/a\"]\n", "has no component \"nope\""),
        ("[[component]]\nname = \"x\"\nkind = \"command\"\n[component.settings]\ncommand = \"${CAIRN_TEST_SURELY_UNSET}\"\n", "CAIRN_TEST_SURELY_UNSET is not set"),
    ];
    for (body, want) in cases {
        rig.write(body);
        let o = rig.plan(&["validate"]);
        assert_code(&o, 1);
        assert!(
            stderr(&o).contains(want),
            "{body}\nwanted {want:?}, got: {}",
            stderr(&o)
        );
    }
    // A component whose server cannot be reached fails the run, named,
    // and writes nothing of its own.
    rig.write(&format!(
        "{}[[component]]\nname = \"mongo\"\nkind = \"mongodb\"\n[component.settings]\nuri = \"mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=300\"\n",
        files_component("content", "src")
    ));
    assert_code(&rig.plan(&["validate"]), 0);
    let o = rig.plan(&["run", "--only", "mongo"]);
    assert_code(&o, 5);
    assert!(
        stderr(&o).contains("mongo: failed: source mongodb hello failed"),
        "{}",
        stderr(&o)
    );
    assert_eq!(rig.snapshot_count(), 0);
    // --only leaves it out.
    make_tree(&rig.env.path("src"));
    assert_code(&rig.plan(&["run", "--only", "content"]), 0);
    // A plan naming one repository while --repo names another is refused.
    let o = rig
        .cmd(&[
            "plan",
            "run",
            rig.plan.to_str().expect("utf8"),
            "--only",
            "content",
        ])
        .env("CAIRN_REPOSITORY", rig.env.path("elsewhere"))
        .output()
        .expect("runs");
    assert_code(&o, 1);
    assert!(stderr(&o).contains("remove one"), "{}", stderr(&o));
}

#[test]
fn the_example_plans_parse_and_validate() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/plans");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("docs/plans")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 5, "one example per seed platform: {names:?}");
    let env = Env::new();
    for p in &names {
        let o = env
            .cmd(&["--json", "plan", "validate", p.to_str().expect("utf8")])
            .output()
            .expect("runs");
        assert_code(&o, 0);
        let v = json(&o);
        assert!(
            v["components"].as_array().is_some_and(|c| c.len() >= 3),
            "{v}"
        );
    }
}

fn pg_restore() -> String {
    let bin = std::env::var("CAIRN_PG_BIN").unwrap_or_else(|_| "/usr/lib/postgresql/15/bin".into());
    let tool = Path::new(&bin).join("pg_restore");
    assert!(
        tool.exists(),
        "pg_restore not found in {bin}: run the suite with scripts/test, or set CAIRN_PG_BIN"
    );
    tool.display().to_string()
}

#[test]
fn drills_restore_into_scratch_replay_from_a_seed_and_fail_on_damage() {
    let body = format!(
        "{}{}",
        files_component("content", "src"),
        command_component("notes", "echo meeting notes")
    );
    let rig = Rig::new(&body);
    make_tree(&rig.env.path("src"));
    for i in 0..4 {
        std::fs::write(rig.env.path("src/changing.txt"), format!("version {i}")).expect("write");
        assert_code(&rig.plan(&["run"]), 0);
    }
    let scratch = rig.env.path("scratch");
    std::fs::create_dir_all(&scratch).expect("mkdir");
    let scratch_s = scratch.to_str().expect("utf8");
    let o = rig.plan(&["drill", "--json", "--scratch-dir", scratch_s]);
    assert_code(&o, 0);
    let d = json(&o);
    assert_eq!(d["ok"], true);
    assert_eq!(d["components"][0]["name"], "content");
    assert_eq!(d["components"][0]["files"], 3);
    assert_eq!(d["components"][0]["verified"], 3);
    assert_eq!(d["components"][0]["candidates"], 4);
    assert!(d["components"][0]["rto_ms"].as_u64().is_some());
    assert_eq!(
        std::fs::read_dir(&scratch).expect("scratch").count(),
        0,
        "the drill cleaned up its scratch restore"
    );
    // A seed replays the same picks.
    let picks = |o: &Output| -> Vec<String> {
        json(o)["components"]
            .as_array()
            .expect("components")
            .iter()
            .map(|c| c["snapshot_id"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let a = rig.plan(&["drill", "--json", "--pick", "random:7"]);
    let b = rig.plan(&["drill", "--json", "--pick", "random:7"]);
    assert_code(&a, 0);
    assert_eq!(picks(&a), picks(&b));
    assert_eq!(json(&a)["pick"], "random:7");
    let seeds: BTreeSet<Vec<String>> = (1..=8)
        .map(|s| picks(&rig.plan(&["drill", "--json", "--pick", &format!("random:{s}")])))
        .collect();
    assert!(seeds.len() > 1, "different seeds pick different snapshots");
    let oldest = rig.plan(&["drill", "--json", "--pick", "3"]);
    assert_code(&oldest, 0);
    assert_eq!(
        rig.plan(&["drill", "--pick", "4"]).status.code(),
        Some(5),
        "no 5th snapshot"
    );

    // A dump its own tool rejects fails the drill.
    rig.write(&format!(
        "{}[component.settings]\ncommand = 'echo not a dump'\nstream = \"db.dump\"\nverify_command = \"{} --list\"\n",
        "[[component]]\nname = \"db\"\nkind = \"command\"\n",
        pg_restore()
    ));
    assert_code(&rig.plan(&["run"]), 0);
    let o = rig.plan(&["drill", "--json"]);
    assert_code(&o, 5);
    let d = json(&o);
    assert_eq!(d["components"][0]["ok"], false);
    assert!(
        d["components"][0]["error"]
            .as_str()
            .unwrap_or("")
            .contains("pg_restore"),
        "{d}"
    );

    // A damaged pack fails the files drill, and names the damage.
    rig.write(&files_component("content", "src"));
    let mut packs = Vec::new();
    let mut stack = vec![rig.env.path("repo/data")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                packs.push(p);
            }
        }
    }
    for p in &packs {
        let mut bytes = std::fs::read(p).expect("pack");
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0xff;
        bytes[mid / 2] ^= 0xff;
        std::fs::write(p, bytes).expect("damage");
    }
    let o = rig.plan(&["drill", "--json"]);
    assert_code(&o, 5);
    let d = json(&o);
    assert_eq!(d["ok"], false, "{d}");
    assert_eq!(d["components"][0]["ok"], false, "{d}");
}

#[test]
fn verify_fresh_finds_files_the_backup_missed_and_accepts_newer_ones() {
    let rig = Rig::new(&files_with("content", "src", "interval = \"1d\"\n"));
    let src = rig.env.path("src");
    make_tree(&src);
    std::fs::write(src.join("c.txt"), b"old, left out").expect("write");
    std::fs::write(src.join("TEMP.part"), b"temporary").expect("write");
    let src_s = src.to_str().expect("utf8");
    let o = rig.repo(&["backup", src_s, "--exclude", "c.txt", "--exclude-temp"]);
    assert_code(&o, 0);
    std::thread::sleep(Duration::from_millis(20));
    // Written after the backup: expected to be absent.
    std::fs::write(src.join("new.txt"), b"new").expect("write");
    // An old file moved in after the backup: its ctime is new.
    let outside = rig.env.path("old.txt");
    std::fs::write(&outside, b"old").expect("write");
    let t = Command::new("touch")
        .args(["-d", "2020-01-01"])
        .arg(&outside)
        .status()
        .expect("touch");
    assert!(t.success());
    std::fs::rename(&outside, src.join("moved-in.txt")).expect("mv");
    let o = rig.repo(&["--json", "verify", "fresh", src_s, "--exclude-temp"]);
    assert_code(&o, 5);
    let v = json(&o);
    assert_eq!(
        v["missing"],
        serde_json::json!([format!("{src_s}/c.txt")]),
        "{v}"
    );
    assert_eq!(v["newer"], 2, "{v}");
    assert_eq!(v["checked"], 3, "{v}");
    let o = rig.repo(&[
        "verify",
        "fresh",
        src_s,
        "--exclude-temp",
        "--exclude",
        "c.txt",
    ]);
    assert_code(&o, 0);
    assert!(stdout(&o).contains("0 missing"), "{}", stdout(&o));
    // Without --exclude-temp the temporary file counts as missing too.
    let o = rig.repo(&["--json", "verify", "fresh", src_s, "--exclude", "c.txt"]);
    assert_code(&o, 5);
    assert_eq!(json(&o)["missing"].as_array().map(Vec::len), Some(1));
    // A plan's files component checks freshness in `plan verify`.
    rig.write(&files_with("content", "src", "interval = \"1d\"\n"));
    assert_code(&rig.plan(&["run"]), 0);
    let o = rig.plan(&["verify", "--json"]);
    assert_code(&o, 0);
    assert_eq!(
        json(&o)["components"][0]["fresh"]["missing"],
        serde_json::json!([])
    );
}

use cairn_testkit::prom::{parse_metrics, sample};

#[test]
fn metrics_files_parse_as_prometheus_text_and_follow_runs_and_drills() {
    let body = format!(
        "{}{}",
        files_component("content", "src"),
        command_component("broken", "exit 3")
    );
    let rig = Rig::new(&body);
    make_tree(&rig.env.path("src"));
    let dir = rig.env.path("metrics");
    let dir_s = dir.to_str().expect("utf8").to_string();
    let run = |args: &[&str]| {
        let mut all = vec![
            "--metrics-dir",
            dir_s.as_str(),
            "plan",
            args[0],
            rig.plan.to_str().expect("utf8"),
        ];
        all.extend_from_slice(&args[1..]);
        rig.cmd(&all).output().expect("runs")
    };
    assert_code(&run(&["run"]), 5);
    let file = dir.join("cairn_plan_t.prom");
    let m = parse_metrics(&file);
    let content = Some(("component", "content"));
    let broken = Some(("component", "broken"));
    assert!(sample(
        &m,
        "cairn_component_last_success_timestamp_seconds",
        content
    )
    .is_some_and(|t| t > 1.7e9));
    assert_eq!(
        sample(&m, "cairn_component_last_success_timestamp_seconds", broken),
        None
    );
    assert_eq!(sample(&m, "cairn_component_overdue", broken), Some(1.0));
    assert_eq!(sample(&m, "cairn_component_failed_runs", broken), Some(1.0));
    assert_eq!(sample(&m, "cairn_plan_last_run_success", None), Some(0.0));
    assert_eq!(sample(&m, "cairn_plan_healthy", None), Some(0.0));
    assert!(sample(&m, "cairn_component_last_bytes_read", content).is_some_and(|b| b >= 9.0));
    // Fixed, the next run and a drill show up.
    rig.write(&format!(
        "{}{}",
        files_component("content", "src"),
        command_component("broken", "echo fixed")
    ));
    assert_code(&run(&["run"]), 0);
    assert_code(&run(&["drill"]), 0);
    let m = parse_metrics(&file);
    assert_eq!(sample(&m, "cairn_plan_last_run_success", None), Some(1.0));
    assert_eq!(sample(&m, "cairn_plan_healthy", None), Some(1.0));
    assert_eq!(sample(&m, "cairn_plan_failed_runs", None), Some(1.0));
    assert_eq!(sample(&m, "cairn_plan_recorded_runs", None), Some(2.0));
    assert_eq!(sample(&m, "cairn_drill_last_success", None), Some(1.0));
    assert!(sample(&m, "cairn_drill_rto_seconds", content).is_some());
    // Plain backups and checks write their own files.
    let o = rig
        .cmd(&["--metrics-dir", &dir_s, "backup", rig.p("src").as_str()])
        .env("CAIRN_REPOSITORY", rig.env.path("repo"))
        .output()
        .expect("backup");
    assert_code(&o, 0);
    let o = rig
        .cmd(&["--metrics-dir", &dir_s, "check"])
        .env("CAIRN_REPOSITORY", rig.env.path("repo"))
        .output()
        .expect("check");
    assert_code(&o, 0);
    let names: Vec<String> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    let backup = names
        .iter()
        .find(|n| n.starts_with("cairn_backup_"))
        .expect("backup metrics");
    let check = names
        .iter()
        .find(|n| n.starts_with("cairn_check_"))
        .expect("check metrics");
    assert_eq!(
        sample(
            &parse_metrics(&dir.join(backup)),
            "cairn_backup_last_complete",
            None
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &parse_metrics(&dir.join(check)),
            "cairn_check_last_clean",
            None
        ),
        Some(1.0)
    );
    assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
}

/// A webhook that answers 500 twice, then 200, recording every body.
fn flaky_webhook() -> (String, std::sync::mpsc::Receiver<String>) {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hook", l.local_addr().expect("addr"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for (n, conn) in l.incoming().enumerate() {
            let Ok(mut c) = conn else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Read the head, then Content-Length bytes of body.
            loop {
                let k = c.read(&mut chunk).unwrap_or(0);
                if k == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..k]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(i) = text.find("\r\n\r\n") {
                    let len: usize = text
                        .lines()
                        .find_map(|l| l.strip_prefix("Content-Length: "))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if buf.len() >= i + 4 + len {
                        let _ = tx.send(text[i + 4..].to_string());
                        break;
                    }
                }
            }
            let status = if n < 2 {
                "500 Internal Server Error"
            } else {
                "200 OK"
            };
            let _ = write!(
                c,
                "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    (url, rx)
}

#[test]
fn failures_notify_a_webhook_with_retries_and_a_command() {
    let rig = Rig::new(&command_component("broken", "exit 3"));
    let (url, rx) = flaky_webhook();
    let got = rig.env.path("event.json");
    let o = rig
        .cmd(&[
            "--notify-url",
            &url,
            "--notify-command",
            &format!(
                "cat > {}; echo $CAIRN_EVENT $CAIRN_EVENT_OK >> {}.env",
                got.display(),
                got.display()
            ),
            "plan",
            "run",
            rig.plan.to_str().expect("utf8"),
        ])
        .output()
        .expect("runs");
    assert_code(&o, 5);
    let bodies: Vec<String> = rx.try_iter().collect();
    assert_eq!(
        bodies.len(),
        3,
        "two failed tries, then success: {bodies:?}"
    );
    let ev: serde_json::Value = serde_json::from_str(&bodies[2]).expect("json event");
    assert_eq!(ev["event"], "plan_run");
    assert_eq!(ev["ok"], false);
    assert_eq!(ev["plan"], "t");
    assert_eq!(ev["components"][0]["status"], "failed");
    assert!(stderr(&o).contains("try 1 of 3 failed"), "{}", stderr(&o));
    let from_cmd: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&got).expect("command got the event"))
            .expect("json");
    assert_eq!(from_cmd["event"], "plan_run");
    assert_eq!(
        std::fs::read_to_string(format!("{}.env", got.display())).expect("env"),
        "plan_run 0\n"
    );
    // A success notifies only with --notify-on always.
    rig.write(&command_component("fine", "echo ok"));
    let quiet = rig
        .cmd(&[
            "--notify-command",
            &format!("touch {}.ok", got.display()),
            "plan",
            "run",
            rig.plan.to_str().expect("utf8"),
        ])
        .output()
        .expect("runs");
    assert_code(&quiet, 0);
    assert!(!Path::new(&format!("{}.ok", got.display())).exists());
    let loud = rig
        .cmd(&[
            "--notify-on",
            "always",
            "--notify-command",
            &format!("touch {}.ok", got.display()),
            "plan",
            "run",
            rig.plan.to_str().expect("utf8"),
        ])
        .output()
        .expect("runs");
    assert_code(&loud, 0);
    assert!(Path::new(&format!("{}.ok", got.display())).exists());
}

/// An https webhook (Python's own TLS server, a certificate signed by a
/// throwaway CA) that answers 500 twice, then 200; bodies are appended to
/// `out`, one per line. Returns the URL, the CA file and the server.
fn flaky_tls_webhook(dir: &Path, out: &Path) -> (String, PathBuf, std::process::Child) {
    let ossl = |args: &[&str]| {
        let o = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl (Debian: apt-get install openssl; scripts/test installs it)");
        assert!(
            o.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    let make_ca = |name: &str, cn: &str| {
        let (key, pem, subj) = (
            format!("{name}.key"),
            format!("{name}.pem"),
            format!("/CN={cn}"),
        );
        ossl(&[
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &pem,
            "-days", "2", "-subj", &subj,
        ]);
    };
    make_ca("ca", "cairn test CA");
    make_ca("other-ca", "another CA");
    ossl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "leaf.key",
        "-out",
        "leaf.csr",
        "-subj",
        "/CN=localhost",
    ]);
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .expect("ext");
    ossl(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "leaf.pem",
        "-days",
        "2",
        "-extfile",
        "leaf.ext",
    ]);
    let script = r#"
import ssl, sys, http.server
cert, key, portfile, out = sys.argv[1:5]
n = [0]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers['Content-Length']))
        with open(out, 'ab') as f:
            f.write(body + b'\n')
        n[0] += 1
        self.send_response(500 if n[0] <= 2 else 200)
        self.send_header('Content-Length', '0')
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(('127.0.0.1', 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
s.socket = ctx.wrap_socket(s.socket, server_side=True)
open(portfile + '.tmp', 'w').write(str(s.server_address[1]))
import os; os.rename(portfile + '.tmp', portfile)
s.serve_forever()
"#;
    let portfile = dir.join("port");
    let child = Command::new("python3")
        .args(["-c", script])
        .arg(dir.join("leaf.pem"))
        .arg(dir.join("leaf.key"))
        .arg(&portfile)
        .arg(out)
        .spawn()
        .expect("python3");
    let port = cairn_testkit::wait_for_port(&portfile, "the TLS test server");
    (
        format!("https://127.0.0.1:{port}/hook"),
        dir.join("ca.pem"),
        child,
    )
}

#[test]
fn an_https_webhook_is_retried_and_its_certificate_checked() {
    let rig = Rig::new(&command_component("broken", "exit 3"));
    let tls = rig.env.path("tls");
    std::fs::create_dir_all(&tls).expect("mkdir");
    let out = tls.join("bodies");
    let (url, ca, mut server) = flaky_tls_webhook(&tls, &out);
    let empty = rig.env.path("no-certs");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let run = |trusted: &Path| {
        rig.cmd(&[
            "--notify-url",
            &url,
            "plan",
            "run",
            rig.plan.to_str().expect("utf8"),
        ])
        .env("SSL_CERT_DIR", &empty)
        .env("SSL_CERT_FILE", trusted)
        .output()
        .expect("runs")
    };
    // Not trusted: the only CA cairn knows is another one.
    let o = run(&tls.join("other-ca.pem"));
    assert_code(&o, 5);
    assert!(stderr(&o).contains("UnknownIssuer"), "{}", stderr(&o));
    assert!(
        !out.exists(),
        "nothing was posted over an untrusted connection"
    );
    // Trusted through SSL_CERT_FILE: two failed tries, then success.
    let o = run(&ca);
    let _ = server.kill();
    let _ = server.wait();
    assert_code(&o, 5);
    let bodies = std::fs::read_to_string(&out).expect("bodies");
    let bodies: Vec<&str> = bodies.lines().collect();
    assert_eq!(bodies.len(), 3, "{bodies:?}; {}", stderr(&o));
    let ev: serde_json::Value = serde_json::from_str(bodies[2]).expect("json event");
    assert_eq!(ev["event"], "plan_run");
    assert_eq!(ev["ok"], false);
    assert!(
        stderr(&o).contains("try 2 of 3 failed: HTTP 500"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_rotating_check_reads_everything_over_m_runs_even_in_an_older_repository() {
    let rig = Rig::new(&files_component("content", "src"));
    let src = rig.env.path("src");
    for i in 0..5 {
        std::fs::create_dir_all(src.join(format!("d{i}"))).expect("mkdir");
        let body: Vec<u8> = (0..400_000u32)
            .map(|x| (x.wrapping_mul(i + 11) >> 4) as u8)
            .collect();
        std::fs::write(src.join(format!("d{i}/f.bin")), body).expect("write");
        assert_code(&rig.repo(&["backup", src.to_str().expect("utf8")]), 0);
    }
    // A repository written before check progress records existed has no
    // `checks/` directory.
    assert!(!rig.env.path("repo/checks").exists());
    let total = json(&rig.repo(&["--json", "check"]))["packs"]
        .as_u64()
        .expect("packs");
    let mut read = 0;
    for run in 1..=3 {
        let o = rig.repo(&["--json", "check", "--read-data-rotate", "3"]);
        assert_code(&o, 0);
        let r = json(&o);
        read += r["packs_read"].as_u64().expect("read");
        if run < 3 {
            assert!(
                r["rotation"]["cursor"].is_array() || r["rotation"]["cursor"].is_string(),
                "{r}"
            );
        } else {
            assert!(r["rotation"]["cursor"].is_null(), "{r}");
            assert_eq!(r["rotation"]["cycle"], 1);
        }
    }
    assert_eq!(read, total);
    let o = rig.repo(&["check", "--read-data-rotate", "3", "--max-bytes", "1"]);
    assert_code(&o, 0);
    assert!(stdout(&o).contains("read 1 packs"), "{}", stdout(&o));
    let o = rig.repo(&["check", "--max-bytes", "0"]);
    assert_code(&o, 2);
}

#[test]
fn a_repository_drill_takes_one_snapshot_of_each_group() {
    let rig = Rig::new(&files_component("content", "src"));
    make_tree(&rig.env.path("src"));
    let src = rig.p("src");
    for _ in 0..2 {
        assert_code(&rig.repo(&["backup", &src]), 0);
    }
    let o = rig
        .cmd(&["backup", "--stdin", "--stdin-name", "db/dump.sql"])
        .env("CAIRN_REPOSITORY", rig.env.path("repo"))
        .stdin(std::fs::File::open(rig.env.path("src/a.txt")).expect("open"))
        .output()
        .expect("backup");
    assert_code(&o, 0);
    let scratch = rig.env.path("scratch");
    std::fs::create_dir_all(&scratch).expect("mkdir");
    let metrics = rig.env.path("metrics");
    let o = rig.repo(&[
        "--json",
        "--metrics-dir",
        metrics.to_str().expect("utf8"),
        "drill",
        "--pick",
        "random:3",
        "--scratch-dir",
        scratch.to_str().expect("utf8"),
    ]);
    assert_code(&o, 0);
    let d = json(&o);
    let steps = d["components"].as_array().expect("groups");
    assert_eq!(steps.len(), 2, "a files group and a stream group: {d}");
    assert!(steps.iter().all(|s| s["ok"] == true), "{d}");
    let files = steps
        .iter()
        .find(|s| s["candidates"] == 2)
        .expect("files group");
    assert_eq!(files["verified"], 2);
    assert_eq!(std::fs::read_dir(&scratch).expect("scratch").count(), 0);
    let m = std::fs::read_dir(&metrics)
        .expect("metrics")
        .map(|e| e.expect("entry").path())
        .find(|p| p.to_string_lossy().contains("cairn_drill_"))
        .expect("drill metrics");
    assert_eq!(
        sample(&parse_metrics(&m), "cairn_drill_last_success", None),
        Some(1.0)
    );
}
