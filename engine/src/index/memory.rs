//! Compact in-memory dedup index: 48 bytes per blob.
//!
//! Entries live in a few sorted runs (binary-searched) plus a small hash map
//! of the newest entries. When the map fills it becomes a run, and runs of
//! similar size merge, so lookups stay logarithmic while the steady-state
//! cost stays at exactly one 48-byte [`Entry`] per blob.

use crate::blob::BlobKind;
use crate::id::{BlobId, PackId};
use std::collections::HashMap;

/// One indexed blob: 32 + 4 × 4 = 48 bytes, no padding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
struct Entry {
    id: [u8; 32],
    pack: u32,
    offset: u32,
    length: u32,
    raw_len: u32,
}

/// Where a blob is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlobLocation {
    /// The pack.
    pub pack: PackId,
    /// Blob kind (from its pack).
    pub kind: BlobKind,
    /// Offset of the sealed blob in the pack.
    pub offset: u32,
    /// Sealed length.
    pub length: u32,
    /// Plaintext length.
    pub raw_len: u32,
}

const FRESH_LIMIT: usize = 16 * 1024;

/// The in-memory index.
///
/// Every location of a blob is kept: the first one loaded sits in the
/// runs (or the fresh map), any further copy (two backups that stored the
/// same chunk at once, or a copy written by a client that is not trusted)
/// in `extra`. Nothing that decides what to delete may trust one location
/// blindly: prune verifies the copy it keeps before it drops another, and
/// readers fall back to the other copies when one fails verification.
#[derive(Default)]
pub struct MemIndex {
    packs: Vec<(PackId, BlobKind, u64)>,
    /// Per pack slot: named by a deletion plan. Its blobs can be read but
    /// are never used for deduplication, even when an index file lists
    /// the pack too (a prune that planned it has not rewritten the index
    /// yet): a backup that saw the plan must not rely on the pack.
    planned: Vec<bool>,
    /// Per pack slot: listed by an index file.
    listed: Vec<bool>,
    pack_pos: HashMap<PackId, u32>,
    runs: Vec<Vec<Entry>>,
    fresh: HashMap<[u8; 32], Entry>,
    /// Further locations of blobs whose first location is in `runs` or
    /// `fresh` (rare: empty in a repository without duplicates).
    extra: HashMap<[u8; 32], Vec<Entry>>,
}

