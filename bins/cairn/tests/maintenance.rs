//! `forget`, `prune`, `check`, `copy`, `repair index` and append-only mode
//! through the real binary.

mod common;
use common::*;
use std::path::Path;

fn init(env: &Env, repo: &Path, key: &Path, extra: &[&str]) {
    let mut args = vec!["init", "--generate-key-file", key.to_str().expect("utf8")];
    args.extend_from_slice(extra);
    let o = env
        .cmd(&args)
        .env("CAIRN_REPOSITORY", repo)
        .output()
        .expect("init");
    assert_code(&o, 0);
}

fn backup_at(env: &Env, repo: &Path, key: &Path, src: &Path, time: &str) {
    let o = env.run_with(
        repo,
        key,
        &[
            "backup",
            src.to_str().expect("utf8"),
            "--time",
            time,
            "--parent",
            "none",
        ],
    );
    assert_code(&o, 0);
}

#[test]
fn forget_prune_check_copy_repair() {
    let env = Env::new();
    let (repo, key, src) = (env.path("repo"), env.path("key"), env.path("src"));
    init(&env, &repo, &key, &[]);
    make_source(&src);
    for (i, day) in ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"]
        .iter()
        .enumerate()
    {
        std::fs::write(
            src.join("day.bin"),
            (0..300_000u32)
                .map(|x| (x * 31 + i as u32 * 7919) as u8)
                .collect::<Vec<u8>>(),
        )
        .expect("write");
        backup_at(&env, &repo, &key, &src, &format!("{day} 12:00:00"));
    }
    let o = env.run_with(
        &repo,
        &key,
        &["--json", "forget", "--keep-daily", "2", "--dry-run"],
    );
    assert_code(&o, 0);
    let d = json(&o);
    let arr = d.as_array().expect("array");
    assert_eq!(arr.len(), 4);
    assert_eq!(arr.iter().filter(|x| x["keep"] == true).count(), 2);
    assert!(
        arr.iter().any(|x| x["keep"] == true
            && x["reasons"][0]
                .as_str()
                .unwrap_or("")
                .starts_with("daily (2026-01-04)")),
        "{d}"
    );
    let o = env.run_with(&repo, &key, &["--json", "snapshots"]);
    assert_eq!(
        json(&o).as_array().map(Vec::len),
        Some(4),
        "dry run removes nothing"
    );

    let o = env.run_with(&repo, &key, &["forget", "--keep-daily", "2"]);
    assert_code(&o, 0);
    assert!(
        stdout(&o).contains("removed 2 of 4 snapshots"),
        "{}",
        stdout(&o)
    );
    let o = env.run_with(&repo, &key, &["--json", "prune", "--grace", "0"]);
    assert_code(&o, 0);
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(
        lines[0]["message_type"], "plan",
        "prune says what it will free first"
    );
    assert!(
        lines[1]["packs_deleted"].as_u64().expect("n") > 0,
        "{}",
        stdout(&o)
    );

    let o = env.run_with(&repo, &key, &["check", "--read-data"]);
    assert_code(&o, 0);
    assert!(stdout(&o).contains("no errors"));
    let o = env.run_with(
        &repo,
        &key,
        &["--json", "check", "--read-data-subset", "1/2"],
    );
    assert_code(&o, 0);
    assert_eq!(json(&o)["clean"], true);

    // Copy to a DR repository with its own key; a second copy is a no-op.
    let (dr, dr_key) = (env.path("dr"), env.path("dr.key"));
    init(&env, &dr, &dr_key, &[]);
    let copy = |args: &[&str]| {
        env.cmd(args)
            .env("CAIRN_REPOSITORY", &repo)
            .env("CAIRN_KEY_FILE", &key)
            .env("CAIRN_TO_KEY_FILE", &dr_key)
            .output()
            .expect("copy")
    };
    let o = copy(&["--json", "copy", "--to", dr.to_str().expect("utf8")]);
    assert_code(&o, 0);
    assert_eq!(json(&o)["snapshots_copied"], 2);
    let o = copy(&["--json", "copy", "--to", dr.to_str().expect("utf8")]);
    assert_eq!(json(&o)["snapshots_copied"], 0);
    assert_eq!(json(&o)["blobs_stored"], 0);
    let out = env.path("out");
    let o = env.run_with(
        &dr,
        &dr_key,
        &["restore", "latest", "--target", out.to_str().expect("utf8")],
    );
    assert_code(&o, 0);
    assert_eq!(
        std::fs::read(out.join(src.strip_prefix("/").expect("abs")).join("a.txt")).expect("read"),
        std::fs::read(src.join("a.txt")).expect("read")
    );

    // Damage: a flipped byte in a pack makes check exit 4 and name the pack.
    let pack = walk_files(&repo.join("data"))
        .into_iter()
        .max_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .expect("pack");
    let mut bytes = std::fs::read(&pack).expect("read");
    bytes[64] ^= 1;
    std::fs::write(&pack, &bytes).expect("write");
    let o = env.run_with(&repo, &key, &["check", "--read-data"]);
    assert_code(&o, 4);
    assert!(
        stdout(&o).contains(pack.file_name().and_then(|n| n.to_str()).expect("name")),
        "{}",
        stdout(&o)
    );
    bytes[64] ^= 1;
    std::fs::write(&pack, &bytes).expect("write");

    // Lost index files: repair index rebuilds them.
    for f in walk_files(&repo.join("index")) {
        std::fs::remove_file(f).expect("rm");
    }
    let o = env.run_with(&repo, &key, &["repair", "index"]);
    assert_code(&o, 0);
    let o = env.run_with(&repo, &key, &["check", "--read-data"]);
    assert_code(&o, 0);
}

