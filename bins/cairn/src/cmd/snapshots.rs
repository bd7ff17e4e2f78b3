//! `cairn snapshots`.

use crate::cli::{Global, SnapshotsArgs};
use crate::{context, output};
use anyhow::Result;
use std::process::ExitCode;

pub fn run(g: &Global, a: &SnapshotsArgs) -> Result<ExitCode> {
    let repo = context::open(g)?;
    let (snaps, damaged) = repo.readable_snapshots()?;
    let filter = crate::select::filter(&a.filter)?;
    let mut snaps: Vec<_> = snaps
        .into_iter()
        .filter(|(_, s)| filter.matches(s))
        .collect();
    if let Some(n) = a.filter.latest {
        snaps = cairn::latest_per_group(snaps, n);
    }
    // Damaged snapshots are named on stderr; the readable ones are listed.
    for e in &damaged {
        crate::err!("cairn: damaged snapshot: {e}");
    }
    let code = ExitCode::from(match damaged.is_empty() {
        true => crate::exit::OK,
        false => crate::exit::DAMAGED,
    });
    if g.json {
        let v: Vec<_> = snaps
            .iter()
            .map(|(id, s)| output::snapshot_json(id, s))
            .collect();
        output::json(&serde_json::Value::Array(v));
        return Ok(code);
    }
    let wal_source = cairn_postgres::pitr::WAL_SOURCE;
    let (wal, snaps): (Vec<_>, Vec<_>) = snaps
        .into_iter()
        .partition(|(_, s)| !a.wal && s.source == wal_source);
    crate::out!(
        "{:<8}  {:<20}  {:<16}  {:<12}  {:>10}  paths",
        "id",
        "time",
        "host",
        "tags",
        "size"
    );
    crate::out!("{}", "-".repeat(80));
    for (id, s) in &snaps {
        crate::out!(
            "{:<8}  {:<20}  {:<16}  {:<12}  {:>10}  {}",
            id.short(),
            s.time_string(),
            s.host,
            s.tags.join(","),
            output::bytes(s.summary.total_bytes),
            s.paths.join(" ")
        );
    }
    crate::out!("{} snapshots", snaps.len());
    if let (Some(first), Some(last)) = (wal.first(), wal.last()) {
        crate::out!(
            "and {} archived WAL files ({} to {}): `cairn snapshots --wal` lists them, `cairn wal status` checks them",
            wal.len(),
            first.1.time_string(),
            last.1.time_string()
        );
    }
    Ok(code)
}
