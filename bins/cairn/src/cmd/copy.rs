//! `cairn copy`.

use crate::cli::{CopyArgs, Global};
use crate::{context, output};
use anyhow::Result;
use std::process::ExitCode;

pub fn run(g: &Global, a: &CopyArgs) -> Result<ExitCode> {
    let src = context::open(g)?;
    let dst = context::open_other(g, &a.to, "CAIRN_TO_")?;
    let filter = crate::select::filter(&a.filter)?;
    let ids = if a.snapshots.is_empty() && crate::select::given(&a.filter)? {
        let ids: Vec<_> = crate::select::list(&src, &a.filter)?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        // An empty list would mean "all": a selection that matches
        // nothing must copy nothing.
        if ids.is_empty() {
            anyhow::bail!("no snapshot matches the selection: nothing copied");
        }
        ids
    } else {
        a.snapshots
            .iter()
            .map(|s| src.resolve_snapshot_in(s, &filter))
            .collect::<cairn::Result<Vec<_>>>()?
    };
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
