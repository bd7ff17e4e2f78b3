//! restic parity, through the real binary: stats modes, check and stats
//! selection, restore --exclude and include patterns, backup --dry-run,
//! rewrite, bandwidth limits, help with examples and exit codes, colours,
//! and the new/changed/unmodified summary.

mod common;
use common::*;
use std::path::Path;

/// A repository with two hosts' snapshots of two small trees.
fn two_hosts() -> (Env, std::path::PathBuf, std::path::PathBuf) {
    let env = Env::new();
    let (repo, key) = (env.path("repo"), env.path("key"));
    env.init_repo(&repo, &key);
    for (host, n) in [("web", 3usize), ("db", 5)] {
        let src = env.path(host);
        std::fs::create_dir_all(src.join("etc")).expect("mkdir");
        for i in 0..n {
            std::fs::write(
                src.join(format!("etc/f{i}.conf")),
                format!("{host}{i}\n").repeat(100),
            )
            .expect("write");
        }
        std::fs::write(src.join("etc/big.bak"), vec![7u8; 10_000]).expect("write");
        let s = src.to_str().expect("utf8");
        assert_code(
            &env.run_with(&repo, &key, &["backup", s, "--host", host, "--tag", host]),
            0,
        );
    }
    (env, repo, key)
}

fn json_lines(o: &std::process::Output) -> Vec<serde_json::Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn stats_modes_count_the_selected_snapshots() {
    let (env, repo, key) = two_hosts();
    let stats = |args: &[&str]| {
        let mut all = vec!["--json", "stats"];
        all.extend_from_slice(args);
        let o = env.run_with(&repo, &key, &all);
        assert_code(&o, 0);
        json_lines(&o)
    };
    let web = &stats(&["--host", "web"])[0];
    assert_eq!(web["mode"], "restore-size");
    assert_eq!(web["snapshots"], 1);
    // 3 conf files of 500 bytes and the .bak.
    assert_eq!(web["files"], 4);
    assert_eq!(web["restore_bytes"], 3 * 500 + 10_000);
    let all = &stats(&["--mode", "raw-data", "--tag", "web", "--tag", "db"])[0];
    assert_eq!(all["snapshots"], 2);
    assert!(all["stored_bytes"].as_u64().expect("n") > 0);
    assert_eq!(all["missing_blobs"], 0);
    // The two are every snapshot: all they need is theirs alone.
    assert_eq!(all["exclusive_stored_bytes"], all["stored_bytes"]);
    assert_eq!(all["exclusive_blobs"], all["blobs"]);
    // Each alone: the .bak chunk both hold is neither's, their trees are.
    for s in stats(&[
        "--mode",
        "raw-data",
        "--per-snapshot",
        "--tag",
        "web",
        "--tag",
        "db",
    ]) {
        let (only, stored) = (&s["exclusive_stored_bytes"], &s["stored_bytes"]);
        let (only, stored) = (only.as_u64().expect("n"), stored.as_u64().expect("n"));
        assert!(only > 0 && only < stored, "{s}");
    }
    let o = env.run_with(
        &repo,
        &key,
        &["stats", "--mode", "raw-data", "--host", "web"],
    );
    assert!(
        stdout(&o).contains("no other snapshot needs"),
        "{}",
        stdout(&o)
    );
    // Both .bak files have the same bytes: one distinct content.
    let by = &stats(&[
        "--mode",
        "files-by-contents",
        "--host",
        "web",
        "--host",
        "db",
    ])[0];
    assert_eq!(by["files"], 10);
    assert_eq!(by["unique_files"], 9);
    let per = stats(&["--per-snapshot", "--tag", "web", "--tag", "db"]);
    assert_eq!(per.len(), 2);
    assert_eq!(
        per.iter()
            .map(|v| v["files"].as_u64().expect("n"))
            .sum::<u64>(),
        10
    );
    // Without a selection: the repository view, as before.
    let repo_view = &stats(&[])[0];
    assert_eq!(repo_view["snapshots"], 2);
    assert!(repo_view.get("pack_bytes").is_some());
    let o = env.run_with(&repo, &key, &["stats", "--host", "nobody"]);
    assert_code(&o, 1);
    assert!(
        stderr(&o).contains("no snapshot is selected"),
        "{}",
        stderr(&o)
    );
    let o = env.run_with(&repo, &key, &["stats", "--mode", "repository", "latest"]);
    assert_code(&o, 1);
}

