//! Operations on a repository, one file each.

pub mod backup;
pub mod check;
pub mod copy;
pub mod forget;
pub mod keys;
pub mod prune;
pub mod refs;
pub mod repair;
pub mod restore;
pub mod retention;
pub mod stats;
pub mod walk;
