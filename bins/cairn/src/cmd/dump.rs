//! `cairn dump`.

use crate::cli::{DumpArgs, Global};
use crate::context;
use anyhow::Result;
use std::io::Write;
use std::process::ExitCode;

pub fn run(g: &Global, a: &DumpArgs) -> Result<ExitCode> {
    let repo = context::open(g)?;
    let id = repo.resolve_snapshot_in(&a.snapshot, &crate::select::filter(&a.filter)?)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
    // A directory (or `/`) is written as a tar stream, as restic does.
    let is_dir = a.path.trim_matches('/').is_empty()
        || matches!(
            repo.find_path(&id, &a.path)?.kind,
            cairn::NodeKind::Dir { .. }
        );
    let written = match is_dir {
        true => repo.dump_tar(&id, &a.path, &mut out).map(|r| {
            if r.skipped > 0 {
                crate::err!(
                    "cairn: warning: {} device nodes are not in the tar stream",
                    r.skipped
                );
            }
        }),
        false => repo.dump(&id, &a.path, &mut out).map(|_| ()),
    }
    .map_err(anyhow::Error::from)
    .and_then(|()| out.flush().map_err(anyhow::Error::from));
    match written {
        // The reader stopped early (`| head`, `pg_restore --list`): like a
        // closed pipe for any other output, this ends the dump quietly.
        Err(e) if is_broken_pipe(&e) => super::ok(),
        Err(e) => Err(e),
        Ok(()) => super::ok(),
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