#[test]
fn check_with_a_selection_reads_only_its_packs() {
    let (env, repo, key) = two_hosts();
    let check = |args: &[&str]| {
        let mut all = vec!["--json", "check", "--read-data"];
        all.extend_from_slice(args);
        let o = env.run_with(&repo, &key, &all);
        (o.status.code(), json(&o))
    };
    let (code, whole) = check(&[]);
    assert_eq!(code, Some(0));
    let (code, web) = check(&["--host", "web"]);
    assert_eq!(code, Some(0));
    assert_eq!(web["snapshots"], 1, "{web}");
    let (wp, all) = (web["packs_read"].as_u64(), whole["packs_read"].as_u64());
    assert!(wp < all && wp > Some(0), "web read {wp:?} of {all:?} packs");
    // Damage in a pack only db's snapshot uses is found by a check of db,
    // and not by one of web's.
    let v = json(&env.run_with(&repo, &key, &["--json", "snapshots", "--host", "db"]));
    let db_id = v[0]["id"].as_str().expect("id").to_string();
    let damaged = damage_newest_pack(&repo);
    let (code, web) = check(&["--host", "web"]);
    assert_eq!(code, Some(0), "{web}");
    let (code, db) = check(&[&db_id[..8]]);
    assert_eq!(code, Some(4), "{db}");
    assert!(db.to_string().contains(&damaged), "{db}");
    let o = env.run_with(
        &repo,
        &key,
        &["check", "--read-data-rotate", "3", "--host", "web"],
    );
    assert_code(&o, 1);
}

/// Flips a byte in the newest pack (written by the db backup, which ran
/// second; the .bak chunk both share is in web's pack); returns its name.
fn damage_newest_pack(repo: &Path) -> String {
    let mut files = walk_files(&repo.join("data"));
    files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    let newest = files.last().expect("a pack").clone();
    let mut bytes = std::fs::read(&newest).expect("read");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&newest, bytes).expect("write");
    newest
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn restore_takes_exclude_and_include_patterns() {
    let (env, repo, key) = two_hosts();
    let restore = |target: &str, args: &[&str]| {
        let t = env.path(target);
        let mut all = vec![
            "restore",
            "latest",
            "--host",
            "db",
            "--target",
            t.to_str().expect("utf8"),
        ];
        all.extend_from_slice(args);
        (env.run_with(&repo, &key, &all), t)
    };
    let etc = |t: &Path| restored(t, &env.path("db").join("etc"));
    let (o, t) = restore(
        "ex",
        &["--exclude", "*.bak", "--exclude", "f1.conf", "--verify"],
    );
    assert_code(&o, 0);
    let mut names: Vec<String> = std::fs::read_dir(etc(&t))
        .expect("restored")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["f0.conf", "f2.conf", "f3.conf", "f4.conf"]);
    let (o, t) = restore("inc", &["--include", "*.bak"]);
    assert_code(&o, 0);
    assert!(etc(&t).join("big.bak").is_file());
    assert!(!etc(&t).join("f0.conf").exists());
    // A pattern that matches nothing is an error, as a path is.
    let (o, _) = restore("none", &["--include", "*.nothing"]);
    assert_code(&o, 1);
    assert!(stderr(&o).contains("matches nothing"), "{}", stderr(&o));
}

#[test]
fn an_exported_password_file_does_not_break_the_default_repositorys_first_run() {
    let env = Env::new();
    let src = env.path("data");
    make_source(&src);
    let pw = env.path("pw");
    std::fs::write(&pw, "correct horse").expect("write");
    let o = env
        .cmd(&["backup", src.to_str().expect("utf8")])
        .env("CAIRN_PASSWORD_FILE", &pw)
        .output()
        .expect("runs");
    assert_code(&o, 0);
    assert!(
        stderr(&o).contains("WARNING") && stderr(&o).contains("CAIRN_PASSWORD_FILE"),
        "{}",
        stderr(&o)
    );
    // Later runs open it with the password, and with the key file alone.
    let with = env
        .cmd(&["--json", "snapshots"])
        .env("CAIRN_PASSWORD_FILE", &pw)
        .output()
        .expect("runs");
    assert_code(&with, 0);
    let without = env.cmd(&["--json", "snapshots"]).output().expect("runs");
    assert_code(&without, 0);
    assert_eq!(json(&with).as_array().map(Vec::len), Some(1));
}

