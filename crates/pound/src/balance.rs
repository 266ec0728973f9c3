//! Load-balancing strategies (pound.8, REQUEST BALANCING), as pure functions over the
//! backends that may take a request now.
//!
//! A candidate is `(index, priority)`: its place in the service's backend list and its
//! priority in that service. Dead and disabled backends are simply not candidates, so the
//! others keep their relative shares.

use std::sync::atomic::{AtomicU64, Ordering};

/// Weighted random choice: candidate i with probability Pi / S(P). `r` must be uniform in
/// `0..S(P)`; see [`total`]. Candidates of priority 0 are never chosen this way.
pub fn weighted<I>(candidates: I, mut r: u32) -> Option<usize>
where
    I: Iterator<Item = (usize, u16)>,
{
    for (i, p) in candidates {
        let p = u32::from(p);
        if r < p {
            return Some(i);
        }
        r -= p;
    }
    None
}

/// S(P): the sum of the candidates' priorities.
pub fn total<I>(candidates: I) -> u32
where
    I: Iterator<Item = (usize, u16)>,
{
    candidates.map(|(_, p)| u32::from(p)).sum()
}

/// The `n`-th choice of interleaved weighted round robin over `candidates`, as pound 4.23
/// does it.
///
/// A cycle has one round for each level 1..=max(P): round r visits, in list order, every
/// candidate whose priority is at least r. Over a cycle of S(P) choices candidate i is
/// therefore chosen exactly Pi times, spread over the cycle rather than in a run (pound
/// 4.23 with priorities 5, 7, 8: `ABC` five times, `BC` twice, then `C`). The choice
/// depends only on `n` and the candidates, so a shared counter is all the state a service
/// needs. Work is proportional to the number of candidates and of distinct priorities, not
/// to the priorities themselves (which go up to 65535).
pub fn iwrr_nth<I>(candidates: I, n: u64) -> Option<usize>
where
    I: Iterator<Item = (usize, u16)> + Clone,
{
    // Distinct priority levels, ascending, and the size of the cycle.
    let mut levels = [0u16; 32];
    let mut heap = Vec::new();
    let mut count = 0;
    let mut cycle = 0u64;
    for (_, p) in candidates.clone() {
        cycle += u64::from(p);
        let known = if count <= levels.len() {
            levels[..count].contains(&p)
        } else {
            heap.contains(&p)
        };
        if !known {
            if count < levels.len() {
                levels[count] = p;
            } else {
                if heap.is_empty() {
                    heap.extend_from_slice(&levels);
                }
                heap.push(p);
            }
            count += 1;
        }
    }
    if cycle == 0 {
        return None;
    }
    let levels: &mut [u16] = if count <= levels.len() {
        &mut levels[..count]
    } else {
        &mut heap
    };
    levels.sort_unstable();
    let mut pos = n % cycle;
    // Rounds `below + 1 ..= level` each visit the candidates of priority `level` or more.
    let mut below = 0u16;
    for &level in levels.iter() {
        if level == 0 {
            continue;
        }
        let in_round = candidates.clone().filter(|&(_, p)| p >= level).count() as u64;
        let span = u64::from(level - below) * in_round;
        if pos < span {
            return candidates
                .filter(|&(_, p)| p >= level)
                .nth((pos % in_round) as usize)
                .map(|(i, _)| i);
        }
        pos -= span;
        below = level;
    }
    None
}

/// The per-service state of interleaved weighted round robin: a counter, advanced once per
/// choice without a lock.
#[derive(Debug, Default)]
pub struct Iwrr {
    next: AtomicU64,
}

