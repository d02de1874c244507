//! Power of two random choices: draw two distinct available items at random and keep the
//! less loaded one. Close to "least loaded" without its herd effect, and without any shared
//! mutable state beyond the load counters themselves.

use rand::Rng;

/// Two distinct random available items of `0..n`, the one with the lower `load` wins (ties:
/// the first drawn, itself random). With one available item, that item; with none, `None`.
pub fn p2c(
    n: usize,
    available: impl Fn(usize) -> bool,
    load: impl Fn(usize) -> usize,
) -> Option<usize> {
    let count = (0..n).filter(|&i| available(i)).count();
    let mut rng = rand::rng();
    match count {
        0 => None,
        1 => (0..n).find(|&i| available(i)),
        _ => {
            let first = rng.random_range(0..count);
            let mut second = rng.random_range(0..count - 1);
            if second >= first {
                second += 1;
            }
            let a = nth_available(n, &available, first);
            let b = nth_available(n, &available, second);
            match (a, b) {
                (Some(a), Some(b)) => Some(if load(b) < load(a) { b } else { a }),
                // Availability changed between the passes: take whatever is still there.
                (Some(x), None) | (None, Some(x)) => Some(x),
                (None, None) => (0..n).find(|&i| available(i)),
            }
        }
    }
}

/// The `k`-th (from 0) available item of `0..n`.
fn nth_available(n: usize, available: impl Fn(usize) -> bool, k: usize) -> Option<usize> {
    (0..n).filter(|&i| available(i)).nth(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loaded_one_of_three_is_never_picked() {
        let load = [0, 100, 0];
        for _ in 0..10_000 {
            let pick = p2c(3, |_| true, |i| load[i]);
            assert!(matches!(pick, Some(0) | Some(2)), "{pick:?}");
        }
    }

    #[test]
    fn prefers_the_less_loaded() {
        // Four servers with loads 0..4: the most loaded never wins, the least loaded wins
        // whenever drawn (probability 1/2).
        let mut c = [0usize; 4];
        for _ in 0..10_000 {
            if let Some(i) = p2c(4, |_| true, |i| i) {
                c[i] += 1;
            }
        }
        assert_eq!(c[3], 0);
        assert!((4_500..5_500).contains(&c[0]), "{c:?}");
    }

    #[test]
    fn equal_loads_spread_evenly() {
        let mut c = [0usize; 3];
        for _ in 0..30_000 {
            if let Some(i) = p2c(3, |_| true, |_| 0) {
                c[i] += 1;
            }
        }
        for x in c {
            assert!((9_000..11_000).contains(&x), "{c:?}");
        }
    }

    #[test]
    fn only_available_items() {
        for _ in 0..1_000 {
            assert_eq!(p2c(5, |i| i == 3, |_| 0), Some(3));
            let pick = p2c(5, |i| i % 2 == 1, |_| 0);
            assert!(matches!(pick, Some(1) | Some(3)), "{pick:?}");
        }
        assert_eq!(p2c(5, |_| false, |_| 0), None);
        assert_eq!(p2c(0, |_| true, |_| 0), None);
    }
}
