//! Test support shared by the cairn crates' integration tests.
//!
//! [`Pg`] starts a real, throwaway PostgreSQL cluster, [`Redis`] a real
//! Redis server and [`Moto`] a real S3-compatible server; nothing here is
//! a mock. [`KubeApi`] is the one fixture: no Kubernetes API server can run
//! on the test machines, so it answers in the real shapes from manifests.

pub mod crashfs;
pub mod faultproxy;
mod kubeapi;
mod mongod;
mod moto;
mod pg;
pub mod prom;
mod redis;

pub use crashfs::CrashFs;
pub use faultproxy::{Fault, FaultMix, FaultProxy};
pub use kubeapi::{shared_manifests, KubeApi};
pub use mongod::{mongo_archive, mongo_python, Mongod};
pub use moto::Moto;
pub use pg::Pg;
pub use redis::Redis;

/// Starts a Python fixture server `script` (in `dir`) with `--port-file`
/// and `--record DIR/requests.jsonl` before `args`, and waits for its
/// port; `what` names it in panics.
pub fn spawn_fixture(
    python: &str,
    script: &std::path::Path,
    dir: &std::path::Path,
    args: &[&str],
    what: &str,
) -> (std::process::Child, u16) {
    let portfile = dir.join("port");
    let child = std::process::Command::new(python)
        .arg(script)
        .arg("--port-file")
        .arg(&portfile)
        .arg("--record")
        .arg(dir.join("requests.jsonl"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {what}: {e}"));
    (child, wait_for_port(&portfile, what))
}

/// Reads the port a test server wrote to `portfile` (it writes a
/// temporary file and renames it, so the content is whole), waiting up to
/// 20 s; panics naming `what` if it never appears.
pub fn wait_for_port(portfile: &std::path::Path, what: &str) -> u16 {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !portfile.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what} did not start within 20 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::fs::read_to_string(portfile)
        .ok()
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("{what} wrote no port to {}", portfile.display()))
}

/// The Python the test fixtures run with: `CAIRN_MOTO_PYTHON` (the test
/// virtual environment `scripts/test` makes), else `python3`.
pub fn test_python() -> String {
    std::env::var("CAIRN_MOTO_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

/// Whether `python` can import `module`.
pub fn python_has(python: &str, module: &str) -> bool {
    std::process::Command::new(python)
        .args(["-c", &format!("import {module}")])
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// A loopback port free at the time of asking.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}
