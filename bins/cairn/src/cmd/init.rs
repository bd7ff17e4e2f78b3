//! `cairn init`.

use crate::cli::{Global, InitArgs};
use crate::context;
use anyhow::Result;
use cairn::{InitOptions, Repository, Secret};
use std::process::ExitCode;

pub fn run(g: &Global, a: &InitArgs) -> Result<ExitCode> {
    let (loc, _) = context::location(g)?;
    let secret = match &a.generate_key_file {
        Some(p) => Secret::generate_key_file(p)?,
        None => context::init_secret()?,
    };
    let backend = cairn::open_backend(&loc, &g.backend_options(true))?;
    let mut profiles = cairn::default_profiles();
    let custom = |kib: u32| {
        let avg = kib.saturating_mul(1024);
        cairn::ChunkerParams {
            min_size: avg / 4,
            avg_size: avg,
            max_size: avg.saturating_mul(4),
        }
    };
    if let Some(k) = a.files_chunk_kib {
        profiles.insert(cairn::PROFILE_FILES.to_string(), custom(k));
    }
    if let Some(k) = a.database_chunk_kib {
        profiles.insert(cairn::PROFILE_DATABASE.to_string(), custom(k));
    }
    let opts = InitOptions::default()
        .profiles(Some(profiles))
        .compression_level(a.compression)
        .pack_size(a.pack_size.saturating_mul(1 << 20))
        .label("initial key".into())
        .append_only(a.append_only)
        .chunking_secret(match &a.copy_chunker_params_from {
            Some(from) => Some(
                context::open_other(g, from, "CAIRN_FROM_")?
                    .config()
                    .chunking_secret,
            ),
            None => None,
        });
    let repo = Repository::init(backend, &secret, opts)?;
    if g.json {
        crate::output::json(&serde_json::json!({
            "message_type": "initialized", "repository": loc,
            "id": repo.config().id.to_hex(), "key_id": repo.key_id().to_hex(),
        }));
    } else {
        crate::out!(
            "created cairn repository {} at {loc}",
            repo.config().id.short()
        );
        if let Some(p) = &a.generate_key_file {
            crate::out!(
                "its key is in {}: losing that file means losing access to the backups",
                p.display()
            );
        }
    }
    super::ok()
}
