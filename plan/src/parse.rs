//! Plan files (TOML) into [`Plan`]s. Every key is documented in
//! docs/plans.md; an unknown key, a wrong type or a bad value is an error
//! with the file, line and column.

use crate::doc::Table;
use crate::model::{
    parse_interval, Hook, Hooks, Keep, KeySource, Plan, PlanComponent, RestorePlan,
    DEFAULT_HOOK_TIMEOUT,
};
use crate::registry::Registry;
use cairn::{CalendarDuration, Error, Result, RetentionPolicy};
use std::path::{Path, PathBuf};

/// Reads and validates a plan file.
pub fn read_plan(path: &Path, registry: &Registry) -> Result<Plan> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse_plan(&path.display().to_string(), &text, registry)
}

/// Parses and validates a plan; `file` names it in messages.
pub fn parse_plan(file: &str, text: &str, registry: &Registry) -> Result<Plan> {
    let mut top = Table::parse(file, text)?;
    let mut plan = Plan::new(top.req_str("name")?);
    plan.repository = top.str("repository")?;
    plan.key = KeySource {
        password_file: top.str("password_file")?.map(PathBuf::from),
        password_command: top.str("password_command")?,
        key_file: top.str("key_file")?.map(PathBuf::from),
    };
    let key_sources = [
        plan.key.password_file.is_some(),
        plan.key.password_command.is_some(),
        plan.key.key_file.is_some(),
    ];
    if key_sources.iter().filter(|k| **k).count() > 1 {
        return Err(
            top.error("give one of password_file, password_command and key_file, not several")
        );
    }
    plan.host = top.str("host")?;
    plan.tags = top.strs("tags")?;
    plan.interval = interval(&mut top, "interval")?;
    plan.state_dir = top.str("state_dir")?.map(PathBuf::from);
    plan.hooks = hooks(&mut top)?;
    if let Some(mut r) = top.table("restore")? {
        plan.restore = RestorePlan {
            order: r.strs("order")?,
            checklist: r.strs("checklist")?,
            hooks: hooks(&mut r)?,
        };
        r.finish()?;
    }
    for c in top.tables("component")? {
        plan.components.push(component(c, registry)?);
    }
    top.finish()?;
    plan.validate()
        .map_err(|e| Error::invalid(format!("{file}: {e}")))?;
    Ok(plan)
}

fn interval(t: &mut Table, key: &'static str) -> Result<Option<std::time::Duration>> {
    match t.str(key)? {
        Some(s) => parse_interval(&s).map(Some).map_err(|e| t.error(e)),
        None => Ok(None),
    }
}

/// `[hooks]`: `pre`, `post`, `timeout` (both), `pre_timeout`, `post_timeout`.
fn hooks(parent: &mut Table) -> Result<Hooks> {
    let Some(mut t) = parent.table("hooks")? else {
        return Ok(Hooks::default());
    };
    let both = interval(&mut t, "timeout")?.unwrap_or(DEFAULT_HOOK_TIMEOUT);
    let pre_t = interval(&mut t, "pre_timeout")?.unwrap_or(both);
    let post_t = interval(&mut t, "post_timeout")?.unwrap_or(both);
    let h = Hooks {
        pre: t.str("pre")?.map(|command| Hook {
            command,
            timeout: pre_t,
        }),
        post: t.str("post")?.map(|command| Hook {
            command,
            timeout: post_t,
        }),
    };
    t.finish()?;
    Ok(h)
}

fn component(mut c: Table, registry: &Registry) -> Result<PlanComponent> {
    let name = c.req_str("name")?;
    c.rename(&format!("component {name:?}"));
    let (kind, kind_at) = c
        .str_at("kind")?
        .ok_or_else(|| c.error(format!("component {name:?} has no `kind`")))?;
    let file = c.file().to_string();
    let path = format!("component {name:?}");
    let mut settings = c
        .table("settings")?
        .unwrap_or_else(|| Table::empty(&file, c.pos(), &format!("{path}.settings")));
    let mut restore = c
        .table("restore")?
        .unwrap_or_else(|| Table::empty(&file, c.pos(), &format!("{path}.restore")));
    let built = registry
        .build(&kind, &mut settings, &mut restore)
        .map_err(|e| match e {
            Error::InvalidInput(m) if !m.starts_with(&file) => {
                crate::doc::error_at(&file, kind_at, format!("component {name:?}: {m}"))
            }
            other => other,
        })?;
    settings.finish()?;
    restore.finish()?;
    let mut pc = PlanComponent::new(name, built);
    pc.interval = interval(&mut c, "interval")?;
    pc.keep = keep(&mut c)?;
    pc.hooks = hooks(&mut c)?;
    pc.older_than = c.strs("older_than")?;
    pc.tags = c.strs("tags")?;
    c.finish()?;
    Ok(pc)
}

/// `keep = "forever"`, or a table of restic's rules.
fn keep(c: &mut Table) -> Result<Keep> {
    if !c.is_table("keep") {
        return match c.str("keep")?.as_deref() {
            None => Ok(Keep::Unset),
            Some("forever") => Ok(Keep::Forever),
            Some(other) => Err(c.error(format!(
                "keep must be \"forever\" or a table like {{ daily = 7 }}, not {other:?}"
            ))),
        };
    }
    let Some(mut t) = c.table("keep")? else {
        return Ok(Keep::Unset);
    };
    if t.bool("forever")? == Some(true) {
        t.finish()?;
        return Ok(Keep::Forever);
    }
    let mut p = RetentionPolicy {
        last: t.int("last")?,
        hourly: t.int("hourly")?,
        daily: t.int("daily")?,
        weekly: t.int("weekly")?,
        monthly: t.int("monthly")?,
        yearly: t.int("yearly")?,
        ..Default::default()
    };
    let cal = |t: &mut Table, key: &'static str| -> Result<Option<CalendarDuration>> {
        match t.str(key)? {
            Some(s) => CalendarDuration::parse(&s)
                .map(Some)
                .map_err(|e| t.error(e)),
            None => Ok(None),
        }
    };
    p.within = cal(&mut t, "within")?;
    p.within_hourly = cal(&mut t, "within_hourly")?;
    p.within_daily = cal(&mut t, "within_daily")?;
    p.within_weekly = cal(&mut t, "within_weekly")?;
    p.within_monthly = cal(&mut t, "within_monthly")?;
    p.within_yearly = cal(&mut t, "within_yearly")?;
    p.tags = t
        .strs("tags")?
        .iter()
        .map(|s| cairn::parse_tag_list(s))
        .collect();
    let at = t.clone();
    t.finish()?;
    if p.is_empty() {
        return Err(at.error(
            "keep has no rule: give one (daily = 7, within = \"30d\", ...) or keep = \"forever\"",
        ));
    }
    Ok(Keep::Policy(Box::new(p)))
}
