//! Running the built `cairn` binary in an isolated environment.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A temp HOME plus a key file; every run gets a clean environment.
pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Default for Env {
    fn default() -> Self {
        Self::new()
    }
}

impl Env {
    pub fn new() -> Self {
        Env {
            dir: tempfile::tempdir().expect("tmp"),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn home(&self) -> PathBuf {
        self.path("home")
    }

    /// A command with HOME set and every CAIRN_ variable cleared.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_cairn"));
        c.args(args)
            .env("HOME", self.home())
            .env_remove("XDG_DATA_HOME")
            .env_remove("XDG_CONFIG_HOME");
        for (k, _) in std::env::vars() {
            if k.starts_with("CAIRN_") {
                c.env_remove(k);
            }
        }
        c.stdin(Stdio::null());
        c
    }

    /// Creates a repository at `repo` with a new key file `key`.
    pub fn init_repo(&self, repo: &Path, key: &Path) {
        let o = self
            .cmd(&["init", "--generate-key-file", key.to_str().expect("utf8")])
            .env("CAIRN_REPOSITORY", repo)
            .output()
            .expect("init");
        assert_code(&o, 0);
    }

    /// Runs with the repository at `repo` opened by the key file `key`.
    pub fn run_with(&self, repo: &Path, key: &Path, args: &[&str]) -> Output {
        self.cmd(args)
            .env("CAIRN_REPOSITORY", repo)
            .env("CAIRN_KEY_FILE", key)
            .output()
            .expect("runs")
    }
}

/// A small xorshift generator for reproducible random test data.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n / 8).flat_map(|_| self.next().to_le_bytes()).collect()
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[track_caller]
pub fn assert_code(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
}

pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_str(stdout(o).trim().lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {}", stdout(o)))
}

/// A small source tree.
pub fn make_source(root: &Path) {
    std::fs::create_dir_all(root.join("sub")).expect("mkdir");
    std::fs::write(root.join("a.txt"), "alpha\n".repeat(1000)).expect("write");
    std::fs::write(
        root.join("sub/b.bin"),
        (0..200_000u32)
            .map(|i| (i * 7919 % 251) as u8)
            .collect::<Vec<_>>(),
    )
    .expect("write");
    std::os::unix::fs::symlink("a.txt", root.join("link")).expect("symlink");
}

/// The uid/gid tests use for an unprivileged user (`nobody`).
pub const NOBODY: u32 = 65534;

impl Env {
    /// Makes the environment's directory usable by `nobody`.
    pub fn share_with_nobody(&self) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(self.dir.path(), std::fs::Permissions::from_mode(0o777))
            .expect("chmod");
        std::fs::create_dir_all(self.home()).expect("home");
        std::os::unix::fs::chown(self.home(), Some(NOBODY), Some(NOBODY)).expect("chown home");
    }

    /// `cairn ARGS` as `nobody` (through `setpriv`), with the environment
    /// of [`Env::cmd`]. Needs root.
    pub fn cmd_as_nobody(&self, args: &[&str]) -> Command {
        let c = self.cmd(args);
        let mut s = Command::new("setpriv");
        s.args([
            "--reuid",
            "65534",
            "--regid",
            "65534",
            "--clear-groups",
            "--",
        ])
        .arg(c.get_program())
        .args(c.get_args());
        for (k, v) in c.get_envs() {
            match v {
                Some(v) => s.env(k, v),
                None => s.env_remove(k),
            };
        }
        s.stdin(Stdio::null());
        s
    }
}

/// True when the tests run as root (CI does; the unprivileged cases then
/// run as `nobody` through `setpriv`).
pub fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Bytes read so far by process `pid` (`rchar` of /proc/PID/io).
pub fn bytes_read_by(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/io"))
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("rchar: ")
                    .and_then(|v| v.trim().parse().ok())
            })
        })
        .unwrap_or(0)
}

/// Where a restored source path ends up under the target.
pub fn restored(target: &Path, source: &Path) -> PathBuf {
    target.join(source.strip_prefix("/").expect("absolute"))
}

/// Every file below `dir`, recursively.
pub fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk_files(&p));
        } else {
            out.push(p);
        }
    }
    out
}
