//! `prune`: free the data no snapshot references, safely against
//! concurrent backups (two-phase deletion, see `crate::gc`).

use super::refs::Refs;
use crate::backend::{FileKind, ObjectInfo};
use crate::blob::BlobKind;
use crate::error::{Error, Result};
use crate::gc::Plan;
use crate::id::{BlobId, IndexId, PackId};
use crate::index::{IndexFile, IndexPack};
use crate::pack::PackBlob;
use crate::repo::Repository;
use crate::writer::Writer;
use std::collections::{HashMap, HashSet};

/// Options for [`Repository::prune`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PruneOptions {
    /// Planned packs are deleted by a prune at least this long after they
    /// were planned (storage clock). 0 deletes in the same run when no
    /// backup is running.
    pub grace_secs: i64,
    /// Repack packs whose unused share of bytes is at least this (0..=1).
    pub repack_threshold: f64,
    /// Report only.
    pub dry_run: bool,
    /// Session markers that promise nothing (written by older versions,
    /// or unreadable) count as running backups for this long after they
    /// were stored. Current markers carry their own promise (see
    /// [`crate::gc::SessionOptions`]).
    pub stale_session_secs: i64,
}

impl Default for PruneOptions {
    fn default() -> Self {
        PruneOptions {
            grace_secs: 3600,
            repack_threshold: 0.5,
            dry_run: false,
            stale_session_secs: 86_400,
        }
    }
}

super::setters!(PruneOptions {
    grace_secs: i64,
    repack_threshold: f64,
    dry_run: bool,
    stale_session_secs: i64,
});

/// What prune did (or, with `dry_run`, would do).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct PruneReport {
    /// Blobs referenced by snapshots.
    pub referenced_blobs: u64,
    /// Packs newly planned for deletion (unused, repacked, or unindexed).
    pub packs_planned: u64,
    /// Bytes of those packs (freed once swept).
    pub bytes_planned: u64,
    /// Packs whose used blobs were copied into new packs.
    pub packs_repacked: u64,
    /// Bytes written into new packs by repacking.
    pub bytes_repacked: u64,
    /// Packs in storage that no index listed (leftovers of failed backups).
    pub packs_unindexed: u64,
    /// Planned packs deleted now.
    pub packs_deleted: u64,
    /// Bytes deleted now.
    pub bytes_deleted: u64,
    /// Planned packs kept: a newer snapshot refers to them, or an index
    /// file still lists them.
    pub packs_resurrected: u64,
    /// Plans still waiting for their grace period or running backups.
    pub plans_waiting: u64,
    /// Temporaries of interrupted writes deleted.
    pub leftovers_deleted: u64,
    /// Referenced blobs stored in more than one live pack; the copy kept
    /// was read back and verified first.
    pub duplicate_blobs: u64,
    /// Copies of referenced blobs that failed verification (damaged, or
    /// written by a client that is not trusted); never the copy kept.
    pub bad_copies: u64,
}

/// What one prune pass decides from (see `Repository::view`).
struct View {
    /// Deletion plans listed first; only these may be swept.
    plans: Vec<ObjectInfo>,
    /// Start times of the sessions running when listed.
    running: Vec<i64>,
    /// When the sessions were listed.
    now: i64,
    /// Blobs the snapshots listed after the sessions reference.
    refs: Refs,
    /// Index files in storage when the index was loaded.
    old_index: Vec<String>,
}

/// The copy of each referenced blob that prune keeps.
#[derive(Default)]
struct Keepers {
    /// Bytes of kept copies per pack.
    used: HashMap<PackId, u64>,
    /// Kept copies per pack.
    blobs: HashMap<PackId, Vec<(BlobId, crate::index::BlobLocation)>>,
}

impl Keepers {
    fn add(&mut self, id: BlobId, loc: crate::index::BlobLocation) {
        *self.used.entry(loc.pack).or_default() += u64::from(loc.length);
        self.blobs.entry(loc.pack).or_default().push((id, loc));
    }
}

fn now_ns() -> i64 {
    crate::snapshot::now_ns()
}