impl Iwrr {
    pub fn pick<I>(&self, candidates: I) -> Option<usize>
    where
        I: Iterator<Item = (usize, u16)> + Clone,
    {
        // A pick with no candidate takes no turn: the emergency backends, tried after it,
        // share the counter.
        candidates.clone().next()?;
        iwrr_nth(candidates, self.next.fetch_add(1, Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cands(prios: &[u16]) -> impl Iterator<Item = (usize, u16)> + Clone + '_ {
        prios.iter().copied().enumerate()
    }

    fn counts(prios: &[u16], picks: u64) -> Vec<u64> {
        let mut c = vec![0; prios.len()];
        for n in 0..picks {
            c[iwrr_nth(cands(prios), n).expect("a choice")] += 1;
        }
        c
    }

    #[test]
    fn iwrr_gives_exact_shares_per_cycle() {
        assert_eq!(counts(&[5; 10], 1000), vec![100; 10]);
        assert_eq!(counts(&[5, 7, 8], 20), vec![5, 7, 8]);
        assert_eq!(counts(&[5, 7, 8], 20 * 7), vec![35, 49, 56]);
        assert_eq!(counts(&[1, 9], 10), vec![1, 9]);
        assert_eq!(counts(&[1], 5), vec![5]);
        assert_eq!(counts(&[65535, 1], 65536), vec![65535, 1]);
        // More distinct priorities than fit on the stack.
        let many: Vec<u16> = (1..=40).collect();
        assert_eq!(
            counts(&many, 820),
            many.iter().map(|&p| u64::from(p)).collect::<Vec<_>>()
        );
    }

    #[test]
    fn iwrr_every_window_of_a_cycle_is_exact() {
        // Wherever a cycle starts, it holds the same counts.
        let prios = [5, 7, 8];
        for start in 0..20 {
            let mut c = [0; 3];
            for n in start..start + 20 {
                c[iwrr_nth(cands(&prios), n).expect("a choice")] += 1;
            }
            assert_eq!(c, [5, 7, 8], "window starting at {start}");
        }
    }

    #[test]
    fn iwrr_interleaves() {
        // The sequence pound 4.23 produces for these priorities.
        let seq: Vec<usize> = (0..20)
            .map(|n| iwrr_nth(cands(&[5, 7, 8]), n).expect("a choice"))
            .collect();
        assert_eq!(
            seq,
            [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 1, 2, 1, 2, 2]
        );
        // Equal weights alternate; never two in a row.
        let seq: Vec<usize> = (0..40)
            .map(|n| iwrr_nth(cands(&[3, 3]), n).expect("a choice"))
            .collect();
        assert!(seq.windows(2).all(|w| w[0] != w[1]), "{seq:?}");
    }

    #[test]
    fn iwrr_skips_missing_candidates_without_changing_the_others_shares() {
        // Backend 1 (priority 7) is dead: 0 and 2 keep their 5:8 ratio.
        let live = [(0usize, 5u16), (2, 8)];
        let mut c = [0; 3];
        for n in 0..13 {
            c[iwrr_nth(live.iter().copied(), n).expect("a choice")] += 1;
        }
        assert_eq!(c, [5, 0, 8]);
        assert_eq!(iwrr_nth(std::iter::empty(), 3), None);
    }

    #[test]
    fn weighted_maps_draws_onto_priority_ranges() {
        let prios = [2u16, 0, 3];
        assert_eq!(total(cands(&prios)), 5);
        let picks: Vec<_> = (0..5)
            .map(|r| weighted(cands(&prios), r).expect("a choice"))
            .collect();
        assert_eq!(picks, [0, 0, 2, 2, 2]);
        assert_eq!(weighted(cands(&prios), 5), None);
        assert_eq!(weighted(std::iter::empty(), 0), None);
    }

    #[test]
    fn weighted_random_matches_the_expected_shares() {
        // Seeded, so the test is deterministic; the bound is about 6 standard deviations.
        let prios = [1u16, 2, 3, 4, 9];
        let s = total(cands(&prios));
        let mut rng = fastrand::Rng::with_seed(0x5eed);
        let draws = 190_000u32;
        let mut c = [0u32; 5];
        for _ in 0..draws {
            c[weighted(cands(&prios), rng.u32(..s)).expect("a choice")] += 1;
        }
        for (i, &p) in prios.iter().enumerate() {
            let share = f64::from(p) / f64::from(s);
            let expected = f64::from(draws) * share;
            let sd = (f64::from(draws) * share * (1.0 - share)).sqrt();
            let got = f64::from(c[i]);
            assert!(
                (got - expected).abs() < 6.0 * sd,
                "backend {i}: {got} draws, expected {expected:.0} ± {sd:.0}"
            );
        }
    }

    #[test]
    fn the_shared_counter_advances_once_per_pick() {
        let iwrr = Iwrr::default();
        let seq: Vec<_> = (0..4)
            .map(|_| iwrr.pick(cands(&[1, 1])).expect("a choice"))
            .collect();
        assert_eq!(seq, [0, 1, 0, 1]);
    }
}
