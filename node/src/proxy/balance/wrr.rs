//! Smooth weighted round robin (nginx's algorithm), made lock-free.
//!
//! nginx keeps a mutable "current weight" per server and updates all of them on every pick.
//! The sequence that produces is periodic (its period is the sum of the weights), so
//! [`SmoothWrr`] runs the algorithm once at construction, stores one period of picks, and
//! walks it with an atomic cursor. Weights are reduced by their gcd first; when the period
//! would still exceed [`MAX_PERIOD`] entries they are scaled down proportionally (every
//! positive weight stays at least 1), which keeps the shares within a fraction of a percent.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Longest precomputed period, unless there are more positive weights than this.
pub const MAX_PERIOD: u64 = 4096;

/// Weighted round robin over items `0..n`, smooth (no long runs of one item) and lock-free.
#[derive(Debug)]
pub struct SmoothWrr {
    /// One period of picks, as item indexes; empty when no weight is positive.
    sequence: Box<[usize]>,
    cursor: AtomicUsize,
}

impl SmoothWrr {
    /// Precomputes the selection sequence for `weights` (item `i` has weight `weights[i]`;
    /// zero-weight items are never picked).
    pub fn new(weights: &[u32]) -> Self {
        let weights = reduce(weights);
        SmoothWrr {
            sequence: smooth_sequence(&weights).into_boxed_slice(),
            cursor: AtomicUsize::new(0),
        }
    }

    /// The precomputed period.
    pub fn period(&self) -> &[usize] {
        &self.sequence
    }

    /// The next available item; unavailable ones are skipped (at most one full period is
    /// tried). `None` if no item with a positive weight is available.
    pub fn next(&self, available: impl Fn(usize) -> bool) -> Option<usize> {
        let len = self.sequence.len();
        if len == 0 {
            return None;
        }
        let start = self.cursor.fetch_add(1, Ordering::Relaxed);
        for skipped in 0..len {
            let item = self.sequence[start.wrapping_add(skipped) % len];
            if available(item) {
                if skipped > 0 {
                    // The slots skipped are consumed, so the next caller does not walk them
                    // again and the available items keep their relative shares.
                    self.cursor.fetch_add(skipped, Ordering::Relaxed);
                }
                return Some(item);
            }
        }
        None
    }
}

