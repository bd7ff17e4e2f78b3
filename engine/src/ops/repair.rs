//! `repair index`: rebuild the index from the pack headers.

use crate::backend::FileKind;
use crate::error::Result;
use crate::id::{IndexId, PackId};
use crate::index::{IndexFile, IndexPack};
use crate::repo::Repository;
use rayon::prelude::*;
use std::collections::HashSet;

/// Options for [`Repository::repair_index`] (none yet).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct RepairOptions {}

/// What a repair did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct RepairReport {
    /// Packs whose headers were read into the new index.
    pub packs_indexed: u64,
    /// Blobs listed in the new index.
    pub blobs_indexed: u64,
    /// Packs whose header could not be read (with the reason).
    pub packs_unreadable: Vec<String>,
    /// Old index files replaced (deleted unless append-only).
    pub index_files_replaced: u64,
    /// Deletion plans that could not be read, removed once their packs
    /// were indexed again.
    pub damaged_plans_removed: u64,
}

impl Repository {
    /// Reads the header of every pack in storage (except packs a deletion
    /// plan names) and writes index files listing them all; then deletes
    /// the old index files (kept in append-only sessions).
    ///
    /// ```
    /// # fn main() -> cairn::Result<()> {
    /// # use std::sync::Arc;
    /// # let opts = cairn::InitOptions::default().argon2(cairn::Argon2Params::insecure_for_tests());
    /// # let secret = cairn::Secret::passphrase("example");
    /// # let repo = cairn::Repository::init(Arc::new(cairn::ObjectBackend::memory()?), &secret, opts.clone())?;
    /// # let stream = cairn::StreamSource::from_reader("db/dump.sql", &b"CREATE TABLE t();"[..]);
    /// # let first = repo.backup(cairn::BackupOptions::default().streams(vec![stream]))?;
    /// let report = repo.repair_index(cairn::RepairOptions::default())?;
    /// assert!(report.packs_indexed >= 1);
    /// assert!(repo.check(cairn::CheckOptions::default())?.is_clean());
    /// # Ok(())
    /// # }
    /// ```
    pub fn repair_index(&self, _opts: RepairOptions) -> Result<RepairReport> {
        let readable = self.plans()?;
        let readable_names: HashSet<&String> = readable.iter().map(|(n, _)| n).collect();
        let damaged_plans: Vec<String> = self
            .backend()
            .list(FileKind::Plan)?
            .into_iter()
            .map(|(n, _)| n)
            .filter(|n| !readable_names.contains(n))
            .filter(|n| {
                matches!(
                    self.load_plan(n),
                    Err(crate::Error::Corrupt { .. } | crate::Error::UnsupportedVersion { .. })
                )
            })
            .collect();
        let planned: HashSet<PackId> = readable
            .iter()
            .flat_map(|(_, p)| p.packs.iter().map(|p| p.id))
            .collect();
        let old: Vec<String> = self
            .backend()
            .list(FileKind::Index)?
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        let packs: Vec<(PackId, u64)> = self
            .backend()
            .list(FileKind::Pack)?
            .into_iter()
            .filter_map(|(n, s)| PackId::from_hex(&n).ok().map(|id| (id, s)))
            .filter(|(id, _)| !planned.contains(id))
            .collect();
        let read: Vec<std::result::Result<IndexPack, String>> = packs
            .par_iter()
            .map(|(id, size)| {
                self.read_pack_header_sized(id, *size)
                    .map(|h| IndexPack {
                        id: *id,
                        kind: h.kind,
                        size: *size,
                        blobs: h.blobs,
                    })
                    .map_err(|e| format!("pack {id}: {e}"))
            })
            .collect();
        let mut report = RepairReport::default();
        let mut file = IndexFile {
            supersedes: old
                .iter()
                .filter_map(|n| IndexId::from_hex(n).ok())
                .collect(),
            packs: Vec::new(),
        };
        let mut written = HashSet::new();
        for r in read {
            match r {
                Ok(p) => {
                    report.packs_indexed += 1;
                    report.blobs_indexed += p.blobs.len() as u64;
                    file.packs.push(p);
                    if file.blob_count() >= 65_536 {
                        written.insert(self.save_index_file(&file)?.to_hex());
                        file.packs.clear();
                    }
                }
                Err(e) => report.packs_unreadable.push(e),
            }
        }
        if !file.packs.is_empty() || written.is_empty() {
            written.insert(self.save_index_file(&file)?.to_hex());
        }
        report.index_files_replaced = old.iter().filter(|n| !written.contains(*n)).count() as u64;
        if !self.append_only() {
            for name in old.iter().filter(|n| !written.contains(*n)) {
                self.backend().delete(FileKind::Index, name)?;
            }
            // Damaged plans: their packs were indexed again above.
            for name in &damaged_plans {
                self.backend().delete(FileKind::Plan, name)?;
                report.damaged_plans_removed += 1;
            }
        }
        self.reload_index()?;
        Ok(report)
    }
}