#[test]
fn append_only_repository_refuses_forget_and_prune() {
    let env = Env::new();
    let (repo, key, src) = (env.path("repo"), env.path("key"), env.path("src"));
    init(&env, &repo, &key, &["--append-only"]);
    make_source(&src);
    backup_at(&env, &repo, &key, &src, "2026-01-01 00:00:00");
    for args in [&["forget", "--keep-last", "1"][..], &["prune"][..]] {
        let o = env.run_with(&repo, &key, args);
        assert_code(&o, 1);
        assert!(stderr(&o).contains("append-only"), "{}", stderr(&o));
    }
    let o = env.run_with(&repo, &key, &["--json", "snapshots"]);
    assert_eq!(json(&o).as_array().map(Vec::len), Some(1));
}

#[test]
fn copy_with_shared_chunker_params_transfers_only_new_chunks() {
    let env = Env::new();
    let (repo, key, src) = (env.path("repo"), env.path("key"), env.path("src"));
    init(&env, &repo, &key, &[]);
    make_source(&src);
    backup_at(&env, &repo, &key, &src, "2026-01-01 00:00:00");
    let (dr, dr_key) = (env.path("dr"), env.path("dr.key"));
    let o = env
        .cmd(&[
            "init",
            "--generate-key-file",
            dr_key.to_str().expect("utf8"),
            "--copy-chunker-params-from",
            repo.to_str().expect("utf8"),
        ])
        .env("CAIRN_REPOSITORY", &dr)
        .env("CAIRN_FROM_KEY_FILE", &key)
        .output()
        .expect("init");
    assert_code(&o, 0);
    let o = env
        .cmd(&["--json", "copy", "--to", dr.to_str().expect("utf8")])
        .env("CAIRN_REPOSITORY", &repo)
        .env("CAIRN_KEY_FILE", &key)
        .env("CAIRN_TO_KEY_FILE", &dr_key)
        .output()
        .expect("copy");
    assert_code(&o, 0);
    let first = json(&o)["chunks_read"].as_u64().expect("n");
    assert!(first > 0);
    std::fs::write(src.join("new.txt"), "one more file").expect("write");
    backup_at(&env, &repo, &key, &src, "2026-01-02 00:00:00");
    let o = env
        .cmd(&["--json", "copy", "--to", dr.to_str().expect("utf8")])
        .env("CAIRN_REPOSITORY", &repo)
        .env("CAIRN_KEY_FILE", &key)
        .env("CAIRN_TO_KEY_FILE", &dr_key)
        .output()
        .expect("copy");
    assert_code(&o, 0);
    assert_eq!(
        json(&o)["chunks_read"],
        1,
        "only the new file's chunk crosses: {}",
        stdout(&o)
    );
}

