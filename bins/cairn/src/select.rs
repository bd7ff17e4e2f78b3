//! The snapshot selection flags, turned into the engine's filter.

use crate::cli::SnapshotFilterArgs;
use anyhow::Result;
use cairn::SnapshotFilter;

/// The filter the flags describe; paths are made absolute, as snapshots
/// record them (a stream name without `/` is kept as given).
pub fn filter(a: &SnapshotFilterArgs) -> Result<SnapshotFilter> {
    let mut paths = Vec::new();
    for p in &a.paths {
        let text = p.to_string_lossy();
        paths.push(if p.is_absolute() || !text.contains('/') && !p.exists() {
            text.into_owned()
        } else {
            std::path::absolute(p)?.display().to_string()
        });
    }
    let tags = a.tags.iter().map(|t| cairn::parse_tag_list(t)).collect();
    Ok(SnapshotFilter::new(a.hosts.clone(), tags, paths))
}

/// `--tag` values as restic reads them: `a,b` is two tags; empty parts
/// are dropped.
pub fn tags(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| cairn::parse_tag_list(v))
        .filter(|t| !t.is_empty())
        .collect()
}

/// True when any selection flag is given.
pub fn given(a: &SnapshotFilterArgs) -> Result<bool> {
    Ok(!filter(a)?.is_empty() || a.latest.is_some())
}

/// The readable snapshots the flags select (oldest first), with
/// `--latest N` keeping the newest N of each (host, paths) group.
pub fn list(repo: &cairn::Repository, a: &SnapshotFilterArgs) -> Result<cairn::SnapshotList> {
    let f = filter(a)?;
    let (snaps, _) = repo.readable_snapshots()?;
    let snaps = snaps.into_iter().filter(|(_, s)| f.matches(s)).collect();
    Ok(match a.latest {
        Some(n) => cairn::latest_per_group(snaps, n),
        None => snaps,
    })
}

/// Commands that take one snapshot (or, like forget, decide by policy)
/// refuse `--latest N` rather than ignore it.
pub fn no_latest(a: &SnapshotFilterArgs, what: &str) -> Result<()> {
    match a.latest {
        Some(_) if what == "forget" => {
            anyhow::bail!("forget takes no --latest: keep the newest with --keep-last N")
        }
        Some(_) => anyhow::bail!(
            "{what} takes one snapshot and no --latest: name it (latest, latest~N, an id)"
        ),
        None => Ok(()),
    }
}

/// The snapshots a command works on: the given ids (or `latest`, counted
/// among the selected), else every snapshot the selection flags pick.
/// An empty result is an error: a command that would silently do nothing
/// on a typo'd tag is worse than one that says so.
pub fn chosen(
    repo: &cairn::Repository,
    specs: &[String],
    a: &SnapshotFilterArgs,
) -> Result<Vec<cairn::SnapshotId>> {
    let filter = filter(a)?;
    let ids: Vec<cairn::SnapshotId> = if specs.is_empty() {
        list(repo, a)?.into_iter().map(|(id, _)| id).collect()
    } else {
        specs
            .iter()
            .map(|s| repo.resolve_snapshot_in(s, &filter))
            .collect::<cairn::Result<_>>()?
    };
    if ids.is_empty() {
        anyhow::bail!("no snapshot is selected");
    }
    Ok(ids)
}

/// `patterns` and the patterns of each file in `files` (one per line;
/// blank lines and `#` comments skipped), as --exclude-file reads them.
pub fn patterns_with_files(
    patterns: &[String],
    files: &[std::path::PathBuf],
) -> Result<Vec<String>> {
    use anyhow::Context;
    let mut out = patterns.to_vec();
    for f in files {
        let text = std::fs::read_to_string(f)
            .with_context(|| format!("reading exclude file {}", f.display()))?;
        out.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(String::from),
        );
    }
    Ok(out)
}
