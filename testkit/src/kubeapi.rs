//! The fixture Kubernetes API server (`kubeapi.py`, Python's standard
//! library and PyYAML) on a free loopback port, with a kubeconfig that
//! points at it, stopped when dropped. No real API server can run on the
//! test machines; this one answers discovery, paged lists, reads and
//! server-side apply in the real response shapes and records every request.

use std::path::{Path, PathBuf};
use std::process::Child;

/// A running fixture server.
pub struct KubeApi {
    child: Child,
    dir: tempfile::TempDir,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

/// The manifests of the shared fixtures (`../shared/fixtures/kubernetes/manifests`).
pub fn shared_manifests() -> PathBuf {
    let p =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/kubernetes/manifests");
    assert!(
        p.is_dir(),
        "the shared fixtures are missing: {} (check out ../shared beside the repository)",
        p.display()
    );
    p
}

impl KubeApi {
    /// Starts a server with these arguments (`--manifests DIR`, `--extras`,
    /// `--configmaps N`, `--forbid PLURAL`, `--never-establish`,
    /// `--expire-continue`: the first continue token is refused with 410,
    /// `--reject KIND`: every apply of that kind is refused with 422).
    pub fn start(args: &[&str]) -> KubeApi {
        let py = crate::test_python();
        assert!(
            crate::python_has(&py, "yaml"),
            "the fixture Kubernetes API server needs Python 3 with PyYAML: run the suite with \
             scripts/test, or `apt-get install python3-yaml`"
        );
        let dir = tempfile::Builder::new()
            .prefix("cairn-kubeapi")
            .tempdir()
            .expect("tmp");
        let script = dir.path().join("kubeapi.py");
        std::fs::write(&script, include_str!("kubeapi.py")).expect("write kubeapi.py");
        let (child, port) = crate::spawn_fixture(
            &py,
            &script,
            dir.path(),
            args,
            "the fixture Kubernetes API server",
        );
        let k = KubeApi {
            child,
            dir,
            url: format!("http://127.0.0.1:{port}"),
        };
        std::fs::write(k.kubeconfig(), k.kubeconfig_text()).expect("write kubeconfig");
        k
    }

    /// A server with the shared manifests and the objects a backup skips.
    pub fn platform() -> KubeApi {
        let m = shared_manifests();
        KubeApi::start(&["--manifests", m.to_str().expect("utf-8 path"), "--extras"])
    }

    fn kubeconfig_text(&self) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fixture\n  cluster:\n    server: {}\n\
             contexts:\n- name: fixture\n  context:\n    cluster: fixture\n    user: backup\n\
             current-context: fixture\nusers:\n- name: backup\n  user:\n    token: fixture-token\n",
            self.url
        )
    }

    /// A kubeconfig file whose current context is this server.
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    /// Every request so far (method, path, query, content_type, body).
    pub fn requests(&self) -> Vec<serde_json::Value> {
        let text =
            std::fs::read_to_string(self.dir.path().join("requests.jsonl")).unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str(l).expect("a recorded request"))
            .collect()
    }

    /// Forgets the requests so far.
    pub fn clear_requests(&self) {
        let _ = std::fs::remove_file(self.dir.path().join("requests.jsonl"));
    }
}

impl Drop for KubeApi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
