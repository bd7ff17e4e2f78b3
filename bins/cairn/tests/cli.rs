//! End-to-end tests of every command, through the real binary.

mod common;
use common::*;

fn setup() -> (
    Env,
    std::path::PathBuf,
    std::path::PathBuf,
    std::path::PathBuf,
) {
    let env = Env::new();
    let (repo, key, src) = (env.path("repo"), env.path("repo.key"), env.path("src"));
    make_source(&src);
    let o = env
        .cmd(&["init", "--generate-key-file", key.to_str().expect("utf8")])
        .env("CAIRN_REPOSITORY", &repo)
        .output()
        .expect("runs");
    assert_code(&o, 0);
    assert!(stdout(&o).contains("losing that file"));
    (env, repo, key, src)
}

#[test]
fn backup_snapshots_ls_restore_dump_diff_stats_cat() {
    let (env, repo, key, src) = setup();
    let s = src.to_str().expect("utf8");
    let o = env.run_with(
        &repo,
        &key,
        &[
            "--json",
            "backup",
            s,
            "--tag",
            "daily",
            "--host",
            "db1",
            "--time",
            "2026-01-02 03:04:05",
        ],
    );
    assert_code(&o, 0);
    let sum = json(&o);
    assert_eq!(sum["message_type"], "summary");
    assert_eq!(sum["summary"]["files"], 2);
    assert_eq!(sum["host"], "db1");
    assert_eq!(sum["time"], "2026-01-02T03:04:05Z");
    assert_eq!(sum["tags"][0], "daily");
    let first = sum["snapshot_id"].as_str().expect("id").to_string();

    std::fs::write(src.join("new.txt"), "new file").expect("write");
    std::fs::write(src.join("a.txt"), "changed").expect("write");
    let o = env.run_with(&repo, &key, &["--json", "backup", s, "--host", "db1"]);
    assert_code(&o, 0);
    let second = json(&o);
    assert_eq!(
        second["parent"],
        first.as_str(),
        "parent chosen by host and paths"
    );

    let o = env.run_with(&repo, &key, &["--json", "snapshots"]);
    assert_code(&o, 0);
    let list = json(&o);
    assert_eq!(list.as_array().map(Vec::len), Some(2));
    let o = env.run_with(&repo, &key, &["snapshots"]);
    assert!(stdout(&o).contains("2 snapshots") && stdout(&o).contains(&first[..8]));

    let o = env.run_with(&repo, &key, &["--json", "ls", "latest", s]);
    assert_code(&o, 0);
    let paths: Vec<String> = json(&o)
        .as_array()
        .expect("array")
        .iter()
        .map(|e| e["path"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        paths.contains(&format!("{s}/new.txt")) && paths.contains(&format!("{s}/sub/b.bin")),
        "{paths:?}"
    );

    let o = env.run_with(&repo, &key, &["--json", "diff", &first[..10], "latest"]);
    assert_code(&o, 0);
    let changes = json(&o);
    let has = |c: &str, p: &str| {
        changes
            .as_array()
            .expect("array")
            .iter()
            .any(|e| e["change"] == c && e["path"] == format!("{s}/{p}"))
    };
    assert!(has("+", "new.txt") && has("M", "a.txt"), "{changes}");

    let target = env.path("out");
    let o = env.run_with(
        &repo,
        &key,
        &[
            "restore",
            &first,
            "--target",
            target.to_str().expect("utf8"),
        ],
    );
    assert_code(&o, 0);
    let restored = target.join(src.strip_prefix("/").expect("abs"));
    assert_eq!(
        std::fs::read_to_string(restored.join("a.txt")).expect("read"),
        "alpha\n".repeat(1000)
    );
    assert_eq!(
        std::fs::read_link(restored.join("link"))
            .expect("link")
            .to_str(),
        Some("a.txt")
    );

    let o = env.run_with(&repo, &key, &["dump", "latest", &format!("{s}/a.txt")]);
    assert_code(&o, 0);
    assert_eq!(stdout(&o), "changed");

    let o = env.run_with(&repo, &key, &["--json", "stats"]);
    assert_code(&o, 0);
    let st = json(&o);
    assert_eq!(st["snapshots"], 2);
    assert_eq!(st["index_bytes_per_blob"], 48.0);
    assert!(st["pack_bytes"].as_u64().expect("n") > 0);

    let o = env.run_with(&repo, &key, &["cat", "config"]);
    assert_code(&o, 0);
    let cfg: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    assert_eq!(cfg["chunking_secret"], "<redacted>");
    assert_eq!(cfg["version"], 1);
    let o = env.run_with(&repo, &key, &["cat", "snapshot", &first]);
    let snap: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    assert_eq!(snap["id"], first.as_str());
    let index_name = std::fs::read_dir(repo.join("index"))
        .expect("dir")
        .next()
        .expect("one")
        .expect("entry")
        .file_name();
    let o = env.run_with(
        &repo,
        &key,
        &["cat", "index", index_name.to_str().expect("utf8")],
    );
    assert_code(&o, 0);
    let idx: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    let pack = idx["packs"][0]["id"].as_str().expect("pack").to_string();
    let o = env.run_with(&repo, &key, &["cat", "pack", &pack]);
    assert_code(&o, 0);
    let hdr: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    assert!(!hdr["blobs"].as_array().expect("blobs").is_empty());
}

#[test]
fn streams_from_stdin_and_from_a_command() {
    let (env, repo, key, _) = setup();
    let mut child = env
        .cmd(&[
            "backup",
            "--stdin",
            "--stdin-name",
            "db/app.sql",
            "--profile",
            "database",
        ])
        .env("CAIRN_REPOSITORY", &repo)
        .env("CAIRN_KEY_FILE", &key)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"CREATE TABLE t (id int);\n")
        .expect("write");
    let o = child.wait_with_output().expect("wait");
    assert_code(&o, 0);
    let o = env.run_with(&repo, &key, &["dump", "latest", "db/app.sql"]);
    assert_eq!(stdout(&o), "CREATE TABLE t (id int);\n");

    let o = backup_command(&env, &repo, &key, "cmd.out", "printf hello");
    assert_code(&o, 0);
    let o = env.run_with(&repo, &key, &["dump", "latest", "cmd.out"]);
    assert_eq!(stdout(&o), "hello");
}

