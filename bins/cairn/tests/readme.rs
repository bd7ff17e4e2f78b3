//! The README's commands, run as written, so the README cannot drift.

mod common;
use common::*;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md")
}

/// The fenced block between `<!-- NAME:begin -->` and `<!-- NAME:end -->`.
fn block(name: &str) -> String {
    let text = readme();
    let begin = text
        .find(&format!("<!-- {name}:begin -->"))
        .unwrap_or_else(|| panic!("README lacks {name}:begin"));
    let end = text
        .find(&format!("<!-- {name}:end -->"))
        .unwrap_or_else(|| panic!("README lacks {name}:end"));
    let inner = &text[begin..end];
    let start = inner.find("```sh\n").expect("fenced sh block") + 6;
    let stop = inner.rfind("```").expect("closing fence");
    inner[start..stop].to_string()
}

#[test]
fn quick_start_backs_up_into_the_default_repository() {
    let env = Env::new();
    let cmd = block("quickstart");
    let line = cmd
        .lines()
        .find(|l| l.starts_with("cargo run"))
        .expect("a cargo run line");
    let args = line.split(" -- ").nth(1).expect("arguments after --");
    let home = env.home();
    std::fs::create_dir_all(home.join("Documents")).expect("mkdir");
    std::fs::write(home.join("Documents/notes.txt"), "remember the key").expect("write");
    let args: Vec<String> = args
        .split_whitespace()
        .map(|a| a.replace('~', home.to_str().expect("utf8")))
        .collect();
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = env.cmd(&argv).output().expect("runs");
    assert_code(&o, 0);
    assert!(stderr(&o).contains("WARNING"), "{}", stderr(&o));
    assert!(home.join(".local/share/cairn/repository/config").exists());
    assert!(home.join(".config/cairn/repository.key").exists());
}

#[test]
fn tour_runs_verbatim_against_a_real_postgres() {
    let pg = cairn_testkit::Pg::start();
    pg.psql("postgres", "CREATE DATABASE app");
    pg.psql("app", "CREATE TABLE users (id int primary key, name text); INSERT INTO users SELECT g, 'user ' || g FROM generate_series(1, 1000) g");
    let env = Env::new();
    std::fs::create_dir_all(env.home()).expect("mkdir");
    let script = env.path("tour.sh");
    std::fs::write(&script, block("tour")).expect("write");
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_cairn"))
        .parent()
        .expect("dir")
        .to_path_buf();
    let path = format!(
        "{}:{}:{}",
        bin_dir.display(),
        pg.bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut c = std::process::Command::new("bash");
    c.arg("-euo")
        .arg("pipefail")
        .arg(&script)
        .env("HOME", env.home())
        .env("PATH", path);
    for (k, _) in std::env::vars() {
        if k.starts_with("CAIRN_") {
            c.env_remove(k);
        }
    }
    pg.env(&mut c);
    let o = c.output().expect("bash");
    assert_code(&o, 0);
    let out = stdout(&o);
    assert!(out.contains("2 snapshots"), "{out}");
    assert!(
        out.contains("TABLE public users"),
        "pg_restore --list saw the table: {out}"
    );
    let restored = env.path("home/restore").join(
        env.home()
            .join("site/index.html")
            .strip_prefix("/")
            .expect("abs"),
    );
    assert_eq!(
        std::fs::read_to_string(restored).expect("restored"),
        "hello\n"
    );
    // The plan part: one run of two components, healthy, and its files back.
    assert!(
        out.contains("plan shop run") && out.contains(": ok"),
        "{out}"
    );
    assert!(out.contains("plan shop: healthy"), "{out}");
    let from_plan = env.path("home/restore-shop").join(
        env.home()
            .join("site/index.html")
            .strip_prefix("/")
            .expect("abs"),
    );
    assert_eq!(
        std::fs::read_to_string(from_plan).expect("restored by the plan"),
        "hello\n"
    );
}
