//! Garbage collection that is safe against concurrent backups.
//!
//! Two-phase deletion (see `docs/repository-format.md`, "Deletion"):
//! prune first writes a [`Plan`] naming the packs it wants gone, and only a
//! later sweep deletes them. Every backup writes a [`Session`] marker
//! before it reads the plans and removes it after its snapshot is stored.
//! A sweep deletes a plan's packs only when its grace period has passed
//! and every live session marker is younger than the plan (by the
//! storage's own clock); otherwise it waits. Blobs of planned packs are
//! never used for deduplication, so a backup that saw the plan never
//! refers to them, and one that did not see it is waited for; if its
//! snapshot refers to a planned pack, the sweep keeps that pack.

mod plan;
mod session;

pub use plan::{Plan, PLAN_VERSION};
pub use session::{sessions, Session, SessionGuard, SessionOptions, SessionState, SESSION_VERSION};
