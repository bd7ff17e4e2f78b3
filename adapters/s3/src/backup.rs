//! Bucket objects into one snapshot.

use crate::bucket::{attributes_to_info, Bucket};
use crate::info;
use crate::names::{directory_prefixes, stream_name};
use cairn::{
    BackupReport, Content, Excludes, NodeKind, ParentChoice, Repository, Result, S3Options,
    Snapshot, SnapshotId, StreamSource,
};
use cairn_plan::Capture;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// What to back up.
#[derive(Clone, Debug, Default)]
pub struct S3BackupOptions {
    /// `s3://bucket[/prefix]`.
    pub url: String,
    /// Endpoint, region and concurrency of the source service.
    pub s3: S3Options,
    /// Exclusion patterns, matched against `/<key>` (see `cairn::exclude`).
    pub excludes: Vec<String>,
    /// Snapshot tags.
    pub tags: Vec<String>,
    /// Host to record.
    pub host: Option<String>,
    /// Compare with this snapshot, none, or (default) the newest snapshot
    /// of the same URL.
    pub parent: ParentChoice,
    /// Progress counters.
    pub progress: Option<Arc<cairn::Progress>>,
}

/// Parent nodes by key: (etag, size, last modified) and what to reuse.
type ParentMap = HashMap<String, (BTreeMap<String, String>, u64, Content)>;

fn parent_map(
    repo: &Repository,
    parent: Option<&(SnapshotId, Snapshot)>,
    bucket: &str,
) -> Result<ParentMap> {
    let mut map = HashMap::new();
    let Some((id, _)) = parent else {
        return Ok(map);
    };
    let Ok(root) = repo.find_path(id, &format!("s3/{bucket}")) else {
        return Ok(map);
    };
    let NodeKind::Dir { subtree } = &root.kind else {
        return Ok(map);
    };
    repo.walk_tree(subtree, "", &mut |_, node| {
        if let NodeKind::Stream {
            size,
            content,
            info,
        } = &node.kind
        {
            if let Some(k) = info.get(info::KEY) {
                map.insert(k.clone(), (info.clone(), *size, content.clone()));
            }
        }
        Ok(())
    })?;
    Ok(map)
}

fn same_version(prev: &BTreeMap<String, String>, now: &BTreeMap<String, String>) -> bool {
    [info::ETAG, info::SIZE, info::LAST_MODIFIED]
        .iter()
        .all(|k| prev.get(*k).is_some() && prev.get(*k) == now.get(*k))
}

/// Backs up the objects under `s3://bucket[/prefix]` into a new snapshot,
/// through the same component path a plan takes ([`crate::S3Component`]).
/// A bucket listing is not atomic: objects written during the backup may
/// or may not be included (see docs/adapters/s3.md).
pub fn backup(repo: &Repository, o: &S3BackupOptions) -> Result<BackupReport> {
    let run = cairn_plan::ComponentRun::default()
        .tags(o.tags.clone())
        .host(o.host.clone())
        .progress(o.progress.clone());
    let snaps = match o.parent {
        ParentChoice::Auto => repo.readable_snapshots()?.0,
        _ => Vec::new(),
    };
    cairn_plan::backup_component(repo, &crate::S3Component::new(o.clone()), &run, &snaps)
}

/// The parent a capture compares with: the one given, none, or the
/// newest earlier backup of the same URL.
fn chosen_parent(
    repo: &Repository,
    o: &S3BackupOptions,
    previous: Option<&(SnapshotId, Snapshot)>,
) -> Result<Option<(SnapshotId, Snapshot)>> {
    Ok(match &o.parent {
        ParentChoice::None => None,
        ParentChoice::Id(id) => Some((*id, repo.load_snapshot(id)?)),
        ParentChoice::Auto => previous.cloned(),
    })
}

