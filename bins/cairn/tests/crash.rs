//! Crash consistency: backups killed with SIGKILL at random moments over a
//! local repository. After every kill the repository checks clean (or
//! only with leftovers that prune removes), every earlier snapshot restores
//! byte-identical, and the next backup succeeds.
//!
//! `CAIRN_CRASH_KILLS` (default 8) and `CAIRN_CRASH_SEED` set the run; the
//! figures in docs/reliability.md come from
//! `CAIRN_CRASH_KILLS=200 cargo test -p cairn-cli --test crash -- --nocapture`.

mod common;
use common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// path → BLAKE3 of its content: what a snapshot must restore to.
type Manifest = BTreeMap<PathBuf, [u8; 32]>;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Rewrites the large files with new random bytes and touches some small
/// ones, so every backup has about 24 MiB of new data to store.
fn mutate(src: &Path, rng: &mut Rng, round: u64) {
    std::fs::create_dir_all(src.join("small")).expect("mkdir");
    for i in 0..12 {
        std::fs::write(src.join(format!("big{i}.bin")), rng.bytes(2 << 20)).expect("write");
    }
    for i in 0..400 {
        if round == 0 || rng.next().is_multiple_of(10) {
            let text = format!("file {i} round {round} {}\n", rng.next()).repeat(40);
            std::fs::write(src.join(format!("small/{i}.txt")), text).expect("write");
        }
    }
    if round == 0 {
        // Every kind of entry a backup of /etc or /home meets.
        std::os::unix::fs::symlink("small/1.txt", src.join("link")).expect("symlink");
        std::fs::hard_link(src.join("small/2.txt"), src.join("hardlink")).expect("link");
        let fifo = src.join("fifo");
        let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
        assert!(made.success());
        rustix::fs::setxattr(
            src.join("small/3.txt"),
            "user.crash",
            b"kept",
            rustix::fs::XattrFlags::empty(),
        )
        .expect("xattr");
    }
}

fn manifest(src: &Path) -> Manifest {
    let mut m = Manifest::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            let ft = std::fs::symlink_metadata(&p).expect("lstat").file_type();
            let rel = p.strip_prefix(src).expect("prefix").to_path_buf();
            let what = if ft.is_dir() {
                stack.push(p);
                continue;
            } else if ft.is_symlink() {
                let t = std::fs::read_link(&p).expect("readlink");
                [b"link:".as_slice(), t.as_os_str().as_encoded_bytes()].concat()
            } else if ft.is_file() {
                let mut v = std::fs::read(&p).expect("read");
                let mut x = [0u8; 64];
                if let Ok(n) = rustix::fs::lgetxattr(&p, "user.crash", &mut x[..]) {
                    v.extend_from_slice(&x[..n]);
                }
                v
            } else {
                b"special".to_vec()
            };
            m.insert(rel, *blake3::hash(&what).as_bytes());
        }
    }
    m
}

struct Repo<'a> {
    env: &'a Env,
    repo: PathBuf,
    key: PathBuf,
}

impl Repo<'_> {
    fn run(&self, args: &[&str]) -> std::process::Output {
        self.env.run_with(&self.repo, &self.key, args)
    }

    fn backup_cmd(&self, src: &Path) -> Command {
        let mut c = self
            .env
            .cmd(&["--json", "-q", "backup", src.to_str().expect("utf8")]);
        c.env("CAIRN_REPOSITORY", &self.repo)
            .env("CAIRN_KEY_FILE", &self.key)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    fn latest_id(&self) -> String {
        let o = self.run(&["--json", "snapshots"]);
        assert_code(&o, 0);
        let v = json(&o);
        let all = v.as_array().expect("array");
        all.last().expect("a snapshot")["id"]
            .as_str()
            .expect("id")
            .to_string()
    }

    /// Restores `id` and compares every file with the manifest.
    fn assert_restores(&self, id: &str, want: &Manifest) {
        let target = self.env.path(&format!("restore-{id}"));
        let o = self.run(&["restore", id, "--target", target.to_str().expect("utf8")]);
        assert_code(&o, 0);
        let root = std::fs::read_dir(&target)
            .expect("restored")
            .map(|e| e.expect("entry").path())
            .find(|p| p.is_dir())
            .expect("restored root");
        let root = find_source_root(&root);
        assert!(
            manifest(&root) == *want,
            "snapshot {id} restores different content"
        );
        std::fs::remove_dir_all(&target).expect("cleanup");
    }

    fn assert_check_clean(&self, read_data: bool) -> String {
        let mut args = vec!["check"];
        if read_data {
            args.push("--read-data");
        }
        let o = self.run(&args);
        assert_code(&o, 0);
        stdout(&o)
    }
}

/// Restore recreates the absolute source path under the target; descend
/// until the directory holding `small/`.
fn find_source_root(p: &Path) -> PathBuf {
    let mut p = p.to_path_buf();
    while !p.join("small").is_dir() {
        p = std::fs::read_dir(&p)
            .expect("dir")
            .map(|e| e.expect("entry").path())
            .find(|c| c.is_dir())
            .expect("source root inside the restore");
    }
    p
}

