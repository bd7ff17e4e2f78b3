//! `cairn ls`.

use crate::cli::{Global, LsArgs};
use crate::{context, output};
use anyhow::Result;
use cairn::NodeKind;
use std::process::ExitCode;

pub fn run(g: &Global, a: &LsArgs) -> Result<ExitCode> {
    let repo = context::open(g)?;
    crate::select::no_latest(&a.filter, "ls")?;
    let id = repo.resolve_snapshot_in(&a.snapshot, &crate::select::filter(&a.filter)?)?;
    let snap = repo.load_snapshot(&id)?;
    let mut rows = Vec::new();
    let mut visit = |path: &str, n: &cairn::Node| {
        rows.push((path.to_string(), n.clone()));
        Ok(())
    };
    match a
        .path
        .as_deref()
        .map(|p| p.trim_end_matches('/'))
        .filter(|p| !p.is_empty())
    {
        None => repo.walk_tree(&snap.tree, "", &mut visit)?,
        Some(p) => {
            let node = repo.find_path(&id, p)?;
            let prefix = if p.starts_with('/') {
                p.to_string()
            } else {
                format!("/{p}")
            };
            visit(&prefix, &node)?;
            if let NodeKind::Dir { subtree } = &node.kind {
                repo.walk_tree(subtree, &prefix, &mut visit)?;
            }
        }
    }
    if g.json {
        let v: Vec<_> = rows
            .iter()
            .map(|(p, n)| {
                serde_json::json!({
                    "path": p, "type": n.type_char().to_string(), "size": n.size(),
                    "mode": n.meta.mode & 0o7777, "mtime": cairn::format_time(n.meta.mtime_ns),
                    "uid": n.meta.uid, "gid": n.meta.gid, "user": n.meta.user, "group": n.meta.group,
                    "links": n.meta.nlink, "xattrs": n.meta.xattrs.len(),
                    "changed_during_read": n.meta.flags & cairn::FLAG_CHANGED != 0,
                })
            })
            .collect();
        output::json(&serde_json::Value::Array(v));
        return super::ok();
    }
    for (p, n) in &rows {
        crate::out!(
            "{} {:>10} {} {}",
            output::mode_string(n.type_char(), n.meta.mode),
            n.size(),
            cairn::format_time(n.meta.mtime_ns),
            output::name(p)
        );
    }
    super::ok()
}
