//! `cairn key add|list|remove|passwd`.

use crate::cli::{Global, KeyAddArgs, KeyCommand};
use crate::context;
use anyhow::Result;
use cairn::SlotKind;
use std::process::ExitCode;

pub fn run(g: &Global, k: &KeyCommand) -> Result<ExitCode> {
    let repo = context::open(g)?;
    match k {
        KeyCommand::Add(a) => {
            let id = add(&repo, a)?;
            report(g, "added", &id.to_hex());
        }
        KeyCommand::List => list(g, &repo)?,
        KeyCommand::Remove { id } => {
            let id = repo.resolve_key(id)?;
            repo.remove_key(&id)?;
            report(g, "removed", &id.to_hex());
        }
        KeyCommand::Passwd(a) => {
            let secret = context::new_secret(a.new_key_file.as_deref())?;
            let old = repo.key_id();
            let new =
                repo.replace_key(&secret, cairn::KeyOptions::default().label(a.label.clone()))?;
            report(
                g,
                "replaced",
                &format!("{} -> {}", old.short(), new.short()),
            );
        }
    }
    super::ok()
}

fn add(repo: &cairn::Repository, a: &KeyAddArgs) -> Result<cairn::KeyId> {
    let secret = context::new_secret(a.new_key_file.as_deref())?;
    Ok(repo.add_key(
        &secret,
        cairn::KeyOptions::default()
            .label(a.label.clone())
            .append_only(a.append_only),
    )?)
}

fn report(g: &Global, what: &str, id: &str) {
    if g.json {
        crate::output::json(
            &serde_json::json!({ "message_type": format!("key_{what}"), "id": id }),
        );
    } else {
        crate::out!("key {what}: {id}");
    }
}

fn list(g: &Global, repo: &cairn::Repository) -> Result<()> {
    let keys = repo.list_keys()?;
    let kind = |k: SlotKind| match k {
        SlotKind::Passphrase => "password",
        SlotKind::KeyFile => "key-file",
        SlotKind::Command => "command",
    };
    let rights = |s: &cairn::KeySlot| match (s.append_only, s.fields_authenticated()) {
        (true, true) => "append-only",
        (true, false) => "append-only (legacy: flag not authenticated, re-create the slot)",
        (false, _) => "full",
    };
    if g.json {
        let v: Vec<_> = keys
            .iter()
            .map(|(id, s)| {
                serde_json::json!({
                    "id": id.to_hex(), "current": *id == repo.key_id(), "kind": kind(s.kind),
                    "label": s.label, "host": s.host, "created": cairn::format_time(s.created_ns),
                    "append_only": s.append_only, "authenticated": s.fields_authenticated(),
                    "slot_version": s.version,
                })
            })
            .collect();
        crate::output::json(&serde_json::Value::Array(v));
        return Ok(());
    }
    crate::out!(
        " {:<8}  {:<9} {:<20}  {:<16} {:<12} label",
        "id",
        "kind",
        "created",
        "host",
        "rights"
    );
    for (id, s) in &keys {
        let cur = if *id == repo.key_id() { "*" } else { " " };
        crate::out!(
            "{cur}{:<8}  {:<9} {:<20}  {:<16} {:<12} {}",
            id.short(),
            kind(s.kind),
            cairn::format_time(s.created_ns),
            s.host,
            rights(s),
            s.label
        );
    }
    Ok(())
}
