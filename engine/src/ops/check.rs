//! `check`: structure checks, and with `read_data` a full (or partial)
//! read-back of the packs. Damage is reported, never repaired here, and
//! mapped to the snapshots and files it affects.

use crate::backend::FileKind;
use crate::blob;
use crate::error::{Error, Result};
use crate::id::{BlobId, PackId, SnapshotId};
use crate::pack::decode_header;
use crate::repo::Repository;
use crate::tree::{Content, NodeKind};
use rayon::prelude::*;
use std::collections::{BTreeSet, HashMap, HashSet};

/// Which packs `read_data` reads.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Subset {
    /// Every pack.
    All,
    /// A random share of the packs, in percent.
    Percent(f64),
    /// Part `n` of `m` (1-based) of the packs sorted by id: running parts
    /// 1..=m on successive days reads everything once.
    Part(u32, u32),
    /// The next 1/M of the packs after where the previous rotating check
    /// stopped (a `checks/` record in the repository): M runs read every
    /// pack once, whoever runs them.
    Rotate(u32),
}

impl Subset {
    /// Parses `25%` or `2/7`.
    pub fn parse(s: &str) -> Result<Self> {
        if let Some(p) = s.strip_suffix('%') {
            let v: f64 = p
                .trim()
                .parse()
                .map_err(|_| Error::invalid(format!("bad subset {s:?}")))?;
            if !(0.0..=100.0).contains(&v) || v == 0.0 {
                return Err(Error::invalid(format!("subset {s:?} must be in (0, 100]%")));
            }
            return Ok(Subset::Percent(v));
        }
        let (n, m) = s
            .split_once('/')
            .ok_or_else(|| Error::invalid(format!("bad subset {s:?}: use N% or n/m")))?;
        let (n, m): (u32, u32) = (
            n.trim()
                .parse()
                .map_err(|_| Error::invalid(format!("bad subset {s:?}")))?,
            m.trim()
                .parse()
                .map_err(|_| Error::invalid(format!("bad subset {s:?}")))?,
        );
        if m == 0 || n == 0 || n > m {
            return Err(Error::invalid(format!("subset {s:?} needs 1 <= n <= m")));
        }
        Ok(Subset::Part(n, m))
    }

    fn select(&self, mut packs: Vec<PackId>) -> Vec<PackId> {
        packs.sort();
        match *self {
            Subset::All => packs,
            Subset::Part(n, m) => {
                let len = packs.len();
                let (start, end) = (
                    (n as usize - 1) * len / m as usize,
                    n as usize * len / m as usize,
                );
                packs[start..end].to_vec()
            }
            // Chosen by `read_packs`, which knows the stored progress.
            Subset::Rotate(_) => packs,
            Subset::Percent(p) => {
                let want = ((packs.len() as f64 * p / 100.0).ceil() as usize).min(packs.len());
                let mut keyed: Vec<([u8; 32], PackId)> = packs
                    .into_iter()
                    .map(|id| (crate::id::random_bytes(), id))
                    .collect();
                keyed.sort();
                keyed.into_iter().take(want).map(|(_, id)| id).collect()
            }
        }
    }
}

/// Keeps packs, in order, while their sizes fit `max_bytes` (at least one).
fn cap_bytes(
    packs: Vec<PackId>,
    sizes: &HashMap<PackId, u64>,
    max_bytes: Option<u64>,
) -> Vec<PackId> {
    let Some(cap) = max_bytes else {
        return packs;
    };
    let mut total = 0u64;
    let mut out = Vec::new();
    for p in packs {
        let s = sizes.get(&p).copied().unwrap_or(0);
        if !out.is_empty() && total + s > cap {
            break;
        }
        total += s;
        out.push(p);
    }
    out
}

/// One problem found.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// Short kind: `missing-pack`, `pack-size`, `pack-hash`, `pack-header`,
    /// `missing-blob`, `corrupt-blob`, `index-file`, `plan`, `session`,
    /// `snapshot`, `tree`.
    pub kind: String,
    /// The object concerned.
    pub object: String,
    /// What is wrong.
    pub detail: String,
}

/// A snapshot path that cannot be restored (fully).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Affected {
    /// Snapshot id.
    pub snapshot: String,
    /// Path inside it.
    pub path: String,
}

