//! The FastCDC 2020 cut-point search, four lanes at a time.
//!
//! Gives exactly the cut points of `fastcdc::v2020::cut_gear` (the tests
//! compare both), because moved boundaries would stop new backups from
//! deduplicating against stored data. It is faster because one rolling
//! hash is a chain of dependent shifts and adds: the CPU waits on each step.
//! The hash at a position depends only on the 64 bytes before it (each pair
//! shifts it by two bits, so 32 pairs push a byte out), so four stretches
//! of the input can be hashed side by side, each started 32 pairs early.
//! When a stretch finds a candidate, the round it belongs to is scanned
//! again in order, which finds the first candidate exactly as the
//! sequential loop does.

use fastcdc::v2020::cut_gear;

/// Below this average chunk size a chunk's search is too short for rounds
/// to pay (measured: the `database` profile ran 13% slower with them), so
/// the crate's own loop runs.
const LANES_FROM_AVG: usize = 256 * 1024;
/// Independent hash chains per round.
const LANES: usize = 4;
/// Byte pairs each lane hashes per round.
const BLOCK: usize = 2048;
/// Pairs after which a byte has left the 64-bit hash (31 would do: the
/// next step shifts the oldest pair out before any test).
const WINDOW: usize = 32;

/// The gear tables and the two masks (strict before the average size,
/// relaxed after it).
pub(super) struct Gear<'a> {
    pub gear: &'a [u64; 256],
    pub gear_ls: &'a [u64; 256],
    pub mask_s: u64,
    pub mask_l: u64,
}

/// One phase of the search: pairs `from..to` tested against one mask.
struct Phase<'a> {
    src: &'a [u8],
    /// First pair hashed at all (`min_size / 2`); the hash is 0 before it.
    start: usize,
    mask: u64,
    mask_ls: u64,
}

