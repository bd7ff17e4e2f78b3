//! A real S3-compatible server for tests: `moto[server]` from PyPI on a
//! free loopback port, stopped when dropped.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running moto server.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    port: u16,
}

impl Moto {
    /// Starts a server; panics with install instructions when moto is
    /// missing. Sets the AWS credential variables tests use (moto accepts
    /// any).
    pub fn start() -> Moto {
        let py = crate::test_python();
        assert!(
            crate::python_has(&py, "moto.server"),
            "the S3 test server is missing: run the suite with scripts/test (it installs it), \
             or `python3 -m pip install 'moto[server]'`"
        );
        let port = crate::free_port();
        let child = Command::new(&py)
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto");
        let m = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto did not start listening on port {port} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        // Same values in every test: setting them concurrently is harmless.
        for (k, v) in [
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
        ] {
            std::env::set_var(k, v);
        }
        m
    }

    fn request(&self, method: &str, path: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to moto");
        write!(s, "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", self.port).expect("send");
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    }

    /// Creates a bucket.
    pub fn create_bucket(&self, name: &str) {
        let r = self.request("PUT", &format!("/{name}"));
        assert!(r.starts_with("HTTP/1.1 200"), "create bucket {name}: {r}");
    }

    /// Deletes an (empty) bucket.
    pub fn delete_bucket(&self, name: &str) {
        let r = self.request("DELETE", &format!("/{name}"));
        assert!(
            r.starts_with("HTTP/1.1 204") || r.starts_with("HTTP/1.1 200"),
            "delete bucket {name}: {r}"
        );
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
