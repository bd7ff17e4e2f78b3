//! `cairn dump`.

use crate::cli::{DumpArgs, Global};
use crate::context;
use anyhow::Result;
use std::io::Write;
use std::process::ExitCode;

pub fn run(g: &Global, a: &DumpArgs) -> Result<ExitCode> {
    let repo = context::open(g)?;
    let id = repo.resolve_snapshot(&a.snapshot)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
    repo.dump(&id, &a.path, &mut out)?;
    out.flush()?;
    super::ok()
}
