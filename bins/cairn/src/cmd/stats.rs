//! `cairn stats`.

use crate::cli::Global;
use crate::{context, output};
use anyhow::Result;
use std::process::ExitCode;

pub fn run(g: &Global) -> Result<ExitCode> {
    let repo = context::open(g)?;
    let s = repo.stats(cairn::StatsOptions::default())?;
    if g.json {
        output::json(&serde_json::to_value(&s)?);
        return super::ok();
    }
    let ratio = if s.pack_bytes > 0 {
        s.snapshot_raw_bytes as f64 / s.pack_bytes as f64
    } else {
        0.0
    };
    crate::out!("snapshots:               {}", s.snapshots);
    crate::out!(
        "raw size (all snapshots): {}",
        output::bytes(s.snapshot_raw_bytes)
    );
    crate::out!(
        "deduplicated raw size:   {}",
        output::bytes(s.unique_raw_bytes)
    );
    crate::out!(
        "stored size (packs):     {} in {} packs",
        output::bytes(s.pack_bytes),
        s.packs
    );
    crate::out!("overall reduction:       {ratio:.2}x");
    crate::out!("blobs (chunks + trees):  {}", s.blobs);
    crate::out!(
        "index memory:            {} ({:.1} bytes per blob)",
        output::bytes(s.index_memory_bytes),
        s.index_bytes_per_blob
    );
    super::ok()
}