#[test]
fn forget_flags_follow_restic() {
    let env = Env::new();
    let (repo, key, src) = (env.path("repo"), env.path("key"), env.path("src"));
    init(&env, &repo, &key, &[]);
    make_source(&src);
    let s = src.to_str().expect("utf8");
    // Five of the snapshots of restic's policy suite, with their tags.
    for (time, tags) in [
        ("2015-10-22 10:20:30", &["foo", "bar"][..]),
        ("2015-11-13 10:20:30.1", &["bar"][..]),
        ("2015-11-15 10:20:30", &["foo"][..]),
        ("2015-11-18 10:20:30", &[][..]),
        ("2016-01-18 12:02:03", &[][..]),
    ] {
        let mut args = vec!["backup", s, "--time", time, "--parent", "none"];
        for t in tags {
            args.extend(["--tag", t]);
        }
        assert_code(&env.run_with(&repo, &key, &args), 0);
    }
    let kept = |flags: &[&str]| -> Vec<String> {
        let mut args = vec!["--json", "forget", "--dry-run"];
        args.extend_from_slice(flags);
        let o = env.run_with(&repo, &key, &args);
        assert_code(&o, 0);
        let mut v: Vec<String> = json(&o)
            .as_array()
            .expect("array")
            .iter()
            .filter(|d| d["keep"] == true)
            .map(|d| d["time"].as_str().expect("time")[..10].to_string())
            .collect();
        v.sort();
        v
    };
    let days = |d: &[&str]| d.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    // One --keep-tag value is one list: both tags needed.
    assert_eq!(kept(&["--keep-tag", "foo,bar"]), days(&["2015-10-22"]));
    // Several --keep-tag: any list.
    assert_eq!(
        kept(&["--keep-tag", "foo", "--keep-tag", "bar"]),
        days(&["2015-10-22", "2015-11-13", "2015-11-15"])
    );
    // An empty list matches the untagged snapshots.
    assert_eq!(
        kept(&["--keep-tag", ""]),
        days(&["2015-11-18", "2016-01-18"])
    );
    // 2m2h before 2016-01-18 12:02:03 is 2015-11-18 10:02:03 (calendar
    // months), so 2015-11-18 10:20:30 stays.
    assert_eq!(
        kept(&["--keep-within", "2m2h"]),
        days(&["2015-11-18", "2016-01-18"])
    );
    // Newest per ISO week within a year: 2015-11-13 shares 2015-W46 with
    // 2015-11-15.
    assert_eq!(
        kept(&["--keep-within-weekly", "1y"]),
        days(&["2015-10-22", "2015-11-15", "2015-11-18", "2016-01-18"])
    );
    // Two years exist, the counter has 8 left: the oldest is kept too.
    assert_eq!(
        kept(&["--keep-yearly", "10"]),
        days(&["2015-10-22", "2015-11-18", "2016-01-18"])
    );
    assert_eq!(kept(&["--keep-last", "unlimited"]).len(), 5);
    assert_eq!(kept(&["--keep-last", "2", "--group-by", ""]).len(), 2);
    for refused in [
        &["forget", "--keep-last", "-2"][..],
        &["forget", "--keep-within", "2w3x"][..],
        &["forget", "--keep-within-daily", "5"][..],
    ] {
        assert_code(&env.run_with(&repo, &key, refused), 2);
    }
    // --keep-last 0 is no rule at all, as in restic: refused, nothing removed.
    let o = env.run_with(&repo, &key, &["forget", "--keep-last", "0"]);
    assert_code(&o, 1);
    assert!(stderr(&o).contains("no retention rule"), "{}", stderr(&o));
    let o = env.run_with(&repo, &key, &["--json", "snapshots"]);
    assert_eq!(json(&o).as_array().map(Vec::len), Some(5));
}
