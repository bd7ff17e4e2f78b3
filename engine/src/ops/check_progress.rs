//! Rotating data checks: each `check --read-data-rotate M` reads the next
//! 1/M of the packs (sorted by id), continuing where the previous one
//! stopped, so M daily runs read every pack once. Where it stopped is a
//! `checks/<id>` record in the repository (envelope `R`, version 1):
//! create-only, so append-only keys can write it too; the newest record
//! (by `time_ns`) wins.

use crate::backend::FileKind;
use crate::error::Result;
use crate::id::PackId;
use crate::repo::Repository;
use serde::{Deserialize, Serialize};

/// Version of check progress records this build writes.
pub const CHECK_PROGRESS_VERSION: u32 = 1;

/// Where a rotating check stopped.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckProgress {
    /// When the check that wrote it ran (Unix ns, writer's clock).
    pub time_ns: i64,
    /// Rotations completed so far (a rotation reads every pack once).
    pub cycle: u64,
    /// The last pack read in the current rotation (packs sorted by id);
    /// `None` at the start of a rotation.
    pub cursor: Option<PackId>,
    /// Packs read in the current rotation so far.
    pub read_in_cycle: u64,
}

/// The packs one rotating run reads, and the progress it leaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rotation {
    /// Packs to read, in id order.
    pub packs: Vec<PackId>,
    /// The record to store after reading them.
    pub next: CheckProgress,
}

/// Chooses the next 1/`m` of `packs` (with sizes) after `prev`, capped at
/// `max_bytes` (at least one pack is read). The rotation ends at the last
/// pack; the next run starts the next rotation from the first.
pub fn rotate(
    mut packs: Vec<(PackId, u64)>,
    prev: &CheckProgress,
    m: u32,
    max_bytes: Option<u64>,
    now_ns: i64,
) -> Rotation {
    packs.sort();
    let per_run = packs.len().div_ceil(m.max(1) as usize).max(1);
    let start = match prev.cursor {
        Some(c) => packs.partition_point(|(p, _)| *p <= c),
        None => 0,
    };
    let mut chosen = Vec::new();
    let mut bytes = 0u64;
    for (p, size) in packs.iter().skip(start) {
        if chosen.len() >= per_run {
            break;
        }
        if let Some(cap) = max_bytes {
            if !chosen.is_empty() && bytes + size > cap {
                break;
            }
        }
        bytes += size;
        chosen.push(*p);
    }
    let done = start + chosen.len() >= packs.len();
    let next = if done {
        CheckProgress {
            time_ns: now_ns,
            cycle: prev.cycle + 1,
            cursor: None,
            read_in_cycle: 0,
        }
    } else {
        CheckProgress {
            time_ns: now_ns,
            cycle: prev.cycle,
            cursor: chosen.last().copied().or(prev.cursor),
            read_in_cycle: prev.read_in_cycle + chosen.len() as u64,
        }
    };
    Rotation {
        packs: chosen,
        next,
    }
}

impl Repository {
    /// The newest check progress record; unreadable ones are skipped with a
    /// warning (a rotation then restarts, which only re-reads packs).
    pub fn check_progress(&self) -> Result<CheckProgress> {
        let mut best = CheckProgress::default();
        for (name, _) in self.backend().list(FileKind::Check)? {
            match self.load::<CheckProgress>(&name) {
                Ok(p) if p.time_ns >= best.time_ns => best = p,
                Ok(_) => {}
                Err(e) => tracing::warn!("{e}; ignored"),
            }
        }
        Ok(best)
    }

    /// Stores a check progress record (create-only, content-addressed).
    pub(crate) fn save_check_progress(&self, p: &CheckProgress) -> Result<()> {
        self.save(p).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack(n: u8) -> (PackId, u64) {
        (PackId([n; 32]), 100)
    }

    #[test]
    fn m_runs_read_every_pack_exactly_once_then_start_again() {
        let packs: Vec<_> = (1..=10).map(pack).collect();
        let mut prev = CheckProgress::default();
        let mut seen = Vec::new();
        for run in 0..3 {
            let r = rotate(packs.clone(), &prev, 3, None, run);
            seen.extend(r.packs.clone());
            prev = r.next;
        }
        seen.sort();
        assert_eq!(seen, packs.iter().map(|(p, _)| *p).collect::<Vec<_>>());
        assert_eq!(prev.cycle, 1);
        assert_eq!(prev.cursor, None);
        let again = rotate(packs.clone(), &prev, 3, None, 9);
        assert_eq!(
            again.packs[0],
            PackId([1; 32]),
            "the next rotation starts over"
        );
    }

    #[test]
    fn a_byte_budget_caps_a_run_but_reads_at_least_one_pack() {
        let packs: Vec<_> = (1..=4).map(pack).collect();
        let r = rotate(packs.clone(), &CheckProgress::default(), 1, Some(250), 0);
        assert_eq!(r.packs.len(), 2);
        assert_eq!(r.next.cursor, Some(PackId([2; 32])));
        let r = rotate(packs, &CheckProgress::default(), 1, Some(10), 0);
        assert_eq!(r.packs.len(), 1);
    }
}