impl MemIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a pack and returns its slot, noting whether an index file
    /// lists it or a plan names it (or both).
    fn pack_slot(&mut self, pack: PackId, kind: BlobKind, size: u64, planned: bool) -> u32 {
        let p = match self.pack_pos.get(&pack) {
            Some(&p) => p,
            None => {
                let p = self.packs.len() as u32;
                self.packs.push((pack, kind, size));
                self.planned.push(false);
                self.listed.push(false);
                self.pack_pos.insert(pack, p);
                p
            }
        };
        match planned {
            true => self.planned[p as usize] = true,
            false => self.listed[p as usize] = true,
        }
        p
    }

    /// Adds all blobs of one live pack. Blobs already indexed elsewhere
    /// gain this pack as a further location.
    pub fn add_pack(
        &mut self,
        pack: PackId,
        kind: BlobKind,
        size: u64,
        blobs: &[crate::pack::PackBlob],
    ) {
        self.add(pack, kind, size, blobs, false);
    }

    /// Adds the blobs of a pack named by a deletion plan: readable, never
    /// used to deduplicate.
    pub fn add_doomed_pack(
        &mut self,
        pack: PackId,
        kind: BlobKind,
        size: u64,
        blobs: &[crate::pack::PackBlob],
    ) {
        self.add(pack, kind, size, blobs, true);
    }

    /// True when a plan names this pack and no index file lists it.
    pub fn is_doomed(&self, pack: &PackId) -> bool {
        self.pack_pos
            .get(pack)
            .is_some_and(|&p| self.slot_doomed(p))
    }

    /// True when a plan names this pack (listed by an index file or not).
    pub fn is_planned(&self, pack: &PackId) -> bool {
        self.pack_pos
            .get(pack)
            .is_some_and(|&p| self.planned[p as usize])
    }

    fn slot_doomed(&self, p: u32) -> bool {
        let p = p as usize;
        self.planned.get(p).copied().unwrap_or(false)
            && !self.listed.get(p).copied().unwrap_or(false)
    }

    fn add(
        &mut self,
        pack: PackId,
        kind: BlobKind,
        size: u64,
        blobs: &[crate::pack::PackBlob],
        doomed: bool,
    ) {
        let p = self.pack_slot(pack, kind, size, doomed);
        for b in blobs {
            let e = Entry {
                id: b.id.0,
                pack: p,
                offset: b.offset,
                length: b.length,
                raw_len: b.raw_len,
            };
            let Some(first) = self.find(&b.id).copied() else {
                self.fresh.insert(b.id.0, e);
                if self.fresh.len() >= FRESH_LIMIT {
                    self.flush_fresh();
                }
                continue;
            };
            let same = |x: &Entry| (x.pack, x.offset, x.length) == (e.pack, e.offset, e.length);
            let more = self.extra.entry(b.id.0).or_default();
            if !same(&first) && !more.iter().any(same) {
                more.push(e);
            }
            if more.is_empty() {
                self.extra.remove(&b.id.0);
            }
        }
    }

    /// Turns the fresh map into a sorted run, merging runs of similar size.
    fn flush_fresh(&mut self) {
        let mut run: Vec<Entry> = self.fresh.drain().map(|(_, e)| e).collect();
        run.sort_unstable_by_key(|e| e.id);
        self.fresh.shrink_to(FRESH_LIMIT);
        self.runs.push(run);
        while self.runs.len() >= 2 {
            let n = self.runs.len();
            if self.runs[n - 2].len() > 2 * self.runs[n - 1].len() {
                break;
            }
            let b = self.runs.pop().unwrap_or_default();
            let a = self.runs.pop().unwrap_or_default();
            self.runs.push(merge(a, b));
        }
    }

    fn find(&self, id: &BlobId) -> Option<&Entry> {
        if let Some(e) = self.fresh.get(&id.0) {
            return Some(e);
        }
        self.runs.iter().find_map(|run| {
            run.binary_search_by(|e| e.id.cmp(&id.0))
                .ok()
                .map(|i| &run[i])
        })
    }

    /// Listed by an index file (possibly planned too): prune's notion of
    /// a live pack.
    fn is_live(&self, e: &Entry) -> bool {
        !self.slot_doomed(e.pack)
    }

    /// Not named by any plan: usable for new references.
    fn is_usable(&self, e: &Entry) -> bool {
        !self.planned.get(e.pack as usize).copied().unwrap_or(false)
    }

    /// Read preference: unplanned copies, then listed ones, then the rest.
    fn rank(&self, e: &Entry) -> u8 {
        match (self.is_usable(e), self.is_live(e)) {
            (true, _) => 0,
            (false, true) => 1,
            (false, false) => 2,
        }
    }

    fn location(&self, e: &Entry) -> Option<BlobLocation> {
        let (pack, kind, _) = *self.packs.get(e.pack as usize)?;
        Some(BlobLocation {
            pack,
            kind,
            offset: e.offset,
            length: e.length,
            raw_len: e.raw_len,
        })
    }

    /// Every entry of one blob: the first location, then the others.
    fn all_of(&self, id: &BlobId) -> impl Iterator<Item = &Entry> {
        let first = self.find(id);
        let more = first
            .and_then(|_| self.extra.get(&id.0))
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        first.into_iter().chain(more)
    }

    /// True when the blob is stored in a pack no plan names (usable for
    /// new references: deduplication and unchanged-file reuse).
    pub fn contains(&self, id: &BlobId) -> bool {
        self.all_of(id).any(|e| self.is_usable(e))
    }

    /// Where the blob is stored: the first copy loaded in a pack no plan
    /// names, else one an index file lists, else a planned one.
    pub fn get(&self, id: &BlobId) -> Option<BlobLocation> {
        let best = self.all_of(id).min_by_key(|e| self.rank(e))?;
        self.location(best)
    }

    /// Every location of the blob, in read preference (see
    /// [`MemIndex::get`]), load order among equals.
    pub fn locations(&self, id: &BlobId) -> Vec<BlobLocation> {
        let mut all: Vec<&Entry> = self.all_of(id).collect();
        all.sort_by_key(|e| self.rank(e));
        all.into_iter().filter_map(|e| self.location(e)).collect()
    }

    /// Number of live copies of the blob.
    pub fn live_copies(&self, id: &BlobId) -> usize {
        self.all_of(id).filter(|e| self.is_live(e)).count()
    }

    /// Number of blobs with more than one location.
    pub fn duplicated(&self) -> usize {
        self.extra.len()
    }

    /// Number of blobs.
    pub fn len(&self) -> usize {
        self.fresh.len() + self.runs.iter().map(Vec::len).sum::<usize>()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of packs.
    pub fn pack_count(&self) -> usize {
        self.packs.len()
    }

    /// All packs with kind and size (including planned ones).
    pub fn packs(&self) -> &[(PackId, BlobKind, u64)] {
        &self.packs
    }

    /// Packs an index file lists (planned or not).
    pub fn live_packs(&self) -> impl Iterator<Item = &(PackId, BlobKind, u64)> {
        self.packs
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.slot_doomed(*i as u32))
            .map(|(_, p)| p)
    }

    /// Every location of every blob (order unspecified; a blob stored in
    /// several packs appears once per location).
    pub fn entries(&self) -> impl Iterator<Item = (BlobId, BlobLocation)> + '_ {
        self.fresh
            .values()
            .chain(self.runs.iter().flatten())
            .chain(self.extra.values().flatten())
            .filter_map(|e| Some((BlobId(e.id), self.location(e)?)))
    }

    /// Bytes held by blob entries (excluding the bounded fresh map and the
    /// pack table): exactly 48 per blob in sorted runs.
    pub fn entry_bytes(&self) -> usize {
        self.runs.iter().map(|r| r.capacity()).sum::<usize>() * std::mem::size_of::<Entry>()
    }

    /// Estimated total heap bytes, including the fresh map and pack table.
    pub fn memory_bytes(&self) -> usize {
        let fresh = self.fresh.capacity() * (std::mem::size_of::<Entry>() + 32 + 1);
        let extra: usize = self
            .extra
            .values()
            .map(|v| 32 + 24 + v.capacity() * std::mem::size_of::<Entry>())
            .sum();
        let packs = self.packs.capacity() * 50 + self.pack_pos.capacity() * 37;
        self.entry_bytes() + fresh + extra + packs
    }

    /// Plaintext bytes of all data blobs (each blob once).
    pub fn data_raw_bytes(&self) -> u64 {
        let is_data = |e: &Entry| {
            matches!(
                self.packs.get(e.pack as usize),
                Some((_, BlobKind::Data, _))
            )
        };
        self.fresh
            .values()
            .chain(self.runs.iter().flatten())
            .filter(|e| is_data(e))
            .map(|e| u64::from(e.raw_len))
            .sum()
    }

    /// Compacts everything into one sorted run (after loading).
    pub fn compact(&mut self) {
        self.flush_fresh();
        while self.runs.len() >= 2 {
            let b = self.runs.pop().unwrap_or_default();
            let a = self.runs.pop().unwrap_or_default();
            self.runs.push(merge(a, b));
        }
        for r in &mut self.runs {
            r.shrink_to_fit();
        }
    }
}