/// `backup --stdin-from-command` of a shell script, stored as `name`.
fn backup_command(
    env: &Env,
    repo: &std::path::Path,
    key: &std::path::Path,
    name: &str,
    script: &str,
) -> std::process::Output {
    let args = [
        "backup",
        "--stdin-from-command",
        "--stdin-name",
        name,
        "--",
        "sh",
        "-c",
        script,
    ];
    env.run_with(repo, key, &args)
}

#[test]
fn dump_into_a_reader_that_stops_early_exits_quietly() {
    let (env, repo, key, _) = setup();
    let o = backup_command(&env, &repo, &key, "big.out", "head -c 20000000 /dev/zero");
    assert_code(&o, 0);
    // `head -c 10` exits after 10 bytes, closing the pipe mid-dump.
    let o = std::process::Command::new("bash")
        .arg("-c")
        .arg("set -o pipefail; \"$0\" dump latest big.out | head -c 10 >/dev/null")
        .arg(env!("CARGO_BIN_EXE_cairn"))
        .env("CAIRN_REPOSITORY", &repo)
        .env("CAIRN_KEY_FILE", &key)
        .env("HOME", env.home())
        .output()
        .expect("sh");
    assert_code(&o, 0);
    assert_eq!(stderr(&o), "", "a closed pipe is not an error");
}

#[test]
fn failing_command_fails_the_backup_and_writes_no_snapshot() {
    let (env, repo, key, _) = setup();
    let script = "echo data; echo 'pg_dump: connection refused' >&2; exit 1";
    let o = backup_command(&env, &repo, &key, "stdin", script);
    assert_code(&o, 1);
    assert!(stderr(&o).contains("connection refused"), "{}", stderr(&o));
    let o = env.run_with(&repo, &key, &["--json", "snapshots"]);
    assert_eq!(json(&o).as_array().map(Vec::len), Some(0));
}