#[test]
fn dry_run_backup_reports_and_stores_nothing() {
    let (env, repo, key) = two_hosts();
    let before: Vec<_> = walk_files(&repo)
        .into_iter()
        .map(|p| (p.clone(), std::fs::metadata(&p).expect("m").len()))
        .collect();
    let src = env.path("new");
    std::fs::create_dir_all(&src).expect("mkdir");
    std::fs::write(src.join("x"), vec![1u8; 300_000]).expect("write");
    let o = env.run_with(
        &repo,
        &key,
        &["--json", "backup", "--dry-run", src.to_str().expect("utf8")],
    );
    assert_code(&o, 0);
    let v = json(&o);
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["summary"]["files"], 1);
    assert!(v["summary"]["bytes_added"].as_u64().expect("n") > 0, "{v}");
    assert_eq!(v["changes"]["files_new"], 1);
    let after: Vec<_> = walk_files(&repo)
        .into_iter()
        .map(|p| (p.clone(), std::fs::metadata(&p).expect("m").len()))
        .collect();
    assert_eq!(before, after, "a dry run changed the repository");
    // No default repository is created by a dry run either.
    let o = env
        .cmd(&["backup", "-n", src.to_str().expect("utf8")])
        .output()
        .expect("runs");
    assert_code(&o, 10);
    assert!(!env.home().join(".local/share/cairn").exists());
}

#[test]
fn rewrite_removes_paths_and_prune_frees_them() {
    let (env, repo, key) = two_hosts();
    let unique = || {
        json(&env.run_with(&repo, &key, &["--json", "stats"]))["unique_raw_bytes"]
            .as_u64()
            .expect("n")
    };
    let before = unique();
    let o = env.run_with(
        &repo,
        &key,
        &["rewrite", "--host", "db", "--exclude", "*.bak", "--dry-run"],
    );
    assert_code(&o, 0);
    assert!(stdout(&o).contains("would remove"), "{}", stdout(&o));
    let ls = |host: &str| stdout(&env.run_with(&repo, &key, &["ls", "latest", "--host", host]));
    assert!(ls("db").contains("big.bak"), "a dry run rewrote");
    let o = env.run_with(
        &repo,
        &key,
        &[
            "--json",
            "rewrite",
            "--host",
            "db",
            "--exclude",
            "*.bak",
            "--forget",
        ],
    );
    assert_code(&o, 0);
    let v = json(&o);
    assert_eq!(v["files_removed"], 1);
    assert_eq!(v["bytes_removed"], 10_000);
    assert_eq!(v["forgotten"], true);
    assert!(!ls("db").contains("big.bak"));
    assert!(ls("db").contains("f4.conf"));
    assert!(
        ls("web").contains("big.bak"),
        "another host's snapshot changed"
    );
    let snaps = json(&env.run_with(&repo, &key, &["--json", "snapshots"]));
    assert_eq!(snaps.as_array().expect("list").len(), 2);
    let info = snaps
        .as_array()
        .expect("list")
        .iter()
        .find(|s| s["host"] == "db")
        .expect("db")["info"]
        .clone();
    assert!(info.get("rewrite.original").is_some(), "{info}");
    // Once no snapshot holds it, prune frees the bytes, and check is clean.
    assert_code(
        &env.run_with(
            &repo,
            &key,
            &["rewrite", "--host", "web", "--exclude", "*.bak", "--forget"],
        ),
        0,
    );
    assert_code(
        &env.run_with(
            &repo,
            &key,
            &["prune", "--grace", "0", "--repack-threshold", "0"],
        ),
        0,
    );
    assert_code(&env.run_with(&repo, &key, &["check", "--read-data"]), 0);
    assert_eq!(before - unique(), 10_000, "the .bak chunk is still stored");
    let stats = json(&env.run_with(
        &repo,
        &key,
        &[
            "--json", "stats", "--mode", "raw-data", "--tag", "web", "--tag", "db",
        ],
    ));
    assert_eq!(stats["files"], 8, "{stats}");
    let o = env.run_with(&repo, &key, &["find", "big.bak"]);
    assert!(!stdout(&o).contains("big.bak"), "{}", stdout(&o));
    let o = env.run_with(&repo, &key, &["rewrite", "--host", "db"]);
    assert_code(&o, 1);
}

