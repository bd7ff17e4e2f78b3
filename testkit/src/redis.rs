//! A throwaway Redis server for tests: Debian's `redis-server` on a free
//! loopback port with its data in a temp dir, stopped when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running server.
pub struct Redis {
    child: Child,
    dir: tempfile::TempDir,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

fn require(tool: &str) {
    let ok = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "{tool} not found: run the suite with scripts/test (it installs Debian's redis-server), \
         or `apt-get install redis-server`"
    );
}

impl Redis {
    /// Starts an empty server.
    pub fn start() -> Redis {
        let dir = tempfile::Builder::new()
            .prefix("cairn-redis")
            .tempdir()
            .expect("tmp");
        Redis::start_in(dir)
    }

    /// Starts a server whose data directory holds `dump.rdb` (a restore).
    pub fn start_with_rdb(rdb: &Path) -> Redis {
        let dir = tempfile::Builder::new()
            .prefix("cairn-redis")
            .tempdir()
            .expect("tmp");
        std::fs::copy(rdb, dir.path().join("dump.rdb")).expect("copy rdb");
        Redis::start_in(dir)
    }

    fn start_in(dir: tempfile::TempDir) -> Redis {
        require("redis-server");
        require("redis-cli");
        let port = crate::free_port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(dir.path())
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let r = Redis { child, dir, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while r.try_cli(&["PING"]).as_deref() != Some("PONG") {
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer on port {port} within 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        r
    }

    /// The data directory.
    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    fn try_cli(&self, args: &[&str]) -> Option<String> {
        let out = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(args)
            .stderr(Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// Runs one `redis-cli` command and returns its output.
    pub fn cli(&self, args: &[&str]) -> String {
        self.try_cli(args)
            .unwrap_or_else(|| panic!("redis-cli {args:?} failed on port {}", self.port))
    }

    /// `redis-cli` arguments that reach this server.
    pub fn cli_prefix(&self) -> String {
        format!("redis-cli -h 127.0.0.1 -p {}", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
