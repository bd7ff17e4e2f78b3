//! Operations on a repository, one file each.
//!
//! Every operation is a method `repo.op(...)` that takes what it acts on
//! (a snapshot id, a target repository) as arguments, everything optional
//! as an `OpOptions` struct, and returns an `OpReport`. Options and reports
//! are `#[non_exhaustive]`: build options from `Default` (or `new`) and
//! the setters [`setters!`] generates, one per field, so that a new option
//! never breaks a caller.

/// One builder method per field: `opts.field(value)` sets it and returns
/// the options.
macro_rules! setters {
    ($t:ty { $($(#[$m:meta])* $f:ident : $ft:ty),* $(,)? }) => {
        impl $t {
            $(
                $(#[$m])*
                #[doc = concat!("Sets `", stringify!($f), "`.")]
                pub fn $f(mut self, value: $ft) -> Self {
                    self.$f = value;
                    self
                }
            )*
        }
    };
}
pub(crate) use setters;

pub mod backup;
pub mod check;
pub mod check_progress;
pub mod copy;
pub mod exclusive;
pub mod filter;
pub mod forget;
pub mod keys;
pub mod prune;
pub mod refs;
pub mod repair;
pub mod restore;
pub mod retention;
pub mod rewrite;
pub mod snapshot_stats;
pub mod stats;
pub mod tag;
pub mod walk;
