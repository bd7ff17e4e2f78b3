//! Deletion plans, as readers and writers see them (prune writes them,
//! see `ops::prune` and `gc`).

use super::Repository;
use crate::backend::FileKind;
use crate::error::{Error, Result};
use rayon::prelude::*;

impl Repository {
    /// All readable deletion plans. A plan swept between the listing and
    /// the read is skipped: its packs are gone, or listed again in an index
    /// file. A damaged plan is skipped too and named by
    /// [`Repository::plan_problems`]: prune then refuses to run, and
    /// `repair index` indexes its packs again and removes it.
    pub(crate) fn plans(&self) -> Result<Vec<(String, crate::gc::Plan)>> {
        let names = self.inner.backend.list(FileKind::Plan)?;
        let loaded: Vec<Result<Option<(String, crate::gc::Plan)>>> = names
            .par_iter()
            .map(|(n, _)| match self.load_plan(n) {
                Ok(p) => Ok(Some((n.clone(), p))),
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(e),
            })
            .collect();
        let mut out = Vec::new();
        let mut problems = Vec::new();
        for r in loaded {
            match r {
                Ok(Some(p)) => out.push(p),
                Ok(None) => {}
                Err(e @ (Error::Corrupt { .. } | Error::UnsupportedVersion { .. })) => {
                    problems.push(e.to_string())
                }
                Err(e) => return Err(e),
            }
        }
        *self
            .inner
            .plan_problems
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = problems;
        Ok(out)
    }

    /// Deletion plans that could not be read at the last listing.
    pub(crate) fn plan_problems(&self) -> Vec<String> {
        self.inner
            .plan_problems
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(super) fn note_plan_problem(&self, p: String) {
        let mut v = self
            .inner
            .plan_problems
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if !v.contains(&p) {
            v.push(p);
        }
    }

    /// Loads one deletion plan.
    pub(crate) fn load_plan(&self, name: &str) -> Result<crate::gc::Plan> {
        self.load(name)
    }

    /// Stores a deletion plan; returns its name.
    pub(crate) fn save_plan(&self, plan: &crate::gc::Plan) -> Result<String> {
        self.save(plan)
    }
}
