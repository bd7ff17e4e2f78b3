//! Point-in-time recovery: base backups from a live server, continuous
//! WAL archiving (`archive_command = 'cairn wal push %p'`), restores to a
//! time, an LSN or a transaction (`restore_command = 'cairn wal fetch %f
//! %p'`), a retention window, monitoring and a drill.
//!
//! Every archived WAL file is one snapshot (source `postgres-wal`) and
//! every base backup one snapshot (source `postgres-base`), so both are
//! encrypted, deduplicated, checked and pruned like any other backup; the
//! [`Catalog`] finds them.

mod base;
mod catalog;
mod component;
mod drill;
mod fetch;
mod name;
mod push;
mod recover;
mod retention;
mod status;
mod target;

pub use base::{BaseInfo, BaseOptions, BASE_STREAM};
pub use catalog::{
    default_cache_dir, wal_keys, Archived, Catalog, SegmentIndex, BASE_SOURCE, WAL_SOURCE,
};
pub use component::{from_settings, PgBaseComponent};
pub use drill::{pitr_drill, random_target, PitrDrillOptions, PitrDrillReport};
pub use fetch::{fetch, is_not_archived};
pub use name::{format_lsn, parse_lsn, segment_name, WalKind, WalName, DEFAULT_SEGMENT_SIZE};
pub use push::{push, PushOptions, Pushed};
pub use recover::{
    bases, check_wal, choose_base, recover, restore_command, RecoverOptions, Recovered,
};
pub use retention::{forget_window, plan_window, WindowPlan};
pub use status::{metrics, wal_status, WalStatus};
pub use target::{parse_time, pg_time, Action, Target};
