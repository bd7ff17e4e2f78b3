//! Session markers of running backups.

use crate::backend::FileKind;
use crate::envelope::{self, EnvelopeKind};
use crate::error::Result;
use crate::id::random_bytes;
use crate::repo::Repository;
use serde::{Deserialize, Serialize};

/// Version of the session structure.
pub const SESSION_VERSION: u32 = 1;

/// Decrypted contents of `sessions/<id>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Start time, writer's clock.
    pub started_ns: i64,
    /// Host of the backup.
    pub host: String,
    /// Process id.
    pub pid: u32,
}

/// Removes the session marker when dropped (also when the backup fails).
pub struct SessionGuard {
    repo: Repository,
    name: String,
}

impl SessionGuard {
    /// Writes a new session marker.
    pub fn start(repo: &Repository) -> Result<Self> {
        let s = Session {
            started_ns: crate::snapshot::now_ns(),
            host: crate::snapshot::hostname(),
            pid: std::process::id(),
        };
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