/// Divides the weights by their gcd, then scales them down if their sum exceeds
/// [`MAX_PERIOD`], keeping every positive weight at least 1.
fn reduce(weights: &[u32]) -> Vec<u64> {
    let mut w: Vec<u64> = weights.iter().map(|&x| u64::from(x)).collect();
    let g = w.iter().copied().fold(0, gcd);
    if g > 1 {
        w.iter_mut().for_each(|x| *x /= g);
    }
    let total: u64 = w.iter().sum();
    if total > MAX_PERIOD {
        for x in w.iter_mut().filter(|x| **x > 0) {
            // Rounded share of MAX_PERIOD; u128 so that large weights cannot overflow.
            let scaled = (u128::from(*x) * u128::from(MAX_PERIOD) + u128::from(total / 2))
                / u128::from(total);
            *x = u64::try_from(scaled).unwrap_or(MAX_PERIOD).max(1);
        }
        let g = w.iter().copied().fold(0, gcd);
        if g > 1 {
            w.iter_mut().for_each(|x| *x /= g);
        }
    }
    w
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// One period of nginx's smooth weighted round robin: every step adds each weight to its
/// item's current weight, picks the largest (the first on ties) and subtracts the total from it.
fn smooth_sequence(weights: &[u64]) -> Vec<usize> {
    let total: u64 = weights.iter().sum();
    let positive: Vec<(usize, i64)> = weights
        .iter()
        .enumerate()
        .filter(|(_, w)| **w > 0)
        .map(|(i, w)| (i, i64::try_from(*w).unwrap_or(i64::MAX)))
        .collect();
    let total_i = i64::try_from(total).unwrap_or(i64::MAX);
    let mut current = vec![0i64; positive.len()];
    let mut out = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    for _ in 0..total {
        let mut best = 0;
        for (k, (_, w)) in positive.iter().enumerate() {
            current[k] += w;
            if current[k] > current[best] {
                best = k;
            }
        }
        current[best] -= total_i;
        out.push(positive[best].0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    fn counts(
        wrr: &SmoothWrr,
        n: usize,
        picks: usize,
        available: impl Fn(usize) -> bool,
    ) -> Vec<usize> {
        let mut c = vec![0; n];
        for _ in 0..picks {
            if let Some(i) = wrr.next(&available) {
                c[i] += 1;
            }
        }
        c
    }

    #[test]
    fn nginx_sequence_for_5_1_1() {
        let wrr = SmoothWrr::new(&[5, 1, 1]);
        assert_eq!(wrr.period(), &[0, 0, 1, 0, 2, 0, 0]);
        let picks: Vec<_> = (0..14).filter_map(|_| wrr.next(|_| true)).collect();
        assert_eq!(picks, [0, 0, 1, 0, 2, 0, 0, 0, 0, 1, 0, 2, 0, 0]);
    }

    #[test]
    fn one_period_matches_the_weights_exactly() {
        let weights = [3, 7, 2, 9];
        let wrr = SmoothWrr::new(&weights);
        let c = counts(&wrr, 4, 21, |_| true);
        assert_eq!(c, [3, 7, 2, 9]);
    }

    #[test]
    fn weights_are_reduced_by_their_gcd() {
        assert_eq!(SmoothWrr::new(&[10, 20, 30]).period().len(), 6);
    }

    #[test]
    fn random_weights_within_one_percent_over_100k() {
        let mut rng = rand::rng();
        for _ in 0..5 {
            let n = rng.random_range(2..8);
            let weights: Vec<u32> = (0..n).map(|_| rng.random_range(1..50)).collect();
            let total: u32 = weights.iter().sum();
            let wrr = SmoothWrr::new(&weights);
            let c = counts(&wrr, n, 100_000, |_| true);
            for (i, w) in weights.iter().enumerate() {
                let want = f64::from(*w) / f64::from(total);
                let got = c[i] as f64 / 100_000.0;
                assert!(
                    (got - want).abs() < 0.01,
                    "{weights:?}: item {i} got {got}, want {want}"
                );
            }
        }
    }

    #[test]
    fn skips_unavailable_items_and_keeps_the_others_shares() {
        let wrr = SmoothWrr::new(&[2, 1, 1]);
        let c = counts(&wrr, 3, 3_000, |i| i != 0);
        assert_eq!(c, [0, 1_500, 1_500]);
        let wrr = SmoothWrr::new(&[3, 1, 5]);
        let c = counts(&wrr, 3, 8_000, |i| i != 1);
        assert_eq!(c, [3_000, 0, 5_000]);
    }

    #[test]
    fn nothing_available_gives_none() {
        let wrr = SmoothWrr::new(&[1, 2, 3]);
        assert_eq!(wrr.next(|_| false), None);
        assert_eq!(SmoothWrr::new(&[]).next(|_| true), None);
        assert_eq!(SmoothWrr::new(&[0, 0]).next(|_| true), None);
    }

    #[test]
    fn zero_weight_is_never_picked() {
        let wrr = SmoothWrr::new(&[0, 3, 0, 1]);
        let c = counts(&wrr, 4, 4_000, |_| true);
        assert_eq!(c, [0, 3_000, 0, 1_000]);
        // Not even when it is the only available item.
        assert_eq!(wrr.next(|i| i == 0), None);
    }

    #[test]
    fn big_weights_exact_below_the_cap() {
        let wrr = SmoothWrr::new(&[1000, 1]);
        assert_eq!(wrr.period().len(), 1001);
        let c = counts(&wrr, 2, 1001, |_| true);
        assert_eq!(c, [1000, 1]);
    }

    #[test]
    fn huge_weights_are_capped_and_keep_proportions() {
        let weights = [1_000_000, 400_000, 3];
        let wrr = SmoothWrr::new(&weights);
        assert!(wrr.period().len() as u64 <= MAX_PERIOD + 3);
        let c = counts(&wrr, 3, 100_000, |_| true);
        let total: f64 = weights.iter().map(|w| f64::from(*w)).sum();
        for i in 0..2 {
            let want = f64::from(weights[i]) / total;
            let got = c[i] as f64 / 100_000.0;
            assert!(
                (got - want).abs() < 0.01,
                "item {i}: got {got}, want {want}"
            );
        }
        // The tiny weight is kept at 1 instead of vanishing.
        assert!(c[2] > 0);
        let wrr = SmoothWrr::new(&[u32::MAX, u32::MAX - 1, 1]);
        assert!(wrr.period().len() as u64 <= MAX_PERIOD + 3);
    }
}