impl Repository {
    /// Plans unreferenced packs for deletion, repacks mostly unused ones,
    /// and deletes the packs of earlier plans that are due.
    ///
    /// ```
    /// # fn main() -> cairn::Result<()> {
    /// # use std::sync::Arc;
    /// # let opts = cairn::InitOptions::default().argon2(cairn::Argon2Params::insecure_for_tests());
    /// # let secret = cairn::Secret::passphrase("example");
    /// # let repo = cairn::Repository::init(Arc::new(cairn::ObjectBackend::memory()?), &secret, opts.clone())?;
    /// # let stream = cairn::StreamSource::from_reader("db/dump.sql", &b"CREATE TABLE t();"[..]);
    /// # let first = repo.backup(cairn::BackupOptions::default().streams(vec![stream]))?;
    /// repo.forget(cairn::ForgetOptions::default().ids(vec![first.id]))?;
    /// let report = repo.prune(cairn::PruneOptions::default().grace_secs(0))?;
    /// assert!(report.packs_deleted >= 1, "{report:?}");
    /// # Ok(())
    /// # }
    /// ```
    pub fn prune(&self, opts: PruneOptions) -> Result<PruneReport> {
        let opts = &opts;
        if !opts.dry_run {
            self.ensure_may_delete("prune")?;
        }
        let mut report = PruneReport::default();
        let v = self.view(opts)?;
        report.referenced_blobs = v.refs.len() as u64;
        let mut changed = self.sweep(opts, &v, &mut report)?;
        changed |= self.mark(opts, &v.refs, &mut report)?;
        if changed && !opts.dry_run {
            self.rewrite_index(&v.old_index)?;
        }
        if opts.grace_secs == 0 && !opts.dry_run {
            report.plans_waiting = 0;
            let v = self.view(opts)?;
            if self.sweep(opts, &v, &mut report)? {
                self.rewrite_index(&v.old_index)?;
            }
        }
        Ok(report)
    }

    /// Reads what prune decides from, in the order that makes a sweep
    /// safe against backups that start or finish meanwhile
    /// (docs/repository-format.md §12.3): deletion plans, then sessions,
    /// then snapshots, then the index. A backup whose marker is gone when
    /// the sessions are listed stored its snapshot before, so the snapshot
    /// listing that follows sees it; one that starts later saw every plan
    /// listed here, so it never relies on their packs.
    fn view(&self, opts: &PruneOptions) -> Result<View> {
        let plans = self.backend().list_info(FileKind::Plan)?;
        let now = now_ns();
        let running = self.running_sessions(opts, now)?;
        // Snapshots before the index: every blob of a listed snapshot is
        // in an index file written before it (ordering invariant).
        let (snaps, damaged) = self.readable_snapshots()?;
        if let Some(e) = damaged.first() {
            return Err(Error::corrupt(
                "snapshots",
                format!(
                    "{e}: prune deletes nothing while a snapshot's references are unknown; \
                     restore it from a copy, or if it is lost remove it with `cairn forget ID` \
                     ({} damaged in all)",
                    damaged.len()
                ),
            ));
        }
        self.reload_index_whole()?;
        self.ensure_no_missing_packs()?;
        let old_index = self.index_names()?;
        let refs = Refs::collect(self, &snaps)?;
        Ok(View {
            plans,
            running,
            now,
            refs,
            old_index,
        })
    }

    /// Names of the index files in storage.
    fn index_names(&self) -> Result<Vec<String>> {
        Ok(self
            .backend()
            .list(FileKind::Index)?
            .into_iter()
            .map(|(n, _)| n)
            .collect())
    }

    /// Reloads the index and fails if any index file could not be read
    /// (damaged, or a read that failed just now): prune decides what to
    /// delete from it, so it must be complete.
    fn reload_index_whole(&self) -> Result<()> {
        self.reload_index()?;
        let mut problems = self.index_problems();
        problems.extend(self.plan_problems());
        match problems.first() {
            None => Ok(()),
            Some(p) => Err(Error::corrupt(
                "index",
                format!(
                    "it could not be read completely ({p}); prune stops without deleting; \
                     run `cairn check`, then `cairn repair index`"
                ),
            )),
        }
    }

    /// Fails when a pack that the index lists as live is not in storage.
    /// The index then describes data that is gone (a lost pack, or an old
    /// index file copied back in): deciding what to delete from it could
    /// drop the surviving copies of those blobs, so prune deletes nothing.
    fn ensure_no_missing_packs(&self) -> Result<()> {
        let stored: HashSet<String> = self
            .backend()
            .list(FileKind::Pack)?
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        let missing: Vec<String> = self
            .index()
            .live_packs()
            .map(|(p, _, _)| p.to_hex())
            .filter(|n| !stored.contains(n))
            .collect();
        match missing.first() {
            None => Ok(()),
            Some(first) => Err(Error::Corrupt {
                what: format!("pack {first}"),
                detail: format!(
                    "listed in the index but missing from storage ({} pack(s) in all); prune \
                     deletes nothing while the index describes data that is gone: run `cairn \
                     check` to see what is affected, then `cairn repair index`",
                    missing.len()
                ),
            }),
        }
    }