/// Options for [`Repository::check`].
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct CheckOptions {
    /// Read back and verify pack contents too: all packs, a share, one
    /// part of N, or the next part of a rotation; `None` checks structure
    /// only.
    pub read_data: Option<Subset>,
    /// Read at most this many pack bytes (at least one pack), whatever
    /// the subset.
    pub max_bytes: Option<u64>,
    /// Only these snapshots' trees, and with `read_data` only the packs
    /// that hold their blobs (`None`: every snapshot and pack). Snapshot
    /// files that cannot be read are reported either way.
    pub snapshots: Option<Vec<SnapshotId>>,
}

super::setters!(CheckOptions {
    read_data: Option<Subset>,
    max_bytes: Option<u64>,
    snapshots: Option<Vec<SnapshotId>>,
});

/// Trees seen so far and, for a check of chosen snapshots, the packs
/// their blobs are in.
#[derive(Default)]
struct TreeWalk {
    seen: HashSet<BlobId>,
    packs: Option<HashSet<PackId>>,
}

impl TreeWalk {
    fn used(&mut self, pack: PackId) {
        if let Some(p) = &mut self.packs {
            p.insert(pack);
        }
    }
}

/// The outcome of a check.
#[derive(Clone, Debug, Default, serde::Serialize)]
#[non_exhaustive]
pub struct CheckReport {
    /// Snapshots checked.
    pub snapshots: u64,
    /// Packs listed in the index.
    pub packs: u64,
    /// Packs read back (with `read_data`).
    pub packs_read: u64,
    /// Blobs decrypted and verified (with `read_data`).
    pub blobs_read: u64,
    /// Pack bytes read back.
    pub bytes_read: u64,
    /// With a rotation: where it stands after this check.
    pub rotation: Option<crate::ops::check_progress::CheckProgress>,
    /// Damage.
    pub problems: Vec<Problem>,
    /// Harmless findings (leftover packs that prune removes).
    pub warnings: Vec<String>,
    /// Snapshot paths that damage makes unrestorable.
    pub affected: Vec<Affected>,
}

impl CheckReport {
    /// True when no damage was found.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }

    fn problem(&mut self, kind: &str, object: impl Into<String>, detail: impl Into<String>) {
        self.problems.push(Problem {
            kind: kind.into(),
            object: object.into(),
            detail: detail.into(),
        });
    }
}

