//! `cairn cat`: decrypted debug views of repository objects.

use crate::cli::{CatArgs, Global};
use crate::{context, output};
use anyhow::{bail, Context, Result};
use serde_json::json;
use std::process::ExitCode;

pub fn run(g: &Global, a: &CatArgs) -> Result<ExitCode> {
    let repo = context::open(g)?;
    let need_id = || a.id.clone().context("this object kind needs an id");
    let v = match a.kind.as_str() {
        "config" => {
            let c = repo.config();
            json!({
                "version": c.version, "id": c.id.to_hex(), "features": c.features,
                "chunking_secret": "<redacted>", "profiles": c.profiles,
                "compression_level": c.compression_level, "pack_size": c.pack_size,
                "append_only": c.append_only,
            })
        }
        "snapshot" => {
            let id = repo.resolve_snapshot(&need_id()?)?;
            output::snapshot_json(&id, &repo.load_snapshot(&id)?)
        }
        "index" => {
            let id = cairn::IndexId::from_hex(&need_id()?)?;
            let f = repo.load_index_file(&id)?;
            json!({
                "supersedes": f.supersedes.iter().map(|s| s.to_hex()).collect::<Vec<_>>(),
                "packs": f.packs.iter().map(|p| json!({
                    "id": p.id.to_hex(), "kind": format!("{:?}", p.kind), "size": p.size,
                    "blobs": p.blobs.iter().map(blob_json).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })
        }
        "pack" => {
            let id = cairn::PackId::from_hex(&need_id()?)?;
            let h = repo.read_pack_header(&id)?;
            json!({ "id": id.to_hex(), "kind": format!("{:?}", h.kind), "blobs": h.blobs.iter().map(blob_json).collect::<Vec<_>>() })
        }
        other => bail!("unknown object kind {other:?}: use config, snapshot, index or pack"),
    };
    crate::out!("{}", serde_json::to_string_pretty(&v)?);
    super::ok()
}

fn blob_json(b: &cairn::PackBlob) -> serde_json::Value {
    json!({ "id": b.id.to_hex(), "offset": b.offset, "length": b.length, "raw_len": b.raw_len })
}