impl Gear<'_> {
    /// Length of the next chunk of `source`; the same value as the count
    /// `cut_gear` returns for these sizes, masks and tables.
    pub fn cut(&self, source: &[u8], min_size: usize, avg_size: usize, max_size: usize) -> usize {
        if avg_size < LANES_FROM_AVG {
            let (ms, ml) = (self.mask_s, self.mask_l);
            let (g, gls) = (&self.gear[..], &self.gear_ls[..]);
            let (_, len) = cut_gear(
                source,
                min_size,
                avg_size,
                max_size,
                ms,
                ml,
                ms << 1,
                ml << 1,
                g,
                gls,
            );
            return len;
        }
        let mut remaining = source.len();
        if remaining <= min_size {
            return remaining;
        }
        let mut center = avg_size;
        if remaining > max_size {
            remaining = max_size;
        } else if remaining < center {
            center = remaining;
        }
        let src = &source[..remaining];
        let start = min_size / 2;
        let (limit1, limit2) = (center / 2, remaining / 2);
        let strict = Phase {
            src,
            start,
            mask: self.mask_s,
            mask_ls: self.mask_s << 1,
        };
        if let Some(at) = self.search(&strict, start, limit1) {
            return at;
        }
        let relaxed = Phase {
            src,
            start,
            mask: self.mask_l,
            mask_ls: self.mask_l << 1,
        };
        self.search(&relaxed, limit1.max(start), limit2)
            .unwrap_or(remaining)
    }

    /// The first cut candidate among pairs `from..to`.
    fn search(&self, p: &Phase, from: usize, to: usize) -> Option<usize> {
        let mut i = from;
        while to.saturating_sub(i) >= LANES * BLOCK {
            if self.round_hits(p, i) {
                return self.scan(p, i, i + LANES * BLOCK);
            }
            i += LANES * BLOCK;
        }
        self.scan(p, i, to)
    }

    /// The hash before pair `i`, rebuilt from the pairs that still count.
    fn hash_before(&self, p: &Phase, i: usize) -> u64 {
        let first = p.start.max(i.saturating_sub(WINDOW));
        (first..i).fold(0u64, |h, k| {
            self.step(self.half(h, p.src[2 * k]), p.src[2 * k + 1])
        })
    }

    fn half(&self, h: u64, byte: u8) -> u64 {
        (h << 2).wrapping_add(self.gear_ls[usize::from(byte)])
    }

    fn step(&self, h: u64, byte: u8) -> u64 {
        h.wrapping_add(self.gear[usize::from(byte)])
    }

    /// Pairs `from..to` in order, as `cut_gear` tests them.
    fn scan(&self, p: &Phase, from: usize, to: usize) -> Option<usize> {
        let mut h = self.hash_before(p, from);
        for i in from..to {
            let a = 2 * i;
            h = self.half(h, p.src[a]);
            if h & p.mask_ls == 0 {
                return Some(a);
            }
            h = self.step(h, p.src[a + 1]);
            if h & p.mask == 0 {
                return Some(a + 1);
            }
        }
        None
    }

    /// True when any lane of the round starting at pair `i` meets a
    /// candidate (which one is left to [`Gear::scan`]).
    fn round_hits(&self, p: &Phase, i: usize) -> bool {
        let lane = |l: usize| {
            let at = 2 * (i + l * BLOCK);
            p.src[at..at + 2 * BLOCK].as_chunks::<2>().0
        };
        let (b0, b1, b2, b3) = (lane(0), lane(1), lane(2), lane(3));
        let mut h = [0, 1, 2, 3].map(|l| self.hash_before(p, i + l * BLOCK));
        for (((q0, q1), q2), q3) in b0.iter().zip(b1).zip(b2).zip(b3) {
            let mut miss = true;
            for (h, pair) in h.iter_mut().zip([q0, q1, q2, q3]) {
                *h = self.half(*h, pair[0]);
                miss &= *h & p.mask_ls != 0;
                *h = self.step(*h, pair[1]);
                miss &= *h & p.mask != 0;
            }
            if !miss {
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fastcdc::v2020::{cut_gear, get_gear_with_seed};
    use proptest::prelude::*;

    fn tables(seed: u64) -> ([u64; 256], [u64; 256]) {
        let (g, gls) = get_gear_with_seed(seed);
        (
            g.as_ref().try_into().expect("256"),
            gls.as_ref().try_into().expect("256"),
        )
    }

    /// Pseudo-random bytes with runs of zeros, so cuts land at odd places.
    fn input(len: usize, seed: u64) -> Vec<u8> {
        let mut data = crate::chunker::tests::pseudo_random(len, seed);
        for (i, b) in data.iter_mut().enumerate() {
            if (i / 5000) % 7 == 3 {
                *b = 0;
            }
        }
        data
    }

    fn reference(src: &[u8], sizes: (usize, usize, usize), g: &Gear) -> usize {
        let (min, avg, max) = sizes;
        let (ms, ml) = (g.mask_s, g.mask_l);
        cut_gear(
            src,
            min,
            avg,
            max,
            ms,
            ml,
            ms << 1,
            ml << 1,
            g.gear,
            g.gear_ls,
        )
        .1
    }

    /// Cuts all of `data` both ways and compares every boundary.
    fn same_cuts(data: &[u8], sizes: (usize, usize, usize), g: &Gear) -> usize {
        let (min, avg, max) = sizes;
        let (mut pos, mut n) = (0, 0);
        while pos < data.len() {
            let ours = g.cut(&data[pos..], min, avg, max);
            assert_eq!(ours, reference(&data[pos..], sizes, g), "at byte {pos}");
            pos += ours.max(1);
            n += 1;
        }
        n
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Masks of few bits put candidates in every lane and every round.
        #[test]
        fn matches_fastcdc(seed in any::<u64>(), bits_s in 6u32..20, bits_l in 4u32..14,
                           min_k in 0usize..64, avg_k in 1usize..256, max_k in 1usize..1024) {
            let (gear, gear_ls) = tables(seed);
            let mask = |bits: u32| (0..bits).fold(0u64, |m, b| m | 1 << ((b * 37 + 5) % 64));
            let g = Gear { gear: &gear, gear_ls: &gear_ls, mask_s: mask(bits_s), mask_l: mask(bits_l) };
            // Averages from LANES_FROM_AVG up, so the rounds run.
            let min = min_k * 512;
            let avg = LANES_FROM_AVG + min + avg_k * 1024;
            let max = avg + max_k * 2048;
            let data = input(2_000_000, seed | 1);
            same_cuts(&data, (min, avg, max), &g);
        }
    }

    #[test]
    fn small_averages_use_the_crate_loop() {
        let (gear, gear_ls) = tables(7);
        let (ms, ml) =
            fastcdc::v2020::select_masks(16 << 10, fastcdc::v2020::Normalization::Level1);
        let g = Gear {
            gear: &gear,
            gear_ls: &gear_ls,
            mask_s: ms,
            mask_l: ml,
        };
        let n = same_cuts(&input(4 << 20, 5), (4 << 10, 16 << 10, 64 << 10), &g);
        assert!(n > 100, "{n} chunks");
    }

    #[test]
    fn matches_fastcdc_with_the_files_profile_masks() {
        let (gear, gear_ls) = tables(0x5eed);
        let (ms, ml) = fastcdc::v2020::select_masks(1 << 20, fastcdc::v2020::Normalization::Level1);
        let g = Gear {
            gear: &gear,
            gear_ls: &gear_ls,
            mask_s: ms,
            mask_l: ml,
        };
        let data = input(24 << 20, 99);
        let n = same_cuts(&data, (512 << 10, 1 << 20, 8 << 20), &g);
        assert!(n > 10, "{n} chunks");
        // All zeros: no candidate anywhere, every chunk is max_size long.
        let zeros = vec![0u8; 20 << 20];
        same_cuts(&zeros, (512 << 10, 1 << 20, 8 << 20), &g);
    }
}