#[test]
fn bandwidth_limits_pace_uploads_and_reject_zero() {
    let env = Env::new();
    let (repo, key) = (env.path("repo"), env.path("key"));
    env.init_repo(&repo, &key);
    let src = env.path("src");
    std::fs::create_dir_all(&src).expect("mkdir");
    let mut rng = Rng(7);
    std::fs::write(src.join("r"), rng.bytes(1 << 20)).expect("write");
    let started = std::time::Instant::now();
    let o = env.run_with(
        &repo,
        &key,
        &[
            "--limit-upload",
            "512",
            "backup",
            src.to_str().expect("utf8"),
        ],
    );
    assert_code(&o, 0);
    // 1 MiB of incompressible data at 512 KiB/s: at least two seconds.
    let took = started.elapsed();
    assert!(
        took >= std::time::Duration::from_millis(1900),
        "took {took:?}"
    );
    let target = env.path("out");
    let started = std::time::Instant::now();
    let args = [
        "--limit-download",
        "512",
        "restore",
        "latest",
        "--target",
        target.to_str().expect("utf8"),
    ];
    assert_code(&env.run_with(&repo, &key, &args), 0);
    let took = started.elapsed();
    assert!(
        took >= std::time::Duration::from_millis(1900),
        "restore took {took:?}"
    );
    let o = env.run_with(&repo, &key, &["--limit-download", "0", "snapshots"]);
    assert_code(&o, 2);
}