#[test]
fn wrong_password_and_missing_repository_have_distinct_exit_codes() {
    let (env, repo, _key, _) = setup();
    let pw = env.path("pw");
    std::fs::write(&pw, "not the key\n").expect("write");
    let o = env
        .cmd(&["snapshots"])
        .env("CAIRN_REPOSITORY", &repo)
        .env("CAIRN_PASSWORD_FILE", &pw)
        .output()
        .expect("runs");
    assert_code(&o, 12);
    assert!(stderr(&o).contains("wrong key"));
    assert_eq!(stderr(&o).lines().count(), 1, "one line: {}", stderr(&o));
    let o = env
        .cmd(&["snapshots"])
        .env("CAIRN_REPOSITORY", env.path("nowhere"))
        .env("CAIRN_PASSWORD_FILE", &pw)
        .output()
        .expect("runs");
    assert_code(&o, 10);
    assert!(
        !env.path("nowhere").exists(),
        "opening must not create anything"
    );
    let o = env
        .cmd(&["--json", "snapshots"])
        .env("CAIRN_REPOSITORY", env.path("nowhere"))
        .env("CAIRN_PASSWORD_FILE", &pw)
        .output()
        .expect("runs");
    assert_code(&o, 10);
    let e = json(&o);
    assert_eq!(
        (e["message_type"].as_str(), e["exit_code"].as_u64()),
        (Some("error"), Some(10)),
        "{e}"
    );
    let o = env
        .cmd(&["snapshots"])
        .env("CAIRN_REPOSITORY", &repo)
        .output()
        .expect("runs");
    assert_code(&o, 1);
    assert!(stderr(&o).contains("CAIRN_PASSWORD_FILE"));
    let o = env.cmd(&["backup", "--bogus-flag"]).output().expect("runs");
    assert_code(&o, 2);
}

#[test]
fn unreadable_file_gives_exit_code_3_and_a_snapshot() {
    let (env, repo, key, src) = setup();
    let o = env.run_with(
        &repo,
        &key,
        &["backup", src.to_str().expect("utf8"), "/proc/self/mem"],
    );
    assert_code(&o, 3);
    assert!(stderr(&o).contains("/proc/self/mem"));
    let o = env.run_with(&repo, &key, &["--json", "snapshots"]);
    assert_eq!(json(&o).as_array().map(Vec::len), Some(1));
}

#[test]
fn excludes_from_flags_and_files() {
    let (env, repo, key, src) = setup();
    std::fs::create_dir_all(src.join("tmp")).expect("mkdir");
    std::fs::write(src.join("tmp/x"), "x").expect("write");
    std::fs::write(src.join("TEMP.part"), "x").expect("write");
    std::fs::write(src.join("skip.log"), "x").expect("write");
    let ef = env.path("excludes");
    std::fs::write(&ef, "# comment\n*.log\n").expect("write");
    let o = env.run_with(
        &repo,
        &key,
        &[
            "backup",
            src.to_str().expect("utf8"),
            "--exclude-temp",
            "--exclude-file",
            ef.to_str().expect("utf8"),
            "--exclude",
            "*.bin",
        ],
    );
    assert_code(&o, 0);
    let o = env.run_with(&repo, &key, &["--json", "ls", "latest"]);
    let all = stdout(&o);
    assert!(all.contains("a.txt"));
    let src_tmp = format!("{}/tmp\"", src.display());
    for gone in ["TEMP.part", "skip.log", "b.bin", src_tmp.as_str()] {
        assert!(!all.contains(gone), "{gone} should be excluded");
    }
}

