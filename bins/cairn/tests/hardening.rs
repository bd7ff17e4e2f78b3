//! What an operator's terminal and file system see: private repository
//! files, escaped names, visible key rights (docs/reliability.md).

mod common;
use common::*;
use std::os::unix::fs::PermissionsExt;

fn init(env: &Env) -> (std::path::PathBuf, std::path::PathBuf) {
    let (repo, key) = (env.path("repo"), env.path("repo.key"));
    let o = env
        .cmd(&["init", "--generate-key-file", key.to_str().expect("utf8")])
        .env("CAIRN_REPOSITORY", &repo)
        .output()
        .expect("runs");
    assert_code(&o, 0);
    (repo, key)
}

fn modes(dir: &std::path::Path, out: &mut Vec<(std::path::PathBuf, u32)>) {
    for e in std::fs::read_dir(dir).expect("readdir") {
        let p = e.expect("entry").path();
        let m = std::fs::symlink_metadata(&p).expect("stat");
        out.push((p.clone(), m.permissions().mode() & 0o777));
        if m.is_dir() {
            modes(&p, out);
        }
    }
}

/// `cairn ARGS` under `umask 000`, with the environment of `env.cmd`.
fn under_open_umask(env: &Env, args: &[&str]) -> std::process::Command {
    let c = env.cmd(args);
    let mut sh = std::process::Command::new("sh");
    sh.arg("-c")
        .arg("umask 000; exec \"$@\"")
        .arg("sh")
        .arg(c.get_program())
        .args(c.get_args());
    for (k, v) in c.get_envs() {
        match v {
            Some(v) => sh.env(k, v),
            None => sh.env_remove(k),
        };
    }
    sh.stdin(std::process::Stdio::null());
    sh
}

#[test]
fn repository_files_are_private_whatever_the_umask() {
    let env = Env::new();
    let (repo, key) = (env.path("repo"), env.path("repo.key"));
    let o = under_open_umask(
        &env,
        &["init", "--generate-key-file", key.to_str().expect("utf8")],
    )
    .env("CAIRN_REPOSITORY", &repo)
    .output()
    .expect("runs");
    assert_code(&o, 0);
    let src = env.path("src");
    std::fs::create_dir_all(&src).expect("mkdir");
    std::fs::write(src.join("a"), b"hello").expect("write");
    let o = under_open_umask(&env, &["backup", src.to_str().expect("utf8")])
        .env("CAIRN_REPOSITORY", &repo)
        .env("CAIRN_KEY_FILE", &key)
        .output()
        .expect("runs");
    assert_code(&o, 0);
    let mut all = Vec::new();
    modes(&repo, &mut all);
    assert!(all.iter().any(|(p, _)| p.starts_with(repo.join("keys"))));
    for (p, mode) in all {
        let want = if p.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode, want, "{} is {mode:o}", p.display());
    }
}

#[test]
fn names_with_terminal_escapes_are_printed_escaped() {
    let env = Env::new();
    let (repo, key) = init(&env);
    let src = env.path("src");
    std::fs::create_dir_all(&src).expect("mkdir");
    std::fs::write(src.join("evil\u{1b}]0;owned\u{7}\u{1b}[2J"), b"x").expect("write");
    std::fs::write(
        src.join("fake\n-rw------- 0 2026-01-01T00:00:00Z shadow"),
        b"x",
    )
    .expect("write");
    let o = env
        .cmd(&["backup", src.to_str().expect("utf8")])
        .env("CAIRN_REPOSITORY", &repo)
        .env("CAIRN_KEY_FILE", &key)
        .output()
        .expect("runs");
    assert_code(&o, 0);
    let o = env.run_with(&repo, &key, &["ls", "latest"]);
    assert_code(&o, 0);
    let text = stdout(&o);
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text:?}"
    );
    assert!(text.contains("evil\\x1b]0;owned\\x07\\x1b[2J"), "{text}");
    assert!(text.contains("fake\\x0a-rw-------"), "{text}");
    assert!(
        !text.lines().any(|l| l.starts_with("-rw------- 0 ")),
        "{text}"
    );
    // JSON keeps the exact name (escaped by JSON itself).
    let o = env.run_with(&repo, &key, &["--json", "ls", "latest"]);
    let rows = json(&o);
    assert!(rows.as_array().expect("rows").iter().any(|r| r["path"]
        .as_str()
        .is_some_and(|p| p.ends_with("evil\u{1b}]0;owned\u{7}\u{1b}[2J"))));
}

#[test]
fn key_list_shows_append_only_slots_and_key_hint_opens_one() {
    let env = Env::new();
    let (repo, key) = init(&env);
    let pw = env.path("pw");
    std::fs::write(&pw, "ci secret\n").expect("write");
    let o = env
        .cmd(&["key", "add", "--append-only", "--label", "ci"])
        .env("CAIRN_REPOSITORY", &repo)
        .env("CAIRN_KEY_FILE", &key)
        .env("CAIRN_NEW_PASSWORD_FILE", &pw)
        .output()
        .expect("runs");
    assert_code(&o, 0);
    let o = env.run_with(&repo, &key, &["key", "list"]);
    assert_code(&o, 0);
    let line = stdout(&o)
        .lines()
        .find(|l| l.ends_with(" ci"))
        .map(str::to_string)
        .unwrap_or_default();
    assert!(line.contains("append-only"), "{}", stdout(&o));
    let keys = json(&env.run_with(&repo, &key, &["--json", "key", "list"]));
    let ci = keys
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["label"] == "ci")
        .expect("ci slot");
    assert_eq!(ci["append_only"], true);
    assert_eq!(ci["authenticated"], true);
    let id = ci["id"].as_str().expect("id");
    let o = env
        .cmd(&["--key-hint", &id[..8], "snapshots"])
        .env("CAIRN_REPOSITORY", &repo)
        .env("CAIRN_PASSWORD_FILE", &pw)
        .output()
        .expect("runs");
    assert_code(&o, 0);
    let o = env
        .cmd(&["forget", "--keep-last", "1"])
        .env("CAIRN_REPOSITORY", &repo)
        .env("CAIRN_PASSWORD_FILE", &pw)
        .output()
        .expect("runs");
    assert_code(&o, 1);
    assert!(stderr(&o).contains("append-only"), "{}", stderr(&o));
}
