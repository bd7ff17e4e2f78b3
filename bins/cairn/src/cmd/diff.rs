//! `cairn diff`.

use crate::cli::{DiffArgs, Global};
use crate::{context, output};
use anyhow::Result;
use std::process::ExitCode;

pub fn run(g: &Global, a: &DiffArgs) -> Result<ExitCode> {
    let repo = context::open(g)?;
    let (ia, ib) = (repo.resolve_snapshot(&a.a)?, repo.resolve_snapshot(&a.b)?);
    let (sa, sb) = (repo.load_snapshot(&ia)?, repo.load_snapshot(&ib)?);
    let mut changes = Vec::new();
    repo.diff_trees(&sa.tree, &sb.tree, "", &mut changes)?;
    if g.json {
        output::json(&serde_json::to_value(&changes)?);
        return super::ok();
    }
    for c in &changes {
        crate::out!("{}    {}", c.change, output::name(&c.path));
    }
    let count = |ch: char| changes.iter().filter(|c| c.change == ch).count();
    crate::out!(
        "added {}, removed {}, modified {}, type changed {}",
        count('+'),
        count('-'),
        count('M'),
        count('T')
    );
    super::ok()
}
