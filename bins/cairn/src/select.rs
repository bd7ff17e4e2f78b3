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