fn merge(a: Vec<Entry>, b: Vec<Entry>) -> Vec<Entry> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].id.cmp(&b[j].id) {
            std::cmp::Ordering::Less => {
                out.push(a[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(b[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                // Not reached: a blob already indexed goes to `extra`.
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack::PackBlob;

    fn blob(i: u32) -> PackBlob {
        let id = *blake3::hash(&i.to_le_bytes()).as_bytes();
        PackBlob {
            id: BlobId(id),
            offset: i,
            length: i + 1,
            raw_len: i + 2,
        }
    }

    #[test]
    fn entry_is_48_bytes() {
        assert_eq!(std::mem::size_of::<Entry>(), 48);
    }

    #[test]
    fn lookups_survive_runs_and_merges() {
        let mut idx = MemIndex::new();
        let n = 100_000u32;
        for chunk in 0..(n / 1000) {
            let blobs: Vec<_> = (chunk * 1000..(chunk + 1) * 1000).map(blob).collect();
            idx.add_pack(PackId([chunk as u8; 32]), BlobKind::Data, 1, &blobs);
        }
        assert_eq!(idx.len(), n as usize);
        for i in (0..n).step_by(97) {
            let b = blob(i);
            let loc = idx.get(&b.id).expect("present");
            assert_eq!((loc.offset, loc.length, loc.raw_len), (i, i + 1, i + 2));
        }
        assert!(!idx.contains(&BlobId([0xee; 32])));
        idx.compact();
        assert_eq!(idx.len(), n as usize);
        assert_eq!(idx.entry_bytes(), 48 * n as usize);
        assert!(idx.get(&blob(4242).id).is_some());
    }

    #[test]
    fn planned_packs_are_readable_but_never_used_for_dedup() {
        let mut idx = MemIndex::new();
        idx.add_doomed_pack(PackId([9; 32]), BlobKind::Data, 1, &[blob(1), blob(2)]);
        assert!(
            !idx.contains(&blob(1).id),
            "no dedup against a planned pack"
        );
        assert_eq!(
            idx.get(&blob(1).id).map(|l| l.pack),
            Some(PackId([9; 32])),
            "still readable"
        );
        assert!(idx.is_doomed(&PackId([9; 32])));
        idx.add_pack(PackId([3; 32]), BlobKind::Data, 1, &[blob(1)]);
        assert!(idx.contains(&blob(1).id));
        assert_eq!(
            idx.get(&blob(1).id).map(|l| l.pack),
            Some(PackId([3; 32])),
            "live copy preferred"
        );
        idx.compact();
        assert_eq!(
            idx.get(&blob(1).id).map(|l| l.pack),
            Some(PackId([3; 32])),
            "after compaction too"
        );
        assert_eq!(idx.get(&blob(2).id).map(|l| l.pack), Some(PackId([9; 32])));
    }

    #[test]
    fn every_location_is_kept_and_live_ones_come_first() {
        let mut idx = MemIndex::new();
        idx.add_pack(PackId([1; 32]), BlobKind::Data, 1, &[blob(1)]);
        idx.add_pack(PackId([2; 32]), BlobKind::Data, 1, &[blob(1)]);
        // The same pack listed again (two index files) adds nothing.
        idx.add_pack(PackId([2; 32]), BlobKind::Data, 1, &[blob(1)]);
        assert_eq!(idx.len(), 1);
        assert_eq!(idx.duplicated(), 1);
        assert_eq!(idx.get(&blob(1).id).map(|l| l.pack), Some(PackId([1; 32])));
        let packs: Vec<PackId> = idx.locations(&blob(1).id).iter().map(|l| l.pack).collect();
        assert_eq!(packs, vec![PackId([1; 32]), PackId([2; 32])]);
        assert_eq!(idx.entries().count(), 2, "entries list every location");
        idx.add_doomed_pack(PackId([1; 32]), BlobKind::Data, 1, &[]);
        // A plan does not doom a pack an index file lists, but its copies
        // are no longer used for new references, and reads prefer others.
        assert!(!idx.is_doomed(&PackId([1; 32])));
        assert!(idx.is_planned(&PackId([1; 32])));
        assert_eq!(idx.get(&blob(1).id).map(|l| l.pack), Some(PackId([2; 32])));
        assert!(idx.contains(&blob(1).id), "the copy in pack 2 is usable");
        idx.add_doomed_pack(PackId([2; 32]), BlobKind::Data, 1, &[]);
        assert!(!idx.contains(&blob(1).id), "no usable copy is left");
        assert!(idx.get(&blob(1).id).is_some(), "but it still reads");
        let mut idx2 = MemIndex::new();
        idx2.add_doomed_pack(PackId([7; 32]), BlobKind::Data, 1, &[blob(3)]);
        idx2.add_pack(PackId([8; 32]), BlobKind::Data, 1, &[blob(3)]);
        let packs: Vec<PackId> = idx2.locations(&blob(3).id).iter().map(|l| l.pack).collect();
        assert_eq!(packs, vec![PackId([8; 32]), PackId([7; 32])], "live first");
        idx2.compact();
        assert_eq!(idx2.get(&blob(3).id).map(|l| l.pack), Some(PackId([8; 32])));
    }
}
