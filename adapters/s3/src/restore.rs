//! Objects from a snapshot back into a bucket.

use crate::bucket::{info_to_attributes, Bucket};
use crate::info;
use cairn::{Error, NodeKind, Repository, Result, S3Options, SnapshotId};
use globset::{Glob, GlobSetBuilder};

/// Where to restore, and which objects.
#[derive(Clone, Debug, Default)]
pub struct S3RestoreOptions {
    /// Target `s3://bucket[/prefix]`; objects keep their key relative to
    /// the prefix they were backed up from.
    pub url: String,
    /// Endpoint, region and concurrency of the target service.
    pub s3: S3Options,
    /// Only keys starting with this (relative to the backed-up prefix).
    pub prefix: Option<String>,
    /// Only keys matching one of these globs (`*` does not cross `/`).
    pub include: Vec<String>,
}

/// What a restore wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct S3RestoreReport {
    /// Objects written.
    pub objects: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// Restores the objects of an `s3` snapshot into a bucket.
pub fn restore(
    repo: &Repository,
    snapshot: &SnapshotId,
    o: &S3RestoreOptions,
) -> Result<S3RestoreReport> {
    let snap = repo.load_snapshot(snapshot)?;
    let (Some(src_bucket), Some(src_prefix)) =
        (snap.info.get("s3.bucket"), snap.info.get("s3.prefix"))
    else {
        return Err(Error::invalid(format!(
            "snapshot {} is not a bucket backup",
            snapshot.short()
        )));
    };
    let mut globs = GlobSetBuilder::new();
    for g in &o.include {
        globs.add(Glob::new(g).map_err(|e| Error::invalid(format!("bad pattern {g:?}: {e}")))?);
    }
    let globs = globs.build().map_err(|e| Error::invalid(e.to_string()))?;
    let target = Bucket::open(&o.url, &o.s3)?;
    let root = repo.find_path(snapshot, &format!("s3/{src_bucket}"))?;
    let NodeKind::Dir { subtree } = &root.kind else {
        return Err(Error::corrupt(
            format!("snapshot {}", snapshot.short()),
            "bucket entry is not a directory",
        ));
    };
    let mut nodes = Vec::new();
    repo.walk_tree(subtree, "", &mut |_, node| {
        if let NodeKind::Stream { info: i, .. } = &node.kind {
            if i.contains_key(info::KEY) {
                nodes.push(node.clone());
            }
        }
        Ok(())
    })?;
    let mut report = S3RestoreReport::default();
    for node in nodes {
        let NodeKind::Stream { size, info: i, .. } = &node.kind else {
            continue;
        };
        let key = &i[info::KEY];
        let rel = if src_prefix.is_empty() {
            key.as_str()
        } else {
            key.strip_prefix(&format!("{src_prefix}/")).unwrap_or(key)
        };
        if o.prefix.as_deref().is_some_and(|p| !rel.starts_with(p))
            || (!o.include.is_empty() && !globs.is_match(rel))
        {
            continue;
        }
        target.put(&target.full_key(rel), info_to_attributes(i), *size, |w| {
            repo.dump_node(&node, w)
        })?;
        report.objects += 1;
        report.bytes += size;
    }
    Ok(report)
}
