//! `cairn dump`.

use crate::cli::{DumpArgs, Global};
use crate::context;
use anyhow::Result;
use std::io::Write;
use std::process::ExitCode;

pub fn run(g: &Global, a: &DumpArgs) -> Result<ExitCode> {
    match &a.format {
        Some(crate::cli::DumpFormat::Kubernetes(k)) => return super::kubernetes::dump(g, k),
        Some(crate::cli::DumpFormat::Mongodb(m)) => return super::mongodb::dump(g, m),
        None => {}
    }
    let (Some(snapshot), Some(path)) = (&a.snapshot, &a.path) else {
        anyhow::bail!("dump needs SNAPSHOT and PATH");
    };
    let repo = context::open(g)?;
    crate::select::no_latest(&a.filter, "dump")?;
    let id = repo.resolve_snapshot_in(snapshot, &crate::select::filter(&a.filter)?)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
    // A directory (or `/`) is written as a tar stream, as restic does.
    let node = match path.trim_matches('/').is_empty() {
        true => None,
        false => Some(repo.find_path(&id, path)?),
    };
    let written = match node {
        Some(n) if !matches!(n.kind, cairn::NodeKind::Dir { .. }) => {
            repo.dump_node(&n, &mut out).map(|_| ())
        }
        _ => repo.dump_tar(&id, path, &mut out).map(|r| {
            if r.skipped > 0 {
                crate::err!(
                    "cairn: warning: {} device nodes are not in the tar stream",
                    r.skipped
                );
            }
        }),
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
