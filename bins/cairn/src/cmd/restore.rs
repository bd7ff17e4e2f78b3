//! `cairn restore`.

use crate::cli::{Global, RestoreArgs};
use crate::{context, output, progress};
use anyhow::Result;
use cairn::{Overwrite, Owners, RestoreOptions};
use std::process::ExitCode;

pub fn run(g: &Global, a: &RestoreArgs) -> Result<ExitCode> {
    match &a.into {
        Some(crate::cli::RestoreTarget::Postgres(pg)) => return super::postgres::restore(g, pg),
        #[cfg(feature = "s3")]
        Some(crate::cli::RestoreTarget::S3(s)) => return super::s3::restore(g, s),
        Some(crate::cli::RestoreTarget::Kubernetes(k)) => return super::kubernetes::restore(g, k),
        Some(crate::cli::RestoreTarget::Mongodb(m)) => return super::mongodb::restore(g, m),
        None => {}
    }
    let (Some(snapshot), Some(target)) = (&a.snapshot, &a.target) else {
        anyhow::bail!("restore needs SNAPSHOT and --target DIR");
    };
    let owners = match a.owners.as_str() {
        "ids" => Owners::Ids,
        "names" => Owners::Names,
        "skip" => Owners::Skip,
        other => anyhow::bail!("unknown --owners {other:?}: use ids, names or skip"),
    };
    let overwrite = Overwrite::parse(&a.overwrite)?;
    let repo = context::open(g)?;
    crate::select::no_latest(&a.filter, "restore")?;
    let id = repo.resolve_snapshot_in(snapshot, &crate::select::filter(&a.filter)?)?;
    let snap = repo.load_snapshot(&id)?;
    let reporter = progress::Reporter::start("restore", g.json, g.quiet);
    if a.include.is_empty() && a.exclude.is_empty() {
        cairn::Progress::add(&reporter.counters.total_bytes, snap.summary.total_bytes);
    }
    let started = std::time::Instant::now();
    let res = repo.restore(
        &id,
        RestoreOptions::default()
            .target(target.clone())
            .include(a.include.clone())
            .exclude(a.exclude.clone())
            .overwrite(overwrite)
            .delete(a.delete)
            .verify(a.verify)
            .owners(owners)
            .progress(Some(reporter.counters.clone())),
    );
    drop(reporter);
    let s = res?;
    for p in &s.problems {
        crate::err!("cairn: not restored: {p}");
    }
    for n in &s.not_applied {
        crate::err!("cairn: not applied: {n}");
    }
    if g.json {
        let mut v = serde_json::to_value(&s)?;
        v["message_type"] = "summary".into();
        v["snapshot_id"] = id.to_hex().into();
        v["target"] = serde_json::json!(target);
        v["duration_ms"] = (started.elapsed().as_millis() as u64).into();
        output::json(&v);
    } else if !g.quiet {
        crate::out!(
            "restored snapshot {} to {}: {} files ({} hard links), {} dirs, {} symlinks, {} special files, {}; {} left as they were, {} removed{} in {:.1}s",
            id.short(),
            target.display(),
            s.files,
            s.hardlinks,
            s.dirs,
            s.symlinks,
            s.specials,
            output::bytes(s.bytes),
            s.unchanged,
            s.removed,
            if a.verify { format!(", {} verified", s.verified) } else { String::new() },
            started.elapsed().as_secs_f64()
        );
    }
    if s.complete() {
        return super::ok();
    }
    crate::err!(
        "cairn: the restore is incomplete: {} entries not restored, {} kinds of metadata not applied",
        s.problems.len(),
        s.not_applied.len()
    );
    Ok(ExitCode::from(crate::exit::PARTIAL))
}
