//! `cairn prune`.

use crate::cli::{Global, PruneArgs};
use crate::{context, output};
use anyhow::{bail, Result};
use cairn::{parse_duration, PruneOptions, PruneReport};
use std::process::ExitCode;

fn show(g: &Global, r: &PruneReport, phase: &str) {
    if g.json {
        let mut v = serde_json::to_value(r).unwrap_or_default();
        v["message_type"] = phase.into();
        output::json(&v);
        return;
    }
    if g.quiet && phase != "summary" {
        return;
    }
    crate::out!(
        "{phase}: {} blobs referenced; {} packs ({}) planned for deletion, {} of them to repack, {} unindexed leftovers; {} packs ({}) deleted, {} kept for newer snapshots, {} plans waiting, {} temporaries of interrupted writes removed",
        r.referenced_blobs,
        r.packs_planned,
        output::bytes(r.bytes_planned),
        r.packs_repacked,
        r.packs_unindexed,
        r.packs_deleted,
        output::bytes(r.bytes_deleted),
        r.packs_resurrected,
        r.plans_waiting,
        r.leftovers_deleted
    );
    if r.duplicate_blobs > 0 {
        crate::out!(
            "{phase}: {} blobs stored more than once: kept a verified copy of each; {} copies failed verification and go with their packs",
            r.duplicate_blobs,
            r.bad_copies
        );
    }
}

pub fn run(g: &Global, a: &PruneArgs) -> Result<ExitCode> {
    if !(0.0..=1.0).contains(&a.repack_threshold) {
        bail!("--repack-threshold must be between 0 and 1");
    }
    let grace_secs = if a.grace == "0" {
        0
    } else {
        parse_duration(&a.grace)?
    };
    let stale_session_secs = parse_duration(&a.stale_session)?;
    let repo = context::open(g)?;
    let mut opts = PruneOptions::default()
        .grace_secs(grace_secs)
        .repack_threshold(a.repack_threshold)
        .dry_run(true)
        .stale_session_secs(stale_session_secs);
    // Say what will be freed before freeing it.
    let plan = repo.prune(opts.clone())?;
    show(g, &plan, "plan");
    if a.dry_run {
        return super::ok();
    }
    opts.dry_run = false;
    let done = repo.prune(opts)?;
    show(g, &done, "summary");
    if done.plans_waiting > 0 && !g.json {
        crate::out!("planned packs are deleted by a prune run after the grace period ({}) once no older backup is running", a.grace);
    }
    super::ok()
}
