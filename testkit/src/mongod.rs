//! The fake MongoDB server (`mongod.py` on MongoDB's own `mockupdb`
//! wire-protocol server, with pymongo's `bson`) on a free loopback port,
//! stopped when dropped. No real mongod can be installed on the test
//! machines; this one keeps databases, collections, indexes, documents and
//! cursors and answers what a backup and a restore send, in the shapes of
//! a real mongod 7.0, and records every command.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

/// A running fake server.
pub struct Mongod {
    child: Child,
    dir: tempfile::TempDir,
    /// `mongodb://127.0.0.1:PORT/?directConnection=true`.
    pub uri: String,
}

/// Writes the archive helper beside a script that imports it.
fn scripts(dir: &Path) -> PathBuf {
    std::fs::write(
        dir.join("mongo_archive.py"),
        include_str!("mongo_archive.py"),
    )
    .expect("write mongo_archive.py");
    let script = dir.join("mongod.py");
    std::fs::write(&script, include_str!("mongod.py")).expect("write mongod.py");
    script
}

/// The Python that runs the fake server and the archive helper, checked
/// to have pymongo and mockupdb.
pub fn mongo_python() -> String {
    let py = crate::test_python();
    for m in ["bson", "mockupdb"] {
        assert!(
            crate::python_has(&py, m),
            "the MongoDB tests need Python 3 with pymongo and mockupdb (module {m} is missing): \
             run the suite with scripts/test, which installs them into its virtual environment"
        );
    }
    py
}

/// Runs `mongo_archive.py ARGS` (its independent archive reader and
/// writer); returns its standard output, panicking on failure.
pub fn mongo_archive(args: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("tmp");
    scripts(dir.path());
    let out = Command::new(mongo_python())
        .arg(dir.path().join("mongo_archive.py"))
        .args(args)
        .output()
        .expect("run mongo_archive.py");
    assert!(
        out.status.success(),
        "mongo_archive.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

impl Mongod {
    /// Starts a server with these arguments (`--replica-set NAME`,
    /// `--data FILE`, `--batch N`, `--all-types DB.COLL`,
    /// `--fail-getmore K`, `--system-dbs`; see mongod.py).
    pub fn start(args: &[&str]) -> Mongod {
        let py = mongo_python();
        let dir = tempfile::Builder::new()
            .prefix("cairn-mongod")
            .tempdir()
            .expect("tmp");
        let script = scripts(dir.path());
        let state = dir.path().join("state.json");
        let state = state.to_str().expect("utf-8 temporary path");
        let mut all = vec!["--state", state];
        all.extend_from_slice(args);
        let (child, port) =
            crate::spawn_fixture(&py, &script, dir.path(), &all, "the fake MongoDB server");
        let uri = format!("mongodb://127.0.0.1:{port}/?directConnection=true");
        Mongod { child, dir, uri }
    }

    /// The server's whole state now (DATA.json format, canonical
    /// extended JSON).
    pub fn state(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.dir.path().join("state.json")).expect("state");
        serde_json::from_str(&text).expect("state JSON")
    }

    /// Every command so far: `{"cmd", "db", "doc"}`.
    pub fn requests(&self) -> Vec<serde_json::Value> {
        let text =
            std::fs::read_to_string(self.dir.path().join("requests.jsonl")).unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str(l).expect("a recorded command"))
            .collect()
    }

    /// A file in the server's directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for Mongod {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
