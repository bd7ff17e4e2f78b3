//! `cairn tag`.

use crate::cli::{Global, TagArgs};
use crate::{context, output};
use anyhow::Result;
use cairn::TagChange;
use std::process::ExitCode;

use crate::select::tags as split;

pub fn run(g: &Global, a: &TagArgs) -> Result<ExitCode> {
    let change = TagChange::new(
        (!a.set.is_empty()).then(|| split(&a.set)),
        split(&a.add),
        split(&a.remove),
    );
    let repo = context::open(g)?;
    let ids = crate::select::chosen(&repo, &a.snapshots, &a.filter)?;
    let mut changed = Vec::new();
    for id in &ids {
        if let Some(new) = repo.retag(id, &change)? {
            changed.push((*id, new));
        }
    }
    if g.json {
        output::json(&serde_json::json!({
            "message_type": "tag", "selected": ids.len(),
            "changed": changed.iter().map(|(o, n)| serde_json::json!({"old": o.to_hex(), "new": n.to_hex()})).collect::<Vec<_>>(),
        }));
    } else if !g.quiet {
        for (o, n) in &changed {
            crate::out!("snapshot {} is now {}", o.short(), n.short());
        }
        crate::out!("{} of {} snapshots changed", changed.len(), ids.len());
    }
    super::ok()
}
