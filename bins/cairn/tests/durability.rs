//! Durability of the ordering pack → index → snapshot, checked on the
//! system calls of a real backup (strace): every object's bytes are synced
//! before it gets its name, its directory is synced after, and nothing is
//! named before what it depends on is durable (docs/reliability.md).

mod common;
use common::*;
use std::collections::HashMap;
use std::path::Path;

/// One traced system call.
#[derive(Debug, Clone)]
struct Call {
    pid: u32,
    name: String,
    args: String,
    ret: String,
}

/// Parses `strace -f` output, joining `<unfinished ...>` and `resumed`
/// halves.
fn parse(trace: &str) -> Vec<Call> {
    let mut pending: HashMap<u32, String> = HashMap::new();
    let mut out = Vec::new();
    for line in trace.lines() {
        let Some((pid, rest)) = line.split_once(' ') else {
            continue;
        };
        let Ok(pid) = pid.trim().parse::<u32>() else {
            continue;
        };
        let rest = rest.trim_start();
        let full = if let Some(start) = rest.strip_suffix("<unfinished ...>") {
            pending.insert(pid, start.to_string());
            continue;
        } else if rest.starts_with("<... ") {
            let tail = rest.split_once("resumed>").map_or("", |(_, t)| t);
            format!("{}{tail}", pending.remove(&pid).unwrap_or_default())
        } else {
            rest.to_string()
        };
        let Some((head, ret)) = full.rsplit_once(" = ") else {
            continue;
        };
        let Some((name, args)) = head.split_once('(') else {
            continue;
        };
        out.push(Call {
            pid,
            name: name.to_string(),
            args: args.trim_end().trim_end_matches(')').trim().to_string(),
            ret: ret.split_whitespace().next().unwrap_or("").to_string(),
        });
    }
    out
}

/// The quoted paths in a call's arguments.
fn paths(args: &str) -> Vec<String> {
    args.split('"')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s.to_string())
        .collect()
}

/// For the object placed by the rename at `at`: checks its temporary was
/// synced before, and returns the index of the sync of its directory.
fn durable_at(calls: &[Call], at: usize) -> usize {
    let rename = &calls[at];
    let p = paths(&rename.args);
    let (tmp, target) = (&p[0], &p[1]);
    let open = calls[..at]
        .iter()
        .rposition(|c| c.name == "openat" && paths(&c.args).first() == Some(tmp))
        .unwrap_or_else(|| panic!("no open of {tmp}"));
    let fd = &calls[open].ret;
    assert!(
        calls[open..at]
            .iter()
            .any(|c| c.pid == rename.pid && c.name == "fdatasync" && c.args == *fd),
        "{target} was named before its bytes were synced"
    );
    let dir = Path::new(target)
        .parent()
        .expect("dir")
        .display()
        .to_string();
    let dir_open = at
        + calls[at..]
            .iter()
            .position(|c| {
                c.pid == rename.pid && c.name == "openat" && paths(&c.args).first() == Some(&dir)
            })
            .unwrap_or_else(|| panic!("directory {dir} never synced after {target}"));
    let dfd = &calls[dir_open].ret;
    dir_open
        + calls[dir_open..]
            .iter()
            .position(|c| c.pid == rename.pid && c.name == "fsync" && c.args == *dfd)
            .unwrap_or_else(|| panic!("directory {dir} opened but not synced"))
}

fn strace() -> std::path::PathBuf {
    let found = std::process::Command::new("strace").arg("-V").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "strace is needed for this test: apt-get install strace (scripts/test installs it)"
    );
    "strace".into()
}

#[test]
fn every_object_is_durable_before_anything_that_depends_on_it_is_named() {
    let tracer = strace();
    let env = Env::new();
    let (repo, key, src) = (env.path("repo"), env.path("repo.key"), env.path("src"));
    std::fs::create_dir_all(src.join("sub")).expect("mkdir");
    for i in 0..40u64 {
        let data: Vec<u8> = (0..(i * 90_001) % 2_000_000)
            .map(|j| (j.wrapping_mul(i + 7) >> 3) as u8)
            .collect();
        std::fs::write(src.join(format!("sub/f{i}")), data).expect("write");
    }
    let o = env
        .cmd(&[
            "init",
            "--generate-key-file",
            key.to_str().expect("utf8"),
            "--pack-size",
            "1",
        ])
        .env("CAIRN_REPOSITORY", &repo)
        .output()
        .expect("runs");
    assert_code(&o, 0);
    let trace = env.path("trace");
    let bin = env!("CARGO_BIN_EXE_cairn");
    let o = std::process::Command::new(tracer)
        .args([
            "-f",
            "-qq",
            "-e",
            "trace=openat,fdatasync,fsync,renameat2,linkat",
        ])
        .arg("-o")
        .arg(&trace)
        .arg(bin)
        .args(["backup", src.to_str().expect("utf8")])
        .env("HOME", env.home())
        .env("CAIRN_REPOSITORY", &repo)
        .env("CAIRN_KEY_FILE", &key)
        .output()
        .expect("strace runs");
    assert_code(&o, 0);
    let calls = parse(&std::fs::read_to_string(&trace).expect("trace"));
    let repo_s = repo.display().to_string();
    let placed: Vec<(usize, String)> = calls
        .iter()
        .enumerate()
        .filter(|(_, c)| c.name == "renameat2" && c.ret == "0")
        .filter_map(|(i, c)| {
            let p = paths(&c.args);
            let rel = p.get(1)?.strip_prefix(&repo_s)?.trim_start_matches('/');
            Some((i, rel.split('/').next()?.to_string()))
        })
        .collect();
    let count = |kind: &str| placed.iter().filter(|(_, k)| k == kind).count();
    let renames: Vec<&Call> = calls.iter().filter(|c| c.name == "renameat2").collect();
    assert!(
        count("data") >= 3,
        "several packs: placed {placed:?}; {} calls parsed, renameat2 calls: {renames:?}; \
         backup stderr: {}",
        calls.len(),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(count("index") >= 1 && count("snapshots") == 1, "{placed:?}");
    let durable: Vec<(usize, usize, &str)> = placed
        .iter()
        .map(|(i, k)| (*i, durable_at(&calls, *i), k.as_str()))
        .collect();
    // Packs before the index files that follow them, everything before
    // the snapshot.
    for (at, _, kind) in &durable {
        let before: Vec<&(usize, usize, &str)> =
            durable.iter().filter(|(i, _, _)| i < at).collect();
        match *kind {
            "index" => {
                for (_, synced, k) in before.iter().filter(|(_, _, k)| *k == "data") {
                    assert!(
                        synced < at,
                        "a {k} object was not durable before an index file"
                    );
                }
            }
            "snapshots" => {
                for (_, synced, k) in before.iter().filter(|(_, _, k)| *k != "sessions") {
                    assert!(
                        synced < at,
                        "a {k} object was not durable before the snapshot"
                    );
                }
            }
            _ => {}
        }
    }
}