#[test]
fn key_add_list_remove_passwd() {
    let (env, repo, key, _) = setup();
    let pw = env.path("pw");
    std::fs::write(&pw, "second secret\n").expect("write");
    let o = env
        .cmd(&["key", "add", "--label", "ops"])
        .env("CAIRN_REPOSITORY", &repo)
        .env("CAIRN_KEY_FILE", &key)
        .env("CAIRN_NEW_PASSWORD_FILE", &pw)
        .output()
        .expect("runs");
    assert_code(&o, 0);
    let o = env.run_with(&repo, &key, &["--json", "key", "list"]);
    let keys = json(&o);
    assert_eq!(keys.as_array().map(Vec::len), Some(2));
    let other = keys
        .as_array()
        .expect("a")
        .iter()
        .find(|k| k["current"] == false)
        .expect("other")["id"]
        .as_str()
        .expect("id")
        .to_string();
    let o = env
        .cmd(&["snapshots"])
        .env("CAIRN_REPOSITORY", &repo)
        .env("CAIRN_PASSWORD_FILE", &pw)
        .output()
        .expect("runs");
    assert_code(&o, 0);
    let o = env.run_with(&repo, &key, &["key", "remove", &other[..12]]);
    assert_code(&o, 0);
    let o = env
        .cmd(&["snapshots"])
        .env("CAIRN_REPOSITORY", &repo)
        .env("CAIRN_PASSWORD_FILE", &pw)
        .output()
        .expect("runs");
    assert_code(&o, 12);
    // passwd: replace the key file by a new key file.
    let key2 = env.path("new.key");
    let o = env.run_with(
        &repo,
        &key,
        &[
            "key",
            "passwd",
            "--new-key-file",
            key2.to_str().expect("utf8"),
        ],
    );
    assert_code(&o, 0);
    assert_code(&env.run_with(&repo, &key, &["snapshots"]), 12);
    assert_code(&env.run_with(&repo, &key2, &["snapshots"]), 0);
    let o = env.run_with(&repo, &key2, &["--json", "key", "list"]);
    let id = json(&o)[0]["id"].as_str().expect("id").to_string();
    let o = env.run_with(&repo, &key2, &["key", "remove", &id]);
    assert_code(&o, 1);
    assert!(
        stderr(&o).contains("last key slot") || stderr(&o).contains("in use"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn default_repository_is_created_with_a_warning() {
    let env = Env::new();
    let src = env.path("data");
    make_source(&src);
    let o = env
        .cmd(&["backup", src.to_str().expect("utf8")])
        .output()
        .expect("runs");
    assert_code(&o, 0);
    let err = stderr(&o);
    let key = env.home().join(".config/cairn/repository.key");
    assert!(
        err.contains(key.to_str().expect("utf8")) && err.contains("WARNING"),
        "{err}"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&key).expect("key").permissions().mode() & 0o777,
        0o600
    );
    assert!(env
        .home()
        .join(".local/share/cairn/repository/config")
        .exists());
    let o = env.cmd(&["--json", "snapshots"]).output().expect("runs");
    assert_code(&o, 0);
    assert_eq!(json(&o).as_array().map(Vec::len), Some(1));
    let target = env.path("out");
    let o = env
        .cmd(&[
            "restore",
            "latest",
            "--target",
            target.to_str().expect("utf8"),
        ])
        .output()
        .expect("runs");
    assert_code(&o, 0);
    assert!(target
        .join(src.strip_prefix("/").expect("abs"))
        .join("a.txt")
        .exists());
    // A second backup reuses the repository without a new warning.
    let o = env
        .cmd(&["backup", src.to_str().expect("utf8")])
        .output()
        .expect("runs");
    assert_code(&o, 0);
    assert!(!stderr(&o).contains("WARNING"));
}

#[test]
fn json_backup_writes_progress_lines() {
    let (env, repo, key, src) = setup();
    let big = src.join("big.bin");
    std::fs::write(
        &big,
        (0..40_000_000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
            .collect::<Vec<_>>(),
    )
    .expect("write");
    let o = env.run_with(
        &repo,
        &key,
        &["--json", "backup", src.to_str().expect("utf8")],
    );
    assert_code(&o, 0);
    for line in stdout(&o).lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("every line is JSON");
        assert!(
            v["message_type"] == "status" || v["message_type"] == "summary",
            "{line}"
        );
    }
}

#[test]
fn backup_time_keeps_fractional_seconds() {
    let (env, repo, key, src) = setup();
    let s = src.to_str().expect("utf8");
    let at = |t: &str| {
        env.run_with(
            &repo,
            &key,
            &["--json", "backup", s, "--time", t, "--parent", "none"],
        )
    };
    // 2014-08-13T10:20:30Z is 1407925230 s after the epoch.
    for (given, ns) in [
        ("2014-08-13 10:20:30.1", 1_407_925_230_100_000_000i64),
        ("2014-08-13 10:20:30.123456789", 1_407_925_230_123_456_789),
        ("2014-08-13 10:20:30", 1_407_925_230_000_000_000),
        ("2014-08-13T10:20:30.1Z", 1_407_925_230_100_000_000),
        ("2014-08-13T12:20:30.25+02:00", 1_407_925_230_250_000_000),
        ("2014-08-13", 1_407_888_000_000_000_000),
    ] {
        let o = at(given);
        assert_code(&o, 0);
        assert_eq!(json(&o)["time_ns"], ns, "--time {given:?}");
    }
    // The stored value, not just the summary, keeps the fraction.
    let o = env.run_with(&repo, &key, &["--json", "snapshots"]);
    let stored: Vec<i64> = json(&o)
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|x| x["time_ns"].as_i64())
        .collect();
    assert!(stored.contains(&1_407_925_230_100_000_000), "{stored:?}");
    assert!(stored.contains(&1_407_925_230_123_456_789), "{stored:?}");
    for bad in [
        "2014-08-13 10:20:30.",
        "2014-08-13 10:20",
        "2014-08-13 10:20:30.1x",
    ] {
        let o = at(bad);
        assert_code(&o, 1);
        assert!(stdout(&o).contains("cannot parse time"), "{}", stdout(&o));
    }
}

#[test]
fn secret_flags_open_the_repository_and_win_over_the_environment() {
    let env = Env::new();
    let (repo, key) = (env.path("repo"), env.path("key"));
    env.init_repo(&repo, &key);
    let run = |args: &[&str], bad_env: bool| {
        let mut all = vec!["--repo", repo.to_str().expect("utf8")];
        all.extend_from_slice(args);
        all.push("snapshots");
        let mut c = env.cmd(&all);
        if bad_env {
            c.env("CAIRN_PASSWORD_FILE", env.path("no-such-file"));
        }
        c.output().expect("runs")
    };
    let key_s = key.to_str().expect("utf8");
    assert_code(&run(&["--key-file", key_s], false), 0);
    // The flag wins over a variable that points nowhere.
    assert_code(&run(&["--key-file", key_s], true), 0);
    // Without the flag that variable is used, and fails naming the file.
    let o = run(&[], true);
    assert_code(&o, 1);
    assert!(stderr(&o).contains("no-such-file"), "{}", stderr(&o));
    // A password where only a key file opens: wrong key.
    let pw = env.path("pw");
    std::fs::write(&pw, "not the key\n").expect("write");
    assert_code(
        &run(&["--password-file", pw.to_str().expect("utf8")], false),
        12,
    );
    assert_code(
        &run(&["--password-command", &format!("cat {key_s}")], false),
        12,
    );
    // Two at once is a usage error.
    assert_code(
        &run(
            &[
                "--key-file",
                key_s,
                "--password-file",
                pw.to_str().expect("utf8"),
            ],
            false,
        ),
        2,
    );
}

#[test]
fn backup_rules_leave_out_large_tagged_and_case_insensitive_entries_and_read_files_from() {
    let env = Env::new();
    let (repo, key) = (env.path("repo"), env.path("key"));
    env.init_repo(&repo, &key);
    let src = env.path("src");
    let w = |rel: &str, body: &[u8]| {
        let p = src.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, body).expect("write");
    };
    w("keep.txt", b"kept");
    w("big.bin", &vec![7u8; 3 << 20]);
    w("UPPER.LOG", b"a log");
    w(
        "cache/CACHEDIR.TAG",
        format!("{}\n# a cache\n", cairn::CACHEDIR_TAG_SIGNATURE).as_bytes(),
    );
    w("cache/x", b"cached");
    w("fakecache/CACHEDIR.TAG", b"not a tag");
    w("fakecache/y", b"kept too");
    w("private/.nobackup", b"");
    w("private/z", b"private");
    w("../other/a.txt", b"listed");
    w("../other/b.txt", b"listed raw");
    let other = env.path("other");
    let list = env.path("list");
    std::fs::write(
        &list,
        format!("# paths\n{}\n\n", other.join("a.txt").display()),
    )
    .expect("list");
    let raw = env.path("raw");
    let mut bytes = other.join("b.txt").display().to_string().into_bytes();
    bytes.push(0);
    std::fs::write(&raw, bytes).expect("raw");
    let o = env.run_with(
        &repo,
        &key,
        &[
            "backup",
            src.to_str().expect("utf8"),
            "--iexclude",
            "*.log",
            "--exclude-larger-than",
            "1M",
            "--exclude-caches",
            "--exclude-if-present",
            ".nobackup",
            "--files-from",
            list.to_str().expect("utf8"),
            "--files-from-raw",
            raw.to_str().expect("utf8"),
        ],
    );
    assert_code(&o, 0);
    let all = stdout(&env.run_with(&repo, &key, &["--json", "ls", "latest"]));
    for kept in ["keep.txt", "fakecache/y", "other/a.txt", "other/b.txt"] {
        assert!(all.contains(kept), "{kept} should be kept: {all}");
    }
    for gone in [
        "big.bin",
        "UPPER.LOG",
        "cache/x",
        "private/z",
        "/cache\"",
        "/private\"",
    ] {
        assert!(!all.contains(gone), "{gone} should be left out");
    }
    let o = env.run_with(
        &repo,
        &key,
        &[
            "backup",
            "--exclude-if-present",
            "a/b",
            src.to_str().expect("utf8"),
        ],
    );
    assert_code(&o, 1);
    assert!(stderr(&o).contains("exclude-if-present"), "{}", stderr(&o));
    let o = env.run_with(
        &repo,
        &key,
        &[
            "backup",
            "--files-from",
            env.path("none").to_str().expect("utf8"),
        ],
    );
    assert_code(&o, 1);
    assert!(stderr(&o).contains("--files-from"), "{}", stderr(&o));
}