fn new_repo<'a>(env: &'a Env, pack_mib: &str) -> Repo<'a> {
    let r = Repo {
        env,
        repo: env.path("repo"),
        key: env.path("key"),
    };
    let o = env
        .cmd(&[
            "init",
            "--generate-key-file",
            r.key.to_str().expect("utf8"),
            "--pack-size",
            pack_mib,
        ])
        .env("CAIRN_REPOSITORY", &r.repo)
        .output()
        .expect("init");
    assert_code(&o, 0);
    r
}

#[test]
fn sigkill_during_backup_loses_nothing() {
    let kills = env_u64("CAIRN_CRASH_KILLS", 8);
    let seed = env_u64("CAIRN_CRASH_SEED", 0x5EED_CA1E);
    eprintln!("crash test: {kills} kills, seed {seed} (CAIRN_CRASH_KILLS, CAIRN_CRASH_SEED)");
    let env = Env::new();
    let r = new_repo(&env, "1");
    let src = env.path("src");
    let mut rng = Rng(seed | 1);
    mutate(&src, &mut rng, 0);
    let start = Instant::now();
    let o = r.backup_cmd(&src).output().expect("backup");
    assert_code(&o, 0);
    let full = start.elapsed();
    let mut done: Vec<(String, Manifest)> = vec![(r.latest_id(), manifest(&src))];
    let (mut killed, mut finished) = (0u64, 0u64);
    for round in 1..=kills {
        mutate(&src, &mut rng, round);
        let want = manifest(&src);
        let delay = Duration::from_micros(rng.next() % (full.as_micros() as u64 * 11 / 10 + 1));
        let mut child = r.backup_cmd(&src).spawn().expect("spawn backup");
        std::thread::sleep(delay);
        if child.try_wait().expect("wait").is_none() {
            child.kill().expect("SIGKILL");
            child.wait().expect("reap");
            killed += 1;
        } else {
            let o = child.wait_with_output().expect("output");
            assert_code(&o, 0);
            done.push((r.latest_id(), want));
            finished += 1;
        }
        r.assert_check_clean(false);
        let (id, m) = done.last().expect("snapshot");
        r.assert_restores(id, m);
        if round % 10 == 0 {
            // Keep the repository small on long runs; leftovers go too.
            let o = r.run(&["forget", "--keep-last", "3"]);
            assert_code(&o, 0);
            let o = r.run(&["prune", "--grace", "0"]);
            assert_code(&o, 0);
            let keep = done.len().saturating_sub(3);
            done.drain(..keep);
        }
    }
    eprintln!("crash test: {killed} backups killed, {finished} finished before the kill");
    // The next backup succeeds; afterwards every snapshot restores, the
    // data verifies, and prune removes what the killed runs left.
    let o = r.backup_cmd(&src).output().expect("backup");
    assert_code(&o, 0);
    done.push((r.latest_id(), manifest(&src)));
    for (id, m) in &done {
        r.assert_restores(id, m);
    }
    let o = r.run(&["prune", "--grace", "0"]);
    assert_code(&o, 0);
    let out = r.assert_check_clean(true);
    assert!(
        !out.contains("warning"),
        "leftovers remain after prune:\n{out}"
    );
    assert!(
        killed > 0 || kills == 0,
        "no backup was killed: the delays are too long"
    );
    let strays = stray_files(&r.repo);
    assert!(
        strays.is_empty(),
        "partial files left in the repository: {strays:?}"
    );
}

/// Files that are not repository objects (temporaries of interrupted writes).
fn stray_files(repo: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![repo.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if p.is_dir() {
                stack.push(p);
            } else if name != "config"
                && !(name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()))
            {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn backup_after_a_kill_reuses_indexed_packs() {
    let env = Env::new();
    let r = new_repo(&env, "1");
    let src = env.path("src");
    std::fs::create_dir_all(&src).expect("mkdir");
    let mut rng = Rng(99);
    for i in 0..20 {
        std::fs::write(src.join(format!("part{i}.bin")), rng.bytes(8 << 20)).expect("write");
    }
    let index_dir = r.repo.join("index");
    let mut child = r.backup_cmd(&src).spawn().expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(120);
    // Kill as soon as the first index file (64 packs) is stored.
    // (Temporaries of the index being written do not count: only a
    // placed, 64-hex-named index file is one a next backup can use.)
    let placed = || {
        std::fs::read_dir(&index_dir).map_or(0, |d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.file_name().len() == 64)
                .count()
        })
    };
    while placed() == 0 {
        assert!(
            child.try_wait().expect("wait").is_none(),
            "backup ended before its first index file"
        );
        assert!(Instant::now() < deadline, "no index file within 2 minutes");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    let o = r.backup_cmd(&src).output().expect("backup");
    assert_code(&o, 0);
    let v = json(&o);
    let (total, added) = (
        v["summary"]["total_bytes"].as_u64().expect("total"),
        v["summary"]["bytes_added"].as_u64().expect("added"),
    );
    assert_eq!(total, 160 << 20);
    eprintln!("after the kill: the next backup stored {added} of {total} bytes");
    assert!(
        added <= total - (60 << 20),
        "the backup after the kill stored {added} of {total} bytes: the 64 indexed packs were not reused"
    );
    r.assert_check_clean(true);
}
