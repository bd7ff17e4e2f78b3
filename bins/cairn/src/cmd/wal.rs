//! `cairn wal push|fetch|status|forget|drill`: the PostgreSQL WAL archive.

use crate::cli::{Global, PitrTargetArgs, WalCommand, WalDrillArgs, WalForgetArgs, WalStatusArgs};
use crate::{context, exit, output};
use anyhow::{Context as _, Result};
use cairn_postgres::pitr::{self, Catalog, Target};
use cairn_postgres::Tools;
use std::process::ExitCode;

pub fn run(g: &Global, c: &WalCommand) -> Result<ExitCode> {
    match c {
        WalCommand::Push(a) => push(g, &a.path, a.host.clone()),
        WalCommand::Fetch(a) => fetch(g, &a.name, &a.dest),
        WalCommand::Status(a) => status(g, a),
        WalCommand::Forget(a) => forget(g, a),
        WalCommand::Drill(a) => drill(g, a),
    }
}

fn push(g: &Global, path: &std::path::Path, host: Option<String>) -> Result<ExitCode> {
    let repo = context::open(g)?;
    let o = pitr::PushOptions {
        host,
        cache_dir: pitr::default_cache_dir(),
    };
    let pushed = pitr::push(&repo, path, &o)?;
    if !g.quiet {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        match pushed {
            pitr::Pushed::Stored(id, added) => crate::err!(
                "cairn wal push: archived {name} in snapshot {} ({} added)",
                id.short(),
                output::bytes(added)
            ),
            pitr::Pushed::AlreadyArchived(id) => crate::err!(
                "cairn wal push: {name} was already archived with the same bytes (snapshot {})",
                id.short()
            ),
        }
    }
    super::ok()
}

fn fetch(g: &Global, name: &str, dest: &std::path::Path) -> Result<ExitCode> {
    let repo = context::open(g)?;
    match pitr::fetch(&repo, name, dest, pitr::default_cache_dir().as_deref()) {
        Ok(_) => super::ok(),
        Err(e) if pitr::is_not_archived(&e) => {
            if !g.quiet {
                crate::err!("cairn wal fetch: {name} is not in the archive");
            }
            Ok(ExitCode::from(exit::FAILED))
        }
        Err(e) => Err(e.into()),
    }
}

fn status(g: &Global, a: &WalStatusArgs) -> Result<ExitCode> {
    let repo = context::open(g)?;
    let catalog = Catalog::load(&repo, pitr::default_cache_dir().as_deref())?;
    let st = pitr::wal_status(&catalog, cairn::now_ns());
    let max_age = a.max_age.map(|d| d.as_secs_f64());
    let problems = st.problems(max_age);
    if let Some(dir) = &g.metrics_dir {
        let (loc, _) = context::location(g)?;
        let text = pitr::metrics(&st, &loc, max_age);
        let file = cairn_plan::file_name("cairn_wal", &loc);
        cairn_plan::write_textfile(dir, &file, &text)?;
    }
    if g.json {
        let mut v = serde_json::to_value(&st)?;
        v["message_type"] = "wal_status".into();
        v["ok"] = problems.is_empty().into();
        v["problems"] = serde_json::json!(problems);
        output::json(&v);
    } else if !g.quiet {
        print_status(&st, &problems);
    }
    Ok(ExitCode::from(match problems.is_empty() {
        true => exit::OK,
        false => exit::OVERDUE,
    }))
}

fn print_status(st: &pitr::WalStatus, problems: &[String]) {
    match &st.newest {
        Some((name, t)) => crate::out!(
            "newest WAL file: {name}, archived {} ({:.0} s ago); {} files archived",
            pitr::pg_time(*t),
            st.age_secs.unwrap_or_default(),
            st.files
        ),
        None => crate::out!("no WAL file archived"),
    }
    crate::out!("base backups: {}", st.base_backups);
    if let Some(t) = st.oldest_point_ns {
        crate::out!("oldest restore point: {}", pitr::pg_time(t));
    }
    for p in problems {
        crate::out!("PROBLEM: {p}");
    }
    if problems.is_empty() {
        crate::out!("ok: PITR is receiving WAL");
    }
}

fn forget(g: &Global, a: &WalForgetArgs) -> Result<ExitCode> {
    let repo = context::open(g)?;
    let catalog = Catalog::load(&repo, pitr::default_cache_dir().as_deref())?;
    let window = i64::try_from(a.keep_within.as_nanos()).unwrap_or(i64::MAX);
    let plan = pitr::plan_window(&catalog, window, cairn::now_ns());
    let n = pitr::forget_window(&repo, &plan, a.dry_run)?;
    let verb = if a.dry_run { "would forget" } else { "forgot" };
    if g.json {
        output::json(&serde_json::json!({
            "message_type": "wal_forget", "dry_run": a.dry_run,
            "window_start": pitr::pg_time(plan.window_start_ns),
            "bases_kept": plan.keep_bases.iter().map(|b| b.id.to_hex()).collect::<Vec<_>>(),
            "bases_forgotten": plan.forget_bases.iter().map(|b| b.id.to_hex()).collect::<Vec<_>>(),
            "wal_forgotten": plan.forget_wal.iter().map(|w| w.name.clone()).collect::<Vec<_>>(),
            "wal_kept": plan.keep_wal, "snapshots": n,
        }));
    } else if !g.quiet {
        crate::out!(
            "window from {}: keeping {} base backups and {} WAL files; {verb} {} base backups and {} WAL files",
            pitr::pg_time(plan.window_start_ns),
            plan.keep_bases.len(),
            plan.keep_wal,
            plan.forget_bases.len(),
            plan.forget_wal.len()
        );
        if plan.keep_bases.is_empty() {
            crate::out!("no base backup is stored: every WAL file is kept");
        }
        if n > 0 && !a.dry_run {
            crate::out!("run `cairn prune` to free their space");
        }
    }
    super::ok()
}