/// `--one-file-system` leaves out a tmpfs mounted inside the tree (root:
/// the test mounts it).
#[test]
fn one_file_system_stays_on_the_paths_file_systems() {
    let env = Env::new();
    let (repo, key) = (env.path("repo"), env.path("key"));
    env.init_repo(&repo, &key);
    let src = env.path("src");
    let mnt = src.join("mnt");
    std::fs::create_dir_all(&mnt).expect("mkdir");
    std::fs::write(src.join("here.txt"), b"on the root fs").expect("write");
    let ok = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&mnt)
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "this test mounts a tmpfs at {} and could not: run it as root (scripts/test does)",
        mnt.display()
    );
    std::fs::write(mnt.join("there.txt"), b"on the tmpfs").expect("write");
    let o = env.run_with(&repo, &key, &["backup", "-x", src.to_str().expect("utf8")]);
    let _ = std::process::Command::new("umount").arg(&mnt).status();
    assert_code(&o, 0);
    let all = stdout(&env.run_with(&repo, &key, &["--json", "ls", "latest"]));
    assert!(all.contains("here.txt"), "{all}");
    assert!(
        !all.contains("there.txt") && !all.contains("/mnt\""),
        "{all}"
    );
}

#[test]
fn snapshots_are_selected_by_host_tag_path_and_latest() {
    let env = Env::new();
    let (repo, key) = (env.path("repo"), env.path("key"));
    env.init_repo(&repo, &key);
    let (src1, src2) = (env.path("src1"), env.path("src2"));
    std::fs::create_dir_all(&src1).expect("mkdir");
    std::fs::create_dir_all(&src2).expect("mkdir");
    let (s1, s2) = (src1.to_str().expect("utf8"), src2.to_str().expect("utf8"));
    for (n, src, host, tags) in [
        (1, s1, "h1", &["daily"][..]),
        (2, s1, "h2", &["daily,db"][..]),
        (3, s2, "h1", &["weekly"][..]),
        (4, s1, "h1", &[][..]),
    ] {
        std::fs::write(std::path::Path::new(src).join(format!("v{n}.txt")), b"x").expect("write");
        let mut args = vec!["backup", src, "--host", host];
        for t in tags {
            args.extend(["--tag", t]);
        }
        assert_code(&env.run_with(&repo, &key, &args), 0);
    }
    let count = |args: &[&str]| {
        let mut all = vec!["--json", "snapshots"];
        all.extend_from_slice(args);
        let o = env.run_with(&repo, &key, &all);
        assert_code(&o, 0);
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
        v.as_array().expect("array").len()
    };
    assert_eq!(count(&[]), 4);
    assert_eq!(count(&["--host", "h1"]), 3);
    assert_eq!(count(&["--host", "h1", "--host", "h2"]), 4);
    assert_eq!(count(&["--tag", "daily,db"]), 1);
    assert_eq!(count(&["--tag", "daily", "--tag", "weekly"]), 3);
    assert_eq!(count(&["--tag", ""]), 1);
    assert_eq!(count(&["--path", s2]), 1);
    assert_eq!(count(&["--latest", "1"]), 3);
    assert_eq!(count(&["--latest", "1", "--host", "h1", "--path", s1]), 1);
    // `latest` counts among the selected snapshots.
    let ls = stdout(&env.run_with(&repo, &key, &["--json", "ls", "latest", "--host", "h2"]));
    assert!(ls.contains("v2.txt") && !ls.contains("v4.txt"), "{ls}");
    let o = env.run_with(&repo, &key, &["ls", "latest", "--host", "nobody"]);
    assert_code(&o, 1);
    assert!(stderr(&o).contains("match the filter"), "{}", stderr(&o));
    // copy takes the selection; one that matches nothing copies nothing.
    let (dr, dr_key) = (env.path("dr"), env.path("dr.key"));
    env.init_repo(&dr, &dr_key);
    let copy = |args: &[&str]| {
        let mut all = vec!["--json", "copy", "--to", dr.to_str().expect("utf8")];
        all.extend_from_slice(args);
        env.cmd(&all)
            .env("CAIRN_REPOSITORY", &repo)
            .env("CAIRN_KEY_FILE", &key)
            .env("CAIRN_TO_KEY_FILE", &dr_key)
            .output()
            .expect("copy")
    };
    let o = copy(&["--host", "nobody"]);
    assert_code(&o, 1);
    let o = copy(&["--host", "h2"]);
    assert_code(&o, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    assert_eq!(v["snapshots_copied"], 1, "{v}");
    // forget decides only the selected snapshots.
    let o = env.run_with(
        &repo,
        &key,
        &[
            "forget",
            "--keep-last",
            "1",
            "--group-by",
            "",
            "--host",
            "h1",
        ],
    );
    assert_code(&o, 0);
    assert_eq!(count(&["--host", "h1"]), 1);
    assert_eq!(
        count(&["--host", "h2"]),
        1,
        "h2 was not decided, so not removed"
    );
}

#[test]
fn an_ambiguous_prefix_lists_its_matches() {
    let env = Env::new();
    let (repo, key) = (env.path("repo"), env.path("key"));
    env.init_repo(&repo, &key);
    let src = env.path("src");
    std::fs::create_dir_all(&src).expect("mkdir");
    // Enough snapshots that two share a first hex digit.
    for i in 0..17 {
        std::fs::write(src.join("f"), format!("{i}")).expect("write");
        assert_code(
            &env.run_with(&repo, &key, &["backup", src.to_str().expect("utf8")]),
            0,
        );
    }
    let v: serde_json::Value = serde_json::from_str(&stdout(&env.run_with(
        &repo,
        &key,
        &["--json", "snapshots"],
    )))
    .expect("json");
    let ids: Vec<String> = v
        .as_array()
        .expect("array")
        .iter()
        .map(|s| s["id"].as_str().expect("id").to_string())
        .collect();
    let first = ids
        .iter()
        .find(|a| ids.iter().filter(|b| b[..1] == a[..1]).count() > 1)
        .expect("a shared digit");
    let o = env.run_with(&repo, &key, &["ls", &first[..1]]);
    assert_code(&o, 1);
    let err = stderr(&o);
    assert!(
        err.contains("ambiguous") && err.contains(&first[..5]),
        "{err}"
    );
}

#[test]
fn tag_changes_tags_and_find_searches_snapshots() {
    let env = Env::new();
    let (repo, key) = (env.path("repo"), env.path("key"));
    env.init_repo(&repo, &key);
    let src = env.path("src");
    std::fs::create_dir_all(src.join("db")).expect("mkdir");
    std::fs::write(src.join("db/dump.SQL"), b"create table").expect("write");
    std::fs::write(src.join("notes.txt"), b"n").expect("write");
    let s = src.to_str().expect("utf8");
    assert_code(&env.run_with(&repo, &key, &["backup", s, "--tag", "a"]), 0);
    std::fs::write(src.join("later.sql"), b"more").expect("write");
    assert_code(&env.run_with(&repo, &key, &["backup", s, "--tag", "b"]), 0);
    let snaps = || -> Vec<serde_json::Value> {
        let o = env.run_with(&repo, &key, &["--json", "snapshots"]);
        serde_json::from_str::<serde_json::Value>(&stdout(&o))
            .expect("json")
            .as_array()
            .expect("array")
            .clone()
    };
    let before = snaps();
    let first = before[0]["id"].as_str().expect("id").to_string();
    // By id: add and remove; the old id is gone, the new one remembers it.
    let o = env.run_with(
        &repo,
        &key,
        &[
            "--json",
            "tag",
            "--add",
            "keep,audit",
            "--remove",
            "a",
            &first[..8],
        ],
    );
    assert_code(&o, 0);
    let after = snaps();
    assert_eq!(after.len(), 2);
    let retagged = after
        .iter()
        .find(|x| x["info"]["tag.original"] == first.as_str())
        .expect("retagged");
    assert_eq!(retagged["tags"], serde_json::json!(["keep", "audit"]));
    assert!(!after.iter().any(|x| x["id"] == first.as_str()));
    // By selection: every snapshot tagged b gets exactly `x`.
    assert_code(
        &env.run_with(&repo, &key, &["tag", "--set", "x", "--tag", "b"]),
        0,
    );
    let tags: Vec<_> = snaps().iter().map(|x| x["tags"].clone()).collect();
    assert!(tags.contains(&serde_json::json!(["x"])), "{tags:?}");
    // Nothing to do is an error; so is nothing selected.
    assert_code(&env.run_with(&repo, &key, &["tag", &first[..8]]), 1);
    assert_code(
        &env.run_with(&repo, &key, &["tag", "--add", "y", "--host", "nobody"]),
        1,
    );
    // find: names anywhere, case-insensitively with -i, per snapshot.
    let o = env.run_with(&repo, &key, &["--json", "find", "*.sql"]);
    assert_code(&o, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    let hits: Vec<String> = v
        .as_array()
        .expect("array")
        .iter()
        .flat_map(|s| {
            s["matches"]
                .as_array()
                .expect("m")
                .iter()
                .map(|m| m["path"].as_str().expect("p").to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert!(hits[0].ends_with("/later.sql"));
    let o = env.run_with(&repo, &key, &["--json", "find", "-i", "*.sql"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    let n: usize = v
        .as_array()
        .expect("array")
        .iter()
        .map(|s| s["matches"].as_array().expect("m").len())
        .sum();
    assert_eq!(n, 3, "dump.SQL in both snapshots and later.sql: {v}");
    let o = env.run_with(&repo, &key, &["find", "db/"]);
    assert!(
        stdout(&o).contains("2 matches in 2 snapshots"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn dump_of_a_directory_is_a_tar_stream_that_tar_extracts() {
    let env = Env::new();
    let (repo, key) = (env.path("repo"), env.path("key"));
    env.init_repo(&repo, &key);
    let src = env.path("src");
    let deep = src.join(format!("{}/{}", "d".repeat(80), "e".repeat(80)));
    std::fs::create_dir_all(&deep).expect("mkdir");
    std::fs::write(src.join("small.txt"), b"hello").expect("write");
    let big: Vec<u8> = (0..3_000_001u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(deep.join("big.bin"), &big).expect("write");
    std::os::unix::fs::symlink("small.txt", src.join("link")).expect("symlink");
    assert_code(
        &env.run_with(&repo, &key, &["backup", src.to_str().expect("utf8")]),
        0,
    );
    let o = env.run_with(
        &repo,
        &key,
        &["dump", "latest", src.to_str().expect("utf8")],
    );
    assert_code(&o, 0);
    assert_eq!(o.stdout.len() % 512, 0);
    let tarball = env.path("out.tar");
    std::fs::write(&tarball, &o.stdout).expect("write");
    let out = env.path("x");
    std::fs::create_dir_all(&out).expect("mkdir");
    let t = std::process::Command::new("tar")
        .arg("-xf")
        .arg(&tarball)
        .arg("-C")
        .arg(&out)
        .output()
        .expect("tar");
    assert!(
        t.status.success(),
        "GNU tar refused the stream: {}",
        String::from_utf8_lossy(&t.stderr)
    );
    let root = out.join(src.strip_prefix("/").expect("absolute"));
    assert_eq!(
        std::fs::read(root.join("small.txt")).expect("small"),
        b"hello"
    );
    let rel_deep = deep.strip_prefix(&src).expect("below");
    assert!(
        std::fs::read(root.join(rel_deep).join("big.bin")).expect("big") == big,
        "big file differs"
    );
    assert_eq!(
        std::fs::read_link(root.join("link")).expect("link"),
        std::path::Path::new("small.txt")
    );
    // A file is still dumped as its bytes.
    let o = env.run_with(
        &repo,
        &key,
        &[
            "dump",
            "latest",
            src.join("small.txt").to_str().expect("utf8"),
        ],
    );
    assert_eq!(o.stdout, b"hello");
}
