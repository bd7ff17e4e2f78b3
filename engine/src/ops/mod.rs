//! Operations on a repository, one file each.

pub mod backup;
mod fetch;
pub mod keys;
pub mod restore;
pub mod stats;
pub mod walk;
