//! `cairn repair index`.

use crate::cli::Global;
use crate::{context, output};
use anyhow::Result;
use std::process::ExitCode;

pub fn index(g: &Global) -> Result<ExitCode> {
    let repo = context::open(g)?;
    let r = repo.repair_index(cairn::RepairOptions::default())?;
    if g.json {
        let mut v = serde_json::to_value(&r)?;
        v["message_type"] = "summary".into();
        output::json(&v);
    } else {
        for p in &r.packs_unreadable {
            crate::out!("warning: {p}");
        }
        crate::out!(
            "indexed {} packs ({} blobs); replaced {} index files",
            r.packs_indexed,
            r.blobs_indexed,
            r.index_files_replaced
        );
    }
    super::ok()
}