/// Lists the bucket and prepares one lazy stream per object; objects that
/// match the parent (ETag, size, last-modified) reuse its chunks unread.
pub(crate) fn capture(
    repo: &Repository,
    o: &S3BackupOptions,
    previous: Option<&(SnapshotId, Snapshot)>,
) -> Result<Capture> {
    let bucket = Arc::new(Bucket::open(&o.url, &o.s3)?);
    let excludes = Excludes::new(&o.excludes)?;
    let listed_at = cairn::format_time(cairn::now_ns());
    let metas: Vec<_> = bucket
        .list()?
        .into_iter()
        .filter(|m| !excludes.is_excluded(std::path::Path::new(&format!("/{}", m.location)), false))
        .collect();
    let keys: Vec<String> = metas.iter().map(|m| m.location.to_string()).collect();
    let dirs = directory_prefixes(keys.iter().map(String::as_str));
    let parent = chosen_parent(repo, o, previous)?;
    let parents = parent_map(repo, parent.as_ref(), &bucket.name)?;
    let mut streams = Vec::with_capacity(metas.len());
    let mut total = 0u64;
    for (m, key) in metas.iter().zip(&keys) {
        let mut facts = BTreeMap::new();
        facts.insert(info::KEY.to_string(), key.clone());
        facts.insert(info::SIZE.to_string(), m.size.to_string());
        facts.insert(
            info::LAST_MODIFIED.to_string(),
            m.last_modified.to_rfc3339(),
        );
        if let Some(e) = &m.e_tag {
            facts.insert(info::ETAG.to_string(), e.clone());
        }
        total += m.size;
        let name = stream_name(&bucket.name, key, &dirs);
        let mut src = match parents
            .get(key)
            .filter(|(prev, _, _)| same_version(prev, &facts))
        {
            Some((prev, size, content)) => {
                // Unchanged: keep the recorded content type and metadata.
                for (k, v) in prev.iter().filter(|(k, _)| {
                    k.as_str() == info::CONTENT_TYPE || k.starts_with(info::META_PREFIX)
                }) {
                    facts.insert(k.clone(), v.clone());
                }
                let mut s = reader_source(&bucket, &name, key);
                s.reuse = Some((*size, content.clone()));
                s
            }
            None => reader_source(&bucket, &name, key),
        };
        src.info.extend(facts);
        streams.push(src);
    }
    if let Some(p) = &o.progress {
        cairn::Progress::add(&p.total_bytes, total);
        cairn::Progress::add(&p.total_files, streams.len() as u64);
    }
    let objects = streams.len();
    if streams.is_empty() {
        // A snapshot of an empty bucket still records that it was empty.
        streams.push(StreamSource::from_reader(
            format!("s3/{}/.cairn-empty-bucket", bucket.name),
            std::io::empty(),
        ));
    }
    let mut c = Capture::streams(streams)
        .info("s3", "url", o.url.clone())
        .info("s3", "bucket", bucket.name.clone())
        .info("s3", "prefix", bucket.prefix.clone())
        .info("s3", "objects", objects.to_string())
        .info(
            "s3",
            "consistency",
            "listing is not atomic: objects changed during the backup may be old, new, or missing",
        )
        .consistency(
            "the objects the listing returned at marker.listed_at, each read once afterwards; a listing is not atomic",
        );
    c.marker.insert("listed_at".into(), listed_at);
    c.marker.insert("objects".into(), objects.to_string());
    c.marker.insert("bytes".into(), total.to_string());
    Ok(c)
}

/// A stream that GETs the object only when its turn comes, and records the
/// object's content type and user metadata when it is done.
fn reader_source(bucket: &Arc<Bucket>, name: &str, key: &str) -> StreamSource {
    let attrs: Arc<Mutex<Option<object_store::Attributes>>> = Arc::new(Mutex::new(None));
    let (b, k, a) = (bucket.clone(), key.to_string(), attrs.clone());
    let mut s = StreamSource::lazy(name.to_string(), move || {
        let (attributes, reader) = b.get(&k)?;
        *a.lock().unwrap_or_else(|p| p.into_inner()) = Some(attributes);
        Ok(reader)
    });
    s.finish = Some(Box::new(move || {
        let mut info = BTreeMap::new();
        if let Some(a) = attrs.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            attributes_to_info(a, &mut info);
        }
        Ok(info)
    }));
    s
}
