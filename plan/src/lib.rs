//! Components and plans for cairn.
//!
//! A **component** is one source of a platform (a file tree, a command's
//! output, a PostgreSQL server, a bucket): it implements [`Component`],
//! which says what to back up, under which info namespace, how it finds
//! its parent, what consistency marker it records, how it restores and how
//! it verifies. A **plan** is a platform: its components in backup order,
//! each with its own retention, expected interval and hooks, plus the
//! plan's cold window (`pre`/`post` hooks) and its restore order and
//! checklist. A plan built in code and one read from a TOML file
//! ([`parse_plan`]) are the same [`Plan`] and run the same way.
//!
//! ```
//! # fn main() -> cairn::Result<()> {
//! use std::sync::Arc;
//! use cairn_plan::{Files, Plan, PlanComponent, RunOptions};
//! # let opts = cairn::InitOptions::default().argon2(cairn::Argon2Params::insecure_for_tests());
//! # let repo = cairn::Repository::init(Arc::new(cairn::ObjectBackend::memory()?), &cairn::Secret::passphrase("x"), opts)?;
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("a.txt"), b"hello")?;
//! let plan = Plan::new("example")
//!     .state_dir(dir.path().join("state"))
//!     .component(PlanComponent::new("content", Arc::new(Files::new(vec![dir.path().join("a.txt")]))));
//! let report = cairn_plan::run_plan(&repo, &plan, &RunOptions::default())?;
//! assert_eq!(report.status, cairn_plan::RunStatus::Ok);
//! let stored = report.components[0].backup.as_ref().expect("stored");
//! assert_eq!(stored.snapshot.info["plan.component"], "content");
//! # Ok(())
//! # }
//! ```

mod backup;
mod command;
mod component;
mod doc;
mod drill;
mod files;
mod forget;
mod fresh;
mod hooks;
mod journal;
mod metrics;
mod model;
mod parse;
mod pipe;
mod registry;
mod restore;
mod run;
mod select;
mod status;

pub use backup::{backup_component, belongs, keys, started_ns, ComponentRun, Mode, PlanFacts};
pub use command::CommandSource;
pub use component::{read_back, Capture, CaptureCx, Component, LogFn, Outcome, RestoreCx};
pub use doc::{expand_env, Pos, Table};
pub use drill::{
    drill_plan, drill_repository, ComponentFor, DrillOptions, DrillPick, DrillReport, DrillStep,
    Scratch,
};
pub use files::{preset, Files, PRESETS};
pub use forget::{forget_plan, ComponentForget};
pub use fresh::{backup_start_ns, check_fresh, newest_covering, FreshReport};
pub use hooks::{run_hook, HookEnv};
pub use journal::{
    default_state_dir, ComponentRecord, DrillRecord, DrillRecordStep, Journal, RunRecord, RunStatus,
};
pub use metrics::{file_name, plan_metrics, write_textfile, Metrics};
pub use model::{
    check_name, format_interval, parse_interval, Hook, Hooks, Keep, KeySource, Plan, PlanComponent,
    RestorePlan, DEFAULT_HOOK_TIMEOUT,
};
pub use parse::{parse_plan, read_plan};
pub use pipe::{pipe_into, run_captured, shell};
pub use registry::{Factory, Registry};
pub use restore::{
    restore_chosen, restore_components, restore_plan, restore_set, runbook, verify_plan,
    PlanRestoreOptions, PlanRestoreReport, Step, VerifyStep,
};
pub use run::{new_run_id, run_plan, selected, ComponentReport, RunOptions, RunReport};
pub use select::{choose, order_violations, runs, Chosen, Pick, RunMembers};
pub use status::{plan_status, ComponentStatus, PlanStatus, DEFAULT_INTERVAL};