impl Repository {
    /// Checks the repository. `read_data`: which packs to read back
    /// (`None` = structure only).
    ///
    /// ```
    /// # fn main() -> cairn::Result<()> {
    /// # use std::sync::Arc;
    /// # let opts = cairn::InitOptions::default().argon2(cairn::Argon2Params::insecure_for_tests());
    /// # let secret = cairn::Secret::passphrase("example");
    /// # let repo = cairn::Repository::init(Arc::new(cairn::ObjectBackend::memory()?), &secret, opts.clone())?;
    /// # let stream = cairn::StreamSource::from_reader("db/dump.sql", &b"CREATE TABLE t();"[..]);
    /// # let first = repo.backup(cairn::BackupOptions::default().streams(vec![stream]))?;
    /// let report = repo.check(cairn::CheckOptions::default().read_data(Some(cairn::Subset::All)))?;
    /// assert!(report.is_clean());
    /// assert_eq!(report.snapshots, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn check(&self, opts: CheckOptions) -> Result<CheckReport> {
        let read_data = opts.read_data;
        if opts.snapshots.is_some() && matches!(read_data, Some(Subset::Rotate(_))) {
            return Err(Error::invalid(
                "a rotating check reads the whole repository in turns; it takes no snapshot \
                 selection (use --read-data or --read-data-subset with one)",
            ));
        }
        self.reload_index()?;
        let mut r = CheckReport::default();
        for p in self.index_problems() {
            r.problem("index-file", "index", p);
        }
        for p in self.plan_problems() {
            r.problem(
                "plan",
                "deletion plan",
                format!("{p}; prune stops until `repair index` indexes its packs again"),
            );
        }
        self.check_sessions(&mut r)?;
        let mut bad: HashSet<BlobId> = HashSet::new();
        self.check_packs(&mut r, &mut bad)?;
        let mut walk = TreeWalk {
            packs: opts.snapshots.as_ref().map(|_| HashSet::new()),
            ..Default::default()
        };
        let snaps = self.check_snapshots(opts.snapshots.as_deref(), &mut r, &mut bad, &mut walk)?;
        if let Some(subset) = read_data {
            let only = walk.packs.as_ref();
            self.read_packs(subset, opts.max_bytes, only, &mut r, &mut bad)?;
        }
        if !bad.is_empty() {
            r.affected = self.affected_paths(&snaps, &bad);
        }
        Ok(r)
    }

    /// Session markers that cannot be read. Each counts as a backup that
    /// started when it was stored and runs for prune's stale limit, so it
    /// can delay a sweep but never hasten one; prune removes it after that.
    fn check_sessions(&self, r: &mut CheckReport) -> Result<()> {
        for s in crate::gc::sessions(self)?
            .into_iter()
            .filter(|s| s.unreadable)
        {
            r.problem(
                "session",
                format!("session {}", s.markers.join(",")),
                "marker cannot be read (damaged, or written with another key); it counts as a \
                 running backup until prune's stale limit and delays sweeps, never hastens them",
            );
        }
        Ok(())
    }

    fn check_packs(&self, r: &mut CheckReport, bad: &mut HashSet<BlobId>) -> Result<()> {
        let stored: HashMap<String, u64> =
            self.backend().list(FileKind::Pack)?.into_iter().collect();
        let index = self.index();
        let mut known = HashSet::new();
        let mut lost = HashSet::new();
        for (pack, _, size) in index.packs() {
            let name = pack.to_hex();
            known.insert(name.clone());
            r.packs += 1;
            match stored.get(&name) {
                None if index.is_doomed(pack) => continue,
                None => r.problem(
                    "missing-pack",
                    format!("pack {name}"),
                    "listed in the index but not in storage",
                ),
                Some(s) if s != size => r.problem(
                    "pack-size",
                    format!("pack {name}"),
                    format!("{s} bytes in storage, {size} in the index (truncated?)"),
                ),
                Some(_) => continue,
            }
            lost.insert(*pack);
        }
        // Every blob of a missing or resized pack is suspect: the affected
        // paths are reported without reading any data.
        if !lost.is_empty() {
            bad.extend(
                index
                    .entries()
                    .filter(|(_, l)| lost.contains(&l.pack))
                    .map(|(id, _)| id),
            );
        }
        if index.duplicated() > 0 {
            r.warnings.push(format!(
                "{} blob(s) are stored in more than one pack (concurrent backups, or copies \
                 written by another client); reads fall back to another copy, prune keeps a \
                 verified one",
                index.duplicated()
            ));
        }
        for name in stored.keys().filter(|n| !known.contains(*n)) {
            r.warnings.push(format!(
                "pack {name} is not in the index (left by an interrupted backup; prune removes it)"
            ));
        }
        Ok(())
    }

    fn check_snapshots(
        &self,
        only: Option<&[SnapshotId]>,
        r: &mut CheckReport,
        bad: &mut HashSet<BlobId>,
        walk: &mut TreeWalk,
    ) -> Result<Vec<(SnapshotId, crate::snapshot::Snapshot)>> {
        let mut out = Vec::new();
        for (name, _) in self.backend().list(FileKind::Snapshot)? {
            let id = SnapshotId::from_hex(&name)?;
            let chosen = only.is_none_or(|o| o.contains(&id));
            match self.load_snapshot(&id) {
                Ok(_) if !chosen => {}
                Ok(s) => out.push((id, s)),
                Err(e) => r.problem("snapshot", format!("snapshot {name}"), e.to_string()),
            }
        }
        r.snapshots = out.len() as u64;
        for (_, s) in &out {
            self.check_tree(&s.tree, r, bad, walk);
        }
        Ok(out)
    }

    fn check_tree(
        &self,
        id: &BlobId,
        r: &mut CheckReport,
        bad: &mut HashSet<BlobId>,
        walk: &mut TreeWalk,
    ) {
        if !walk.seen.insert(*id) {
            return;
        }
        if let Some(l) = self.index().get(id) {
            walk.used(l.pack);
        }
        let tree = match self.load_tree(id) {
            Ok(t) => t,
            Err(e) => {
                r.problem("tree", format!("tree {id}"), e.to_string());
                bad.insert(*id);
                return;
            }
        };
        if let Err(detail) = tree.check_names() {
            r.problem("tree", format!("tree {id}"), detail);
            bad.insert(*id);
        }
        let index = self.index();
        let mut subtrees = Vec::new();
        for node in &tree.nodes {
            match &node.kind {
                NodeKind::Dir { subtree } => subtrees.push(*subtree),
                NodeKind::File { content, .. } | NodeKind::Stream { content, .. } => {
                    let ids = match content {
                        Content::Inline(ids) => ids.clone(),
                        Content::Indirect(_) => match self.chunk_list(content) {
                            Ok(ids) => ids,
                            Err(e) => {
                                r.problem(
                                    "tree",
                                    format!("chunk list of {}", node.name_lossy()),
                                    e.to_string(),
                                );
                                if let Content::Indirect(lists) = content {
                                    bad.extend(lists.iter().copied());
                                }
                                continue;
                            }
                        },
                    };
                    if let Content::Indirect(lists) = content {
                        lists
                            .iter()
                            .filter_map(|l| index.get(l))
                            .for_each(|l| walk.used(l.pack));
                    }
                    for c in ids {
                        if let Some(l) = index.get(&c) {
                            walk.used(l.pack);
                        } else if bad.insert(c) {
                            r.problem(
                                "missing-blob",
                                format!("blob {c}"),
                                "referenced by a snapshot but in no index",
                            );
                        }
                    }
                }
                _ => {}
            }
        }
        drop(index);
        for s in subtrees {
            self.check_tree(&s, r, bad, walk);
        }
    }

    fn read_packs(
        &self,
        subset: Subset,
        max_bytes: Option<u64>,
        only: Option<&HashSet<PackId>>,
        r: &mut CheckReport,
        bad: &mut HashSet<BlobId>,
    ) -> Result<()> {
        let packs: Vec<(PackId, u64)> = self
            .index()
            .packs()
            .iter()
            .filter(|(p, _, _)| only.is_none_or(|o| o.contains(p)))
            .map(|(p, _, s)| (*p, *s))
            .collect();
        let sizes: HashMap<PackId, u64> = packs.iter().copied().collect();
        let mut rotation = None;
        let chosen = match subset {
            Subset::Rotate(m) => {
                let prev = self.check_progress()?;
                let rot = crate::ops::check_progress::rotate(
                    packs.clone(),
                    &prev,
                    m,
                    max_bytes,
                    crate::snapshot::now_ns(),
                );
                rotation = Some(rot.next);
                rot.packs
            }
            other => cap_bytes(
                other.select(packs.iter().map(|(p, _)| *p).collect()),
                &sizes,
                max_bytes,
            ),
        };
        r.bytes_read = chosen.iter().filter_map(|p| sizes.get(p)).sum();
        let results: Vec<PackResult> = self.with_read_pool(|| {
            chosen
                .par_iter()
                .map(|p| self.read_one_pack(p, sizes.get(p).copied().unwrap_or(0)))
                .collect()
        });
        for res in results {
            r.packs_read += u64::from(res.read);
            r.blobs_read += res.blobs;
            bad.extend(res.bad_blobs);
            r.problems.extend(res.problems);
        }
        if let Some(next) = rotation {
            // Stored even when damage was found: the packs were read, and
            // the next run goes on with the next ones.
            self.save_check_progress(&next)?;
            r.rotation = Some(next);
        }
        Ok(())
    }

    fn read_one_pack(&self, pack: &PackId, size: u64) -> PackResult {
        let mut res = PackResult::default();
        let name = pack.to_hex();
        let what = format!("pack {name}");
        let bytes = match self.backend().read(FileKind::Pack, &name) {
            Ok(b) => b,
            Err(e) if e.is_not_found() => return res,
            Err(e) => {
                res.problem("missing-pack", &what, e.to_string());
                return res;
            }
        };
        res.read = true;
        if !crate::pack::name_matches(pack, &bytes) {
            res.problem(
                "pack-hash",
                &what,
                "content does not match its name (damaged or truncated)",
            );
        }
        let header = match decode_header(&self.keys().meta, &bytes, bytes.len() as u64, &what) {
            Ok(h) => h,
            Err(e) => {
                res.problem("pack-header", &what, e.to_string());
                // Every indexed blob of this pack is suspect.
                res.bad_blobs.extend(
                    self.index()
                        .entries()
                        .filter(|(_, l)| l.pack == *pack)
                        .map(|(id, _)| id),
                );
                return res;
            }
        };
        let _ = size;
        let index = self.index();
        for b in &header.blobs {
            res.blobs += 1;
            let sealed = &bytes[b.offset as usize..(b.offset + b.length) as usize];
            let at = format!("{what} (blob {} at offset {})", b.id, b.offset);
            if let Err(e) = blob::decode(self.keys(), header.kind, &b.id, b.raw_len, sealed, &at) {
                res.problem("corrupt-blob", format!("blob {}", b.id), e.to_string());
                res.bad_blobs.push(b.id);
            }
            if let Some(l) = index.get(&b.id) {
                if l.pack == *pack && (l.offset, l.length) != (b.offset, b.length) {
                    res.problem(
                        "pack-header",
                        &what,
                        format!("index and header disagree on blob {}", b.id),
                    );
                }
            }
        }
        res
    }

    /// Every (snapshot, path) whose content includes a bad blob.
    fn affected_paths(
        &self,
        snaps: &[(SnapshotId, crate::snapshot::Snapshot)],
        bad: &HashSet<BlobId>,
    ) -> Vec<Affected> {
        let mut out = BTreeSet::new();
        for (id, s) in snaps {
            if bad.contains(&s.tree) {
                out.insert(Affected {
                    snapshot: id.to_hex(),
                    path: "/".into(),
                });
                continue;
            }
            let _ = self.walk_tree(&s.tree, "", &mut |path, node| {
                let hit = match &node.kind {
                    NodeKind::Dir { subtree } => bad.contains(subtree),
                    NodeKind::File { content, .. } | NodeKind::Stream { content, .. } => {
                        match content {
                            Content::Inline(ids) => ids.iter().any(|c| bad.contains(c)),
                            Content::Indirect(lists) => {
                                lists.iter().any(|c| bad.contains(c))
                                    || self
                                        .chunk_list(content)
                                        .map(|ids| ids.iter().any(|c| bad.contains(c)))
                                        .unwrap_or(true)
                            }
                        }
                    }
                    _ => false,
                };
                if hit {
                    out.insert(Affected {
                        snapshot: id.to_hex(),
                        path: path.to_string(),
                    });
                }
                Ok(())
            });
        }
        out.into_iter().collect()
    }
}