#[test]
fn help_lists_the_environment_and_examples_and_exit_codes() {
    let env = Env::new();
    let o = env.cmd(&["--help"]).output().expect("runs");
    assert_code(&o, 0);
    let top = stdout(&o);
    for var in [
        "CAIRN_REPOSITORY",
        "CAIRN_PASSWORD_FILE",
        "CAIRN_KEY_FILE",
        "CAIRN_NOTIFY_URL",
        "NO_COLOR",
    ] {
        assert!(top.contains(var), "{var} missing from --help");
    }
    assert!(top.contains("Exit codes:"));
    // Every variable a flag reads is listed.
    let cli = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/cli.rs"))
        .expect("cli.rs");
    let vars: std::collections::BTreeSet<&str> = cli
        .split("env = \"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert!(vars.len() >= 8, "{vars:?}");
    for var in vars {
        assert!(
            top.contains(var),
            "{var} (read by a flag) missing from --help"
        );
    }
    for cmd in ["backup", "restore", "rewrite", "stats", "check", "mount"] {
        let o = env.cmd(&["help", cmd]).output().expect("runs");
        assert_code(&o, 0);
        let text = stdout(&o);
        assert!(
            text.contains("Examples:") && text.contains("Exit codes:"),
            "help {cmd}:\n{text}"
        );
        assert!(
            text.contains("Global options"),
            "help {cmd} mixes global options in"
        );
        // Every example runs the command it documents.
        assert!(text.contains(&format!("cairn {cmd}")), "help {cmd}");
    }
    // A bad flag is a usage error, exit 2.
    assert_code(
        &env.cmd(&["backup", "--no-such-flag"])
            .output()
            .expect("runs"),
        2,
    );
}

#[test]
fn errors_about_a_repository_name_it() {
    let (env, repo, key) = two_hosts();
    let loc = repo.to_str().expect("utf8");
    // A real key file, of another repository.
    let bad = env.path("other.key");
    env.init_repo(&env.path("other"), &bad);
    for (k, args, code) in [
        (&bad, &["snapshots"][..], 12),
        (&key, &["restore", "ffffffff", "--target", "/tmp/x"][..], 1),
        (&key, &["ls", "latest", "--host", "nobody"][..], 1),
        (&key, &["check", "ffffffff"][..], 1),
    ] {
        let o = env.run_with(&repo, k, args);
        assert_code(&o, code);
        assert!(stderr(&o).contains(loc), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn no_colour_off_a_terminal() {
    let env = Env::new();
    let o = env
        .cmd(&[
            "-r",
            env.path("nothing").to_str().expect("utf8"),
            "snapshots",
        ])
        .output()
        .expect("runs");
    assert_code(&o, 10);
    assert!(
        !stderr(&o).contains('\u{1b}'),
        "escape codes on a pipe: {}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("error:"));
}

/// Runs `cairn ARGS` under a pseudo-terminal (util-linux `script`), so
/// stdout and stderr are a terminal; returns everything it printed.
fn on_a_terminal(env: &Env, repo: &Path, key: &Path, args: &[&str], no_color: bool) -> String {
    let bin = env!("CARGO_BIN_EXE_cairn");
    let line = std::iter::once(bin.to_string())
        .chain(args.iter().map(|a| format!("'{a}'")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-qec", &line, "/dev/null"])
        .env("HOME", env.home())
        .env("CAIRN_REPOSITORY", repo)
        .env("CAIRN_KEY_FILE", key)
        .env("COLUMNS", "160")
        .env_remove("NO_COLOR")
        .stdin(std::process::Stdio::null());
    if no_color {
        cmd.env("NO_COLOR", "1");
    }
    let o = cmd.output().expect("script (util-linux) runs");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn colours_and_progress_on_a_terminal() {
    let (env, repo, key) = two_hosts();
    let out = on_a_terminal(&env, &repo, &key, &["ls", "ffffffff"], false);
    assert!(
        out.contains("\u{1b}[1;31merror:"),
        "no red error on a terminal: {out:?}"
    );
    let out = on_a_terminal(&env, &repo, &key, &["ls", "ffffffff"], true);
    assert!(
        out.contains("error:") && !out.contains("\u{1b}[1;31m"),
        "colour with NO_COLOR: {out:?}"
    );
    // A backup slowed to 32 MiB/s shows the bar: percent, files of the
    // total, errors, and the file being read (its reader waits for the
    // uploads once the writer's queues, tens of MiB, are full: the file is
    // several times larger, so it is still being read for seconds).
    let src = env.path("slow");
    std::fs::create_dir_all(&src).expect("mkdir");
    std::fs::write(src.join("big.bin"), Rng(3).bytes(160 << 20)).expect("write");
    let s = src.to_str().expect("utf8");
    let out = on_a_terminal(
        &env,
        &repo,
        &key,
        &["--limit-upload", "32768", "backup", s],
        false,
    );
    assert!(out.contains('%') && out.contains("of 1 files"), "{out:?}");
    assert!(out.contains("0 errors"), "{out:?}");
    assert!(out.contains("big.bin"), "file in flight not shown: {out:?}");
    assert!(out.contains("Files:") && out.contains("1 new"), "{out:?}");
}

#[test]
fn backup_summary_counts_new_changed_and_unmodified() {
    let env = Env::new();
    let (repo, key) = (env.path("repo"), env.path("key"));
    env.init_repo(&repo, &key);
    let src = env.path("src");
    std::fs::create_dir_all(src.join("a")).expect("mkdir");
    std::fs::create_dir_all(src.join("b")).expect("mkdir");
    std::fs::write(src.join("a/1"), b"one").expect("write");
    std::fs::write(src.join("b/2"), b"two").expect("write");
    let s = src.to_str().expect("utf8");
    let first = json(&env.run_with(&repo, &key, &["--json", "backup", s]));
    assert_eq!(first["changes"]["files_new"], 2, "{first}");
    assert_eq!(first["changes"]["dirs_new"], 3, "{first}");
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(src.join("b/2"), b"two, longer").expect("write");
    std::fs::write(src.join("b/3"), b"three").expect("write");
    let o = env.run_with(&repo, &key, &["backup", s]);
    assert_code(&o, 0);
    let text = stdout(&o);
    let files = text
        .lines()
        .find(|l| l.starts_with("Files:"))
        .expect("Files line");
    let nums: Vec<&str> = files
        .split_whitespace()
        .filter(|w| w.parse::<u64>().is_ok())
        .collect();
    assert_eq!(nums, ["1", "1", "1"], "{text}");
    let dirs = text
        .lines()
        .find(|l| l.starts_with("Dirs:"))
        .expect("Dirs line");
    let nums: Vec<&str> = dirs
        .split_whitespace()
        .filter(|w| w.parse::<u64>().is_ok())
        .collect();
    // src and b changed, a is as it was.
    assert_eq!(nums, ["0", "2", "1"], "{text}");
}

#[test]
fn the_restic_table_names_real_commands_and_flags() {
    let env = Env::new();
    let table = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/restic-to-cairn.md"
    ))
    .expect("docs/restic-to-cairn.md");
    let mut rows = 0;
    for line in table.lines().filter(|l| l.starts_with("| `restic")) {
        let cols: Vec<&str> = line.split('|').map(str::trim).collect();
        let (cairn, notes) = (cols[2], cols[3]);
        if cairn == "none" {
            continue;
        }
        let words: Vec<&str> = cairn.trim_matches('`').split_whitespace().collect();
        assert_eq!(words[0], "cairn", "{line}");
        let sub: Vec<&str> = words[1..]
            .iter()
            .copied()
            .filter(|w| !w.starts_with('-'))
            .collect();
        let mut args = sub.clone();
        args.push("--help");
        let o = env.cmd(&args).output().expect("runs");
        assert_code(&o, 0);
        let help = stdout(&o);
        let flags = words[1..]
            .iter()
            .copied()
            .chain(
                notes
                    .split('`')
                    .skip(1)
                    .step_by(2)
                    .flat_map(|c| c.split_whitespace()),
            )
            .filter(|w| w.starts_with("--") && w.len() > 2);
        for flag in flags {
            assert!(
                help.contains(flag),
                "`cairn {} --help` has no {flag} ({line})",
                sub.join(" ")
            );
        }
        rows += 1;
    }
    assert!(rows >= 20, "only {rows} rows checked");
}

#[test]
fn latest_n_narrows_every_selection_and_single_snapshot_commands_refuse_it() {
    let (env, repo, key) = two_hosts();
    // A second snapshot of web: the web group now has two.
    let web = env.path("web");
    std::fs::write(web.join("etc/new.conf"), b"n").expect("write");
    let w = web.to_str().expect("utf8");
    assert_code(
        &env.run_with(&repo, &key, &["backup", w, "--host", "web"]),
        0,
    );
    let count = |args: &[&str], field: &str| {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let o = env.run_with(&repo, &key, &all);
        assert_code(&o, 0);
        json(&o)[field].as_u64().expect("count")
    };
    assert_eq!(count(&["stats", "--host", "web"], "snapshots"), 2);
    assert_eq!(
        count(&["stats", "--host", "web", "--latest", "1"], "snapshots"),
        1
    );
    assert_eq!(
        count(&["stats", "--host", "web", "--latest", "1"], "files"),
        5
    );
    assert_eq!(count(&["check", "--latest", "1"], "snapshots"), 2);
    assert_eq!(count(&["check"], "snapshots"), 3);
    assert_eq!(
        count(&["tag", "--add", "newest", "--latest", "1"], "selected"),
        2
    );
    let tagged = json(&env.run_with(&repo, &key, &["--json", "snapshots", "--tag", "newest"]));
    assert_eq!(tagged.as_array().map(Vec::len), Some(2));
    for (args, says) in [
        (&["ls", "latest", "--latest", "1"][..], "no --latest"),
        (
            &["restore", "latest", "--target", "/tmp/x", "--latest", "1"][..],
            "no --latest",
        ),
        (
            &["forget", "--keep-last", "1", "--latest", "1"][..],
            "--keep-last",
        ),
    ] {
        let o = env.run_with(&repo, &key, args);
        assert_code(&o, 1);
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
    }
}