    /// The sessions that may still be writing: their start times (storage
    /// clock). Markers of sessions that are over (ended, killed on this
    /// machine, or silent past their promise) are deleted unless deletions
    /// are refused; unreadable markers are kept and count as running until
    /// the stale limit.
    fn running_sessions(&self, opts: &PruneOptions, now: i64) -> Result<Vec<i64>> {
        let mut running = Vec::new();
        for s in crate::gc::sessions(self)? {
            if s.running(now, opts.stale_session_secs) {
                running.push(s.started_ns);
                continue;
            }
            if opts.dry_run || self.append_only() {
                continue;
            }
            tracing::info!(
                "removing the markers of finished backup session(s) {:?}",
                s.markers
            );
            for m in &s.markers {
                self.backend().delete(FileKind::Session, m)?;
            }
        }
        Ok(running)
    }

    /// Deletes the temporaries of interrupted writes: all of them when no
    /// backup may be running, else only those older than the stale limit
    /// (a running backup's temporary is about to become an object).
    fn remove_leftovers(
        &self,
        opts: &PruneOptions,
        idle: bool,
        stale_before: i64,
        report: &mut PruneReport,
    ) -> Result<()> {
        if opts.dry_run || self.append_only() {
            return Ok(());
        }
        for kind in [
            FileKind::Pack,
            FileKind::Index,
            FileKind::Snapshot,
            FileKind::Plan,
            FileKind::Session,
        ] {
            for o in self.backend().list_leftovers(kind)? {
                // A session's first marker is written before it can be
                // seen, so its temporary may belong to a backup that is
                // starting: removed only once its writer is gone from this
                // machine, or after a minute (a write takes milliseconds;
                // a writer frozen longer fails to place it, safely).
                let gone = || {
                    crate::backend::temporary_writer(&o.name)
                        .is_some_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists())
                };
                let due = match kind {
                    FileKind::Session => gone() || o.modified_ns < now_ns() - 60_000_000_000,
                    _ => idle || o.modified_ns < stale_before,
                };
                if due {
                    self.backend().delete(kind, &o.name)?;
                    report.leftovers_deleted += 1;
                }
            }
        }
        Ok(())
    }

    /// Deletes the packs of due plans, keeping any a snapshot still needs.
    fn sweep(&self, opts: &PruneOptions, v: &View, report: &mut PruneReport) -> Result<bool> {
        let refs = &v.refs;
        let stale_before = v.now - opts.stale_session_secs.saturating_mul(1_000_000_000);
        self.remove_leftovers(opts, v.running.is_empty(), stale_before, report)?;
        let mut changed = false;
        for info in &v.plans {
            if !plan_due(info, &v.running, v.now, opts.grace_secs) {
                report.plans_waiting += 1;
                continue;
            }
            if opts.dry_run {
                continue;
            }
            let plan = self.load_plan(&info.name)?;
            let planned: HashSet<PackId> = plan.packs.iter().map(|p| p.id).collect();
            let mut resurrect = IndexFile::default();
            for pack in &plan.packs {
                // A pack some index file still lists is live to every
                // reader (a rewrite after marking failed, or it was
                // resurrected): backups may have used it, so it stays.
                if !self.index().is_doomed(&pack.id) {
                    report.packs_resurrected += 1;
                    continue;
                }
                if self.still_needed(pack, &planned, refs)? {
                    resurrect.packs.push(pack.clone());
                    report.packs_resurrected += 1;
                } else {
                    self.backend().delete(FileKind::Pack, &pack.id.to_hex())?;
                    report.packs_deleted += 1;
                    report.bytes_deleted += pack.size;
                }
            }
            if !resurrect.packs.is_empty() {
                self.save_index_file(&resurrect)?;
            }
            self.backend().delete(FileKind::Plan, &info.name)?;
            changed = true;
        }
        Ok(changed)
    }

    /// True when a referenced blob of `pack` has no verified live copy
    /// outside the planned packs. The other copy is read back before it is
    /// relied on: a copy written by a client that is not trusted (or a
    /// damaged one) must not be the reason the good one is deleted.
    fn still_needed(
        &self,
        pack: &IndexPack,
        planned: &HashSet<PackId>,
        refs: &Refs,
    ) -> Result<bool> {
        for b in pack.blobs.iter().filter(|b| refs.contains(&b.id)) {
            let others: Vec<crate::index::BlobLocation> = {
                let index = self.index();
                index
                    .locations(&b.id)
                    .into_iter()
                    .filter(|l| !planned.contains(&l.pack) && !index.is_doomed(&l.pack))
                    .collect()
            };
            let mut kept = false;
            for l in &others {
                if self.copy_verifies(&b.id, l)? {
                    kept = true;
                    break;
                }
            }
            if !kept {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The copy of each referenced blob that prune keeps, by pack. A blob
    /// with one live copy keeps it; a blob with several keeps the first
    /// that reads back and verifies, so the others may go. When no copy
    /// verifies, prune stops: it cannot tell which copy to trust.
    fn keepers(&self, refs: &Refs, report: &mut PruneReport) -> Result<Keepers> {
        let mut keep = Keepers::default();
        let mut several = Vec::new();
        {
            let index = self.index();
            for (id, loc) in index.entries() {
                if index.is_doomed(&loc.pack) || !refs.contains(&id) {
                    continue;
                }
                if index.live_copies(&id) > 1 {
                    several.push(id);
                    continue;
                }
                keep.add(id, loc);
            }
        }
        several.sort_unstable();
        several.dedup();
        for id in several {
            let live: Vec<crate::index::BlobLocation> = {
                let index = self.index();
                index
                    .locations(&id)
                    .into_iter()
                    .filter(|l| !index.is_doomed(&l.pack))
                    .collect()
            };
            let mut chosen = None;
            for l in &live {
                if self.copy_verifies(&id, l)? {
                    chosen = Some(*l);
                    break;
                }
                report.bad_copies += 1;
            }
            let Some(loc) = chosen else {
                return Err(Error::corrupt(
                    format!("blob {id}"),
                    format!(
                        "none of its {} copies verifies; prune deletes nothing until this is \
                         resolved: run `cairn check --read-data` to see what is affected",
                        live.len()
                    ),
                ));
            };
            report.duplicate_blobs += 1;
            keep.add(id, loc);
        }
        Ok(keep)
    }

    /// Plans unused, mostly unused (after repacking) and unindexed packs.
    fn mark(&self, opts: &PruneOptions, refs: &Refs, report: &mut PruneReport) -> Result<bool> {
        let Keepers {
            used,
            blobs: keep_blobs,
        } = self.keepers(refs, report)?;
        let live: Vec<(PackId, BlobKind, u64)> = self.index().live_packs().copied().collect();
        let mut plan = Plan {
            marked_ns: now_ns(),
            packs: Vec::new(),
        };
        let mut to_repack = Vec::new();
        for (pack, kind, size) in &live {
            let u = used.get(pack).copied().unwrap_or(0);
            let unused_share = 1.0 - u as f64 / (*size).max(1) as f64;
            if u == 0 || unused_share >= opts.repack_threshold {
                if u > 0 {
                    to_repack.push((*pack, *kind));
                }
                plan.packs.push(self.index_pack_of(pack, *kind, *size));
                report.bytes_planned += size;
            }
        }
        for info in self.unindexed_packs()? {
            report.packs_unindexed += 1;
            report.bytes_planned += info.size;
            plan.packs.push(self.header_pack(&info));
        }
        report.packs_planned = plan.packs.len() as u64;
        report.packs_repacked = to_repack.len() as u64;
        if opts.dry_run || plan.packs.is_empty() {
            return Ok(false);
        }
        report.bytes_repacked = self.repack(&to_repack, &keep_blobs)?;
        self.save_plan(&plan)?;
        Ok(true)
    }

    /// An index entry for a live pack, from the in-memory index.
    fn index_pack_of(&self, pack: &PackId, kind: BlobKind, size: u64) -> IndexPack {
        let blobs = self
            .index()
            .entries()
            .filter(|(_, l)| l.pack == *pack)
            .map(|(id, l)| PackBlob {
                id,
                offset: l.offset,
                length: l.length,
                raw_len: l.raw_len,
            })
            .collect();
        IndexPack {
            id: *pack,
            kind,
            size,
            blobs,
        }
    }

    /// Packs in storage that neither an index file nor a plan lists.
    fn unindexed_packs(&self) -> Result<Vec<ObjectInfo>> {
        let index = self.index();
        let known: HashSet<PackId> = index.packs().iter().map(|(p, _, _)| *p).collect();
        Ok(self
            .backend()
            .list_info(FileKind::Pack)?
            .into_iter()
            .filter(|o| PackId::from_hex(&o.name).is_ok_and(|id| !known.contains(&id)))
            .collect())
    }

    /// A plan entry for an unindexed pack, with its blobs from its header
    /// when readable (so a late snapshot that uses them can keep it).
    fn header_pack(&self, info: &ObjectInfo) -> IndexPack {
        let id = PackId::from_hex(&info.name).unwrap_or_default();
        match self.read_pack_header_sized(&id, info.size) {
            Ok(h) => IndexPack {
                id,
                kind: h.kind,
                size: info.size,
                blobs: h.blobs,
            },
            Err(_) => IndexPack {
                id,
                kind: BlobKind::Data,
                size: info.size,
                blobs: Vec::new(),
            },
        }
    }

    /// Copies the referenced blobs of `packs` into new packs through a
    /// writer; returns the bytes of the new packs. The writer indexes them
    /// before `finish` returns, so every referenced blob stays reachable
    /// when the old packs are planned.
    fn repack(
        &self,
        packs: &[(PackId, BlobKind)],
        keep: &HashMap<PackId, Vec<(BlobId, crate::index::BlobLocation)>>,
    ) -> Result<u64> {
        if packs.is_empty() {
            return Ok(0);
        }
        let writer = Writer::start(self, 1, None);
        let copied = packs
            .iter()
            .try_for_each(|(pack, kind)| self.repack_one(&writer, *pack, *kind, keep));
        let written = writer.finish();
        copied?;
        Ok(written?.pack_bytes)
    }

    /// Hands the kept blobs of one pack to `writer`, each verified first.
    fn repack_one(
        &self,
        writer: &Writer,
        pack: PackId,
        kind: BlobKind,
        keep: &HashMap<PackId, Vec<(BlobId, crate::index::BlobLocation)>>,
    ) -> Result<()> {
        let bytes = self.backend().read(FileKind::Pack, &pack.to_hex())?;
        for (id, loc) in keep.get(&pack).into_iter().flatten() {
            let start = loc.offset as usize;
            let sealed = bytes
                .get(start..start + loc.length as usize)
                .ok_or_else(|| {
                    Error::corrupt(
                        format!("pack {pack}"),
                        format!("blob {id} lies outside the pack"),
                    )
                })?;
            // Copy only what verifies: a damaged blob stops prune and the
            // original pack stays.
            let what = format!("pack {pack} (blob {id} at offset {})", loc.offset);
            crate::blob::decode(self.keys(), kind, id, loc.raw_len, sealed, &what)?;
            writer.add_sealed(kind, *id, loc.raw_len, sealed.to_vec())?;
        }
        Ok(())
    }

    /// Replaces the index files listed in `old` by files describing every
    /// pack that no plan names. New files are stored before old ones are
    /// deleted.
    fn rewrite_index(&self, old: &[String]) -> Result<()> {
        // Rewriting from a partial index would drop the entries of every
        // file that failed to load: refuse instead.
        self.reload_index_whole()?;
        let planned: HashSet<PackId> = self
            .plans()?
            .into_iter()
            .flat_map(|(_, p)| p.packs.into_iter().map(|p| p.id))
            .collect();
        let supersedes: Vec<IndexId> = old
            .iter()
            .filter_map(|n| IndexId::from_hex(n).ok())
            .collect();
        let live: Vec<(PackId, BlobKind, u64)> = self
            .index()
            .live_packs()
            .filter(|(p, _, _)| !planned.contains(p))
            .copied()
            .collect();
        let mut file = IndexFile {
            supersedes,
            packs: Vec::new(),
        };
        let mut written = HashSet::new();
        let mut count = 0usize;
        for (pack, kind, size) in live {
            let p = self.index_pack_of(&pack, kind, size);
            count += p.blobs.len();
            file.packs.push(p);
            if count >= 65_536 {
                written.insert(self.save_index_file(&file)?.to_hex());
                file.packs.clear();
                count = 0;
            }
        }
        if !file.packs.is_empty() || written.is_empty() {
            written.insert(self.save_index_file(&file)?.to_hex());
        }
        for name in old.iter().filter(|n| !written.contains(*n)) {
            self.backend().delete(FileKind::Index, name)?;
        }
        self.reload_index()
    }
}

/// True when a plan may be swept: its grace period passed and every
/// running session started after it (storage clock).
fn plan_due(plan: &ObjectInfo, running_since: &[i64], now: i64, grace_secs: i64) -> bool {
    let grace_ok = now.saturating_sub(plan.modified_ns) >= grace_secs.saturating_mul(1_000_000_000);
    grace_ok && running_since.iter().all(|&start| start > plan.modified_ns)
}
