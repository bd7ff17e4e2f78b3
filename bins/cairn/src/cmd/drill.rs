//! `cairn drill`: a restore drill of a whole repository, without a plan.

use crate::cli::{DrillArgs, Global};
use crate::{context, output};
use anyhow::Result;
use cairn::Snapshot;
use cairn_plan::{CommandSource, Component, DrillOptions, DrillPick, Files};
use std::process::ExitCode;
use std::sync::Arc;

/// The component that drills a snapshot of this source: the kinds this
/// binary knows, and a scratch-directory restore for everything else.
fn component_for(g: &Global, a: &DrillArgs, s: &Snapshot) -> Arc<dyn Component> {
    match s.source.as_str() {
        "postgres" => {
            let mut c = cairn_postgres::PgComponent::new(cairn_postgres::PgBackupOptions {
                tools: cairn_postgres::Tools::new(a.pg_bin.clone()),
                ..Default::default()
            });
            c.scratch = a
                .pg_scratch_dsn
                .clone()
                .map(|d| cairn_postgres::PgConn::new(Some(d)));
            Arc::new(c)
        }
        #[cfg(feature = "s3")]
        "s3" => {
            let mut c = cairn_s3::S3Component::new(cairn_s3::S3BackupOptions {
                url: s.info.get("s3.url").cloned().unwrap_or_default(),
                s3: g.s3(),
                ..Default::default()
            });
            c.drill_url = a.s3_scratch.clone();
            Arc::new(c)
        }
        "command" => Arc::new(CommandSource::new(
            s.info.get("command.command").cloned().unwrap_or_default(),
            s.paths.first().cloned().unwrap_or_default(),
        )),
        _ => {
            let _ = g;
            Arc::new(Files::new(s.paths.iter().map(Into::into).collect()))
        }
    }
}

pub fn run(g: &Global, a: &DrillArgs) -> Result<ExitCode> {
    let repo = context::open(g)?;
    let (loc, _) = context::location(g)?;
    let opts = DrillOptions::default()
        .pick(DrillPick::parse(&a.pick)?)
        .scratch_dir(a.scratch_dir.clone());
    let report = cairn_plan::drill_repository(&repo, &loc, &opts, &|s| component_for(g, a, s))?;
    let v = super::plan::drill_json(&report);
    if g.json {
        output::json(&v);
    } else if !g.quiet {
        super::plan::drill_print(&report);
    }
    crate::notify::repo_metrics(
        g,
        "drill",
        &[
            (
                "cairn_drill_last_timestamp_seconds",
                "Start of the newest repository drill.",
                report.started_ns as f64 / 1e9,
            ),
            (
                "cairn_drill_last_success",
                "1 when every group passed the newest repository drill.",
                f64::from(u8::from(report.ok())),
            ),
            (
                "cairn_drill_groups",
                "Snapshot groups drilled.",
                report.steps.len() as f64,
            ),
        ],
    );
    crate::notify::notify(g, "drill", report.ok(), v);
    Ok(ExitCode::from(if report.ok() {
        crate::exit::OK
    } else {
        crate::exit::PLAN_FAILED
    }))
}