/// The target the flags name.
pub fn target(t: &PitrTargetArgs) -> Result<Target> {
    Ok(Target::from_flags(
        t.target_time.as_deref(),
        t.target_lsn.as_deref(),
        t.target_xid.as_deref(),
        t.target_immediate,
    )?)
}

/// `restore_command` for a restored cluster: this binary, this repository,
/// and where this run's key came from (a path or a command, never the key).
pub fn restore_command(g: &Global) -> Result<String> {
    let exe = std::env::current_exe().context("locating the cairn binary")?;
    let (loc, is_default) = context::location(g)?;
    let mut env = Vec::new();
    for var in [
        "CAIRN_KEY_FILE",
        "CAIRN_PASSWORD_FILE",
        "CAIRN_PASSWORD_COMMAND",
    ] {
        if let Some(v) = std::env::var(var).ok().filter(|v| !v.is_empty()) {
            let v = match var {
                "CAIRN_PASSWORD_COMMAND" => v,
                _ => std::path::absolute(&v)?.display().to_string(),
            };
            env.push((var.to_string(), v));
            break;
        }
    }
    if env.is_empty() && is_default {
        let key = context::default_repo()?.key;
        env.push(("CAIRN_KEY_FILE".to_string(), key.display().to_string()));
    }
    Ok(pitr::restore_command(&exe, &loc, &env))
}

fn drill(g: &Global, a: &WalDrillArgs) -> Result<ExitCode> {
    let repo = context::open(g)?;
    let seed = a.seed.unwrap_or_else(|| cairn::now_ns().unsigned_abs());
    let explicit = target(&a.target)?;
    let given = a.target.target_time.is_some()
        || a.target.target_lsn.is_some()
        || a.target.target_xid.is_some()
        || a.target.target_immediate;
    let o = pitr::PitrDrillOptions {
        tools: Tools::new(a.pg_bin.clone()),
        seed,
        target: given.then_some(explicit),
        check_sql: a.check_sql.clone(),
        restore_command: restore_command(g)?,
        scratch: a.scratch_dir.clone().unwrap_or_else(std::env::temp_dir),
        timeout: a.replay_timeout,
        cache_dir: pitr::default_cache_dir(),
    };
    let res = pitr::pitr_drill(&repo, &o);
    let ok = res.is_ok();
    if let Some(dir) = &g.metrics_dir {
        let (loc, _) = context::location(g)?;
        let mut m = cairn_plan::Metrics::default();
        let l = [("repository", loc.as_str())];
        m.gauge(
            "cairn_wal_drill_ok",
            "1 when the last PITR drill passed.",
            &l,
            f64::from(u8::from(ok)),
        );
        m.gauge(
            "cairn_wal_drill_timestamp_seconds",
            "When the last PITR drill ran.",
            &l,
            cairn::now_ns() as f64 / 1e9,
        );
        if let Ok(r) = &res {
            m.gauge(
                "cairn_wal_drill_rto_seconds",
                "Restore and replay time of the last PITR drill.",
                &l,
                r.rto_ms as f64 / 1e3,
            );
        }
        cairn_plan::write_textfile(
            dir,
            &cairn_plan::file_name("cairn_wal_drill", &loc),
            m.text(),
        )?;
    }
    match res {
        Ok(r) => {
            if g.json {
                let mut v = serde_json::to_value(&r)?;
                v["message_type"] = "wal_drill".into();
                v["ok"] = true.into();
                v["seed"] = seed.into();
                output::json(&v);
            } else if !g.quiet {
                crate::out!("PITR drill passed (seed {seed})");
                crate::out!("  base backup:  {}", &r.base[..12]);
                crate::out!("  target:       {}", r.target);
                if let Some((a, b)) = &r.wal_range {
                    crate::out!("  WAL replayed: {a} .. {b}");
                }
                crate::out!("  recovered to: {}", r.recovered_to);
                crate::out!("  check:        {}", r.check_output);
                crate::out!("  RTO:          {:.1} s", r.rto_ms as f64 / 1e3);
            }
            super::ok()
        }
        Err(e) => {
            crate::err!("PITR drill FAILED (seed {seed}): {e}");
            if g.json {
                output::json(&serde_json::json!({
                    "message_type": "wal_drill", "ok": false, "seed": seed, "error": e.to_string(),
                }));
            }
            Ok(ExitCode::from(exit::PLAN_FAILED))
        }
    }
}
