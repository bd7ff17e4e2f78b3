//! Session markers of running backups.

use crate::backend::FileKind;
use crate::envelope::{self, EnvelopeKind};
use crate::error::Result;
use crate::id::random_bytes;
use crate::repo::Repository;
use serde::{Deserialize, Serialize};

/// Version of the session structure (2 added `origin`).
pub const SESSION_VERSION: u32 = 2;

/// Decrypted contents of `sessions/<id>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Start time, writer's clock.
    pub started_ns: i64,
    /// Host of the backup.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// Boot id and pid namespace of the writer (Linux; empty elsewhere):
    /// with `host`, says whether `pid` can be looked up from here.
    pub origin: String,
}

/// This process's boot id and pid namespace, or empty when unknown.
pub fn origin() -> String {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id");
    let ns = std::fs::read_link("/proc/self/ns/pid");
    match (boot, ns) {
        (Ok(b), Ok(n)) => format!("{}/{}", b.trim(), n.display()),
        _ => String::new(),
    }
}

impl Session {
    /// A marker for this process, now.
    pub fn current() -> Self {
        Session {
            started_ns: crate::snapshot::now_ns(),
            host: crate::snapshot::hostname(),
            pid: std::process::id(),
            origin: origin(),
        }
    }

    /// True only when the writer is known to be gone: it ran on this host,
    /// in this boot and pid namespace, and its pid no longer exists (a
    /// backup killed with SIGKILL). Anything uncertain counts as alive.
    pub fn is_dead_here(&self) -> bool {
        let here = origin();
        !here.is_empty()
            && self.origin == here
            && self.host == crate::snapshot::hostname()
            && !std::path::Path::new(&format!("/proc/{}", self.pid)).exists()
    }

    /// Loads a session marker.
    pub fn load(repo: &Repository, name: &str) -> Result<Self> {
        let bytes = repo.backend().read(FileKind::Session, name)?;
        envelope::open(
            EnvelopeKind::Session,
            SESSION_VERSION,
            &repo.keys().meta,
            &bytes,
            &format!("session {name}"),
        )
    }
}

/// Removes the session marker when dropped (also when the backup fails).
pub struct SessionGuard {
    repo: Repository,
    name: String,
}

impl SessionGuard {
    /// Writes a new session marker.
    pub fn start(repo: &Repository) -> Result<Self> {
        let s = Session::current();
        let bytes = envelope::seal(
            EnvelopeKind::Session,
            SESSION_VERSION,
            &repo.keys().meta,
            &s,
        );
        let name = hex::encode(random_bytes::<32>());
        repo.backend()
            .create(FileKind::Session, &name, bytes.into())?;
        Ok(SessionGuard {
            repo: repo.clone(),
            name,
        })
    }
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        // Best effort: a marker left by a crash goes stale and is ignored.
        let _ = self.repo.backend().delete(FileKind::Session, &self.name);
    }
}
