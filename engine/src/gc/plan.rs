//! Deletion plans: packs that prune wants gone, and their blobs.

use crate::index::IndexPack;
use serde::{Deserialize, Serialize};

/// Version of the plan structure.
pub const PLAN_VERSION: u32 = 1;

/// Decrypted contents of `garbage/<id>`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// When prune wrote it (the writer's clock; informational — the sweep
    /// compares the storage's timestamps).
    pub marked_ns: i64,
    /// Packs to delete, with their blobs, so that the plan is also the
    /// index of those packs until they are gone.
    pub packs: Vec<IndexPack>,
}