#[derive(Default)]
struct PackResult {
    read: bool,
    blobs: u64,
    bad_blobs: Vec<BlobId>,
    problems: Vec<Problem>,
}

impl PackResult {
    fn problem(&mut self, kind: &str, object: impl Into<String>, detail: impl Into<String>) {
        self.problems.push(Problem {
            kind: kind.into(),
            object: object.into(),
            detail: detail.into(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blob::BlobKind;
    use crate::ops::backup::test_repo;
    use crate::tree::{Meta, Node, Tree};
    use crate::writer::Writer;

    fn node(name: &[u8]) -> Node {
        Node {
            name: name.to_vec(),
            kind: NodeKind::Symlink {
                target: b"/victim".to_vec(),
            },
            meta: Meta::default(),
        }
    }

    /// Trees any key holder can write: duplicate, unsorted and unsafe
    /// names are each a `tree` problem.
    #[test]
    fn bad_tree_names_are_problems() {
        for names in [
            vec![&b"x"[..], b"x"],
            vec![b"b", b"a"],
            vec![b".."],
            vec![b"a/b"],
            vec![b"a\0b"],
            vec![b""],
        ] {
            let repo = test_repo();
            let writer = Writer::start(&repo, 1, None);
            let tree = Tree {
                nodes: names.iter().map(|n| node(n)).collect(),
            };
            let id = writer
                .save(BlobKind::Tree, crate::tree::encode_tree(&tree))
                .expect("save");
            writer.finish().expect("finish");
            let snap = crate::snapshot::Snapshot {
                time_ns: 1,
                host: "h".into(),
                username: String::new(),
                tags: vec![],
                paths: vec![],
                source: "test".into(),
                parent: None,
                tree: id,
                summary: Default::default(),
                program: String::new(),
                info: Default::default(),
            };
            repo.save_snapshot(&snap).expect("snapshot");
            let r = repo.check(crate::CheckOptions::default()).expect("check");
            assert!(
                r.problems.iter().any(|p| p.kind == "tree"),
                "{names:?}: {:?}",
                r.problems
            );
        }
    }
}
