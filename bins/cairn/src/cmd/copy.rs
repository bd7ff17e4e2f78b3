//! `cairn copy`.

use crate::cli::{CopyArgs, Global};
use crate::{context, output};
use anyhow::Result;
use std::process::ExitCode;

pub fn run(g: &Global, a: &CopyArgs) -> Result<ExitCode> {
    let src = context::open(g)?;
    let dst = context::open_other(g, &a.to, "CAIRN_TO_")?;
    let ids = a
        .snapshots
        .iter()
        .map(|s| src.resolve_snapshot(s))
        .collect::<cairn::Result<Vec<_>>>()?;
    let r = src.copy(&dst, cairn::CopyOptions::default().snapshots(ids))?;
    if g.json {
        let mut v = serde_json::to_value(&r)?;
        v["message_type"] = "summary".into();
        output::json(&v);
    } else {
        crate::out!(
            "copied {} snapshots ({} already there): read {} chunks, stored {} blobs ({})",
            r.snapshots_copied,
            r.snapshots_skipped,
            r.chunks_read,
            r.blobs_stored,
            output::bytes(r.bytes_stored)
        );
    }
    super::ok()
}
