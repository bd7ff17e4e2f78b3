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
        let (snaps, _) = repo.readable_snapshots()?;
        snaps
            .into_iter()
            .filter(|(_, s)| filter.matches(s))
            .map(|(id, _)| id)
            .collect()
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
