//! The in-memory index: loading it whole, and bringing it up to date for
//! a writer (plans first, then new index files).

use super::Repository;
use crate::backend::FileKind;
use crate::error::{Error, Result};
use crate::id::IndexId;
use crate::index::{IndexFile, MemIndex};
use rayon::prelude::*;

impl Repository {
    /// Reads every index file, and every deletion plan, into the
    /// in-memory index. Blobs of planned packs stay readable but are never
    /// used for deduplication.
    ///
    /// Plans are listed before index files: a plan swept between the two
    /// listings had its packs dropped from the index files first, so no
    /// pack a writer could use is missed either way.
    pub fn reload_index(&self) -> Result<()> {
        let plans = self.plans()?;
        let names = self.inner.backend.list(FileKind::Index)?;
        let loaded: Vec<Result<IndexFile>> = names
            .par_iter()
            .map(|(name, _)| self.load_index_file(&IndexId::from_hex(name)?))
            .collect();
        let mut files = Vec::new();
        let mut problems = Vec::new();
        for r in loaded {
            match r {
                Ok(f) => files.push(f),
                // A damaged index file makes its blobs unknown (reads name
                // them as missing); `check` reports it, `repair index`
                // rebuilds it, and prune refuses to run until then.
                Err(
                    e @ (Error::Corrupt { .. }
                    | Error::UnsupportedVersion { .. }
                    | Error::NotFound { .. }),
                ) => problems.push(e.to_string()),
                Err(e) => return Err(e),
            }
        }
        *self
            .inner
            .index_problems
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = problems;
        let mut idx = MemIndex::new();
        for f in files {
            for p in f.packs {
                idx.add_pack(p.id, p.kind, p.size, &p.blobs);
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (name, plan) in plans {
            for p in plan.packs {
                idx.add_doomed_pack(p.id, p.kind, p.size, &p.blobs);
            }
            seen.insert(name);
        }
        idx.compact();
        *self.index_mut() = idx;
        *self
            .inner
            .index_files
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = names.into_iter().map(|(n, _)| n).collect();
        *self
            .inner
            .plans_seen
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = seen;
        Ok(())
    }

    /// Brings the index up to date for a writer that has just stored its
    /// session marker: applies deletion plans written since the index was
    /// loaded, then loads new index files (all of them again when one that
    /// was loaded is gone: a prune rewrote the index, and packs it listed
    /// may be deleted). Plans come first, for the reason given at
    /// [`Repository::reload_index`].
    pub(crate) fn prepare_to_write(&self) -> Result<()> {
        self.refresh_plans()?;
        let names = self.inner.backend.list(FileKind::Index)?;
        let new: Vec<String> = {
            let known = self
                .inner
                .index_files
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let now: std::collections::HashSet<&String> = names.iter().map(|(n, _)| n).collect();
            if known.iter().any(|n| !now.contains(n)) {
                drop(known);
                return self.reload_index();
            }
            names
                .iter()
                .map(|(n, _)| n.clone())
                .filter(|n| !known.contains(n))
                .collect()
        };
        for name in new {
            let file = match self.load_index_file(&IndexId::from_hex(&name)?) {
                Ok(f) => f,
                Err(e) if e.is_not_found() => return self.reload_index(),
                Err(e) => return Err(e),
            };
            let mut idx = self.index_mut();
            for p in file.packs {
                idx.add_pack(p.id, p.kind, p.size, &p.blobs);
            }
            drop(idx);
            self.inner
                .index_files
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(name);
        }
        Ok(())
    }

    /// Applies deletion plans written since the index was loaded (backups
    /// call this after writing their session marker).
    pub(crate) fn refresh_plans(&self) -> Result<()> {
        let listed = self.inner.backend.list(FileKind::Plan)?;
        let mut seen = self
            .inner
            .plans_seen
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for (name, _) in listed {
            if seen.contains(&name) {
                continue;
            }
            let plan = match self.load_plan(&name) {
                Ok(p) => p,
                // Swept since the listing: its packs may be gone while our
                // index still lists them live. Start over from storage,
                // whose index files no longer name them.
                Err(e) if e.is_not_found() => {
                    drop(seen);
                    return self.reload_index();
                }
                // A plan that cannot be read names packs no index file
                // lists any more (prune rewrote the index after storing
                // it), so nothing here could use them: note it and go on.
                Err(e @ (Error::Corrupt { .. } | Error::UnsupportedVersion { .. })) => {
                    self.note_plan_problem(e.to_string());
                    seen.insert(name);
                    continue;
                }
                Err(e) => return Err(e),
            };
            let mut idx = self.index_mut();
            for p in &plan.packs {
                idx.add_doomed_pack(p.id, p.kind, p.size, &p.blobs);
            }
            seen.insert(name);
        }
        Ok(())
    }

    /// Index files that could not be read at the last load (empty when
    /// the index is sound).
    pub fn index_problems(&self) -> Vec<String> {
        self.inner
            .index_problems
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Loads and decrypts one index file.
    pub fn load_index_file(&self, id: &IndexId) -> Result<IndexFile> {
        self.load(&id.to_hex())
    }

    /// Stores an index file. Its packs must already be stored.
    pub fn save_index_file(&self, file: &IndexFile) -> Result<IndexId> {
        let name = self.save(file)?;
        let id = IndexId::from_hex(&name)?;
        self.inner
            .index_files
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name);
        Ok(id)
    }
}
