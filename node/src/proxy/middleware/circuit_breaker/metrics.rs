//! The circuit breaker's sliding window: what the last ten seconds of responses looked like
//! (ten one-second buckets, like Traefik's), as the expression's functions see it.
//!
//! A "network error" is a 502 or 504 answer, whether the proxy produced it (the server could
//! not be reached, or timed out) or the server did, as in Traefik. Latency is measured from
//! the request entering the breaker to the response head coming back.

use std::time::Duration;

use raftgate_model::expr::{Call, Func};
use tokio::time::Instant;

const BUCKETS: usize = 10;
const RESOLUTION: Duration = Duration::from_secs(1);
/// Status codes are counted in `[0, CODES)`.
const CODES: usize = 600;
/// Latency histogram: bucket `i` holds latencies up to `GROWTH^i` microseconds.
const GROWTH: f64 = 1.05;
const LATENCY_BUCKETS: usize = 400;

struct Bucket {
    /// Which second (since the window's start) the bucket holds.
    second: u64,
    total: u64,
    network_errors: u64,
    codes: Box<[u32; CODES]>,
    latency: Box<[u32; LATENCY_BUCKETS]>,
}

impl Bucket {
    fn new() -> Self {
        Self {
            second: u64::MAX,
            total: 0,
            network_errors: 0,
            codes: Box::new([0; CODES]),
            latency: Box::new([0; LATENCY_BUCKETS]),
        }
    }

    fn clear(&mut self, second: u64) {
        self.second = second;
        self.total = 0;
        self.network_errors = 0;
        self.codes.fill(0);
        self.latency.fill(0);
    }
}

/// Response counts and latencies of the last ten seconds.
pub struct Window {
    start: Instant,
    buckets: Vec<Bucket>,
}

fn latency_index(latency: Duration) -> usize {
    let us = latency.as_micros().max(1) as f64;
    ((us.ln() / GROWTH.ln()).ceil() as usize).min(LATENCY_BUCKETS - 1)
}

impl Window {
    /// An empty window.
    pub fn new(now: Instant) -> Self {
        Self {
            start: now,
            buckets: (0..BUCKETS).map(|_| Bucket::new()).collect(),
        }
    }

    fn second(&self, now: Instant) -> u64 {
        (now.saturating_duration_since(self.start).as_nanos() / RESOLUTION.as_nanos()) as u64
    }

    /// Forgets everything.
    pub fn reset(&mut self, now: Instant) {
        *self = Self::new(now);
    }

    /// Records one answer.
    pub fn record(&mut self, now: Instant, status: u16, latency: Duration) {
        let second = self.second(now);
        let bucket = &mut self.buckets[(second % BUCKETS as u64) as usize];
        if bucket.second != second {
            bucket.clear(second);
        }
        bucket.total += 1;
        if status == 502 || status == 504 {
            bucket.network_errors += 1;
        }
        if let Some(c) = bucket.codes.get_mut(status as usize) {
            *c += 1;
        }
        bucket.latency[latency_index(latency)] += 1;
    }

    fn live(&self, now: Instant) -> impl Iterator<Item = &Bucket> {
        let current = self.second(now);
        self.buckets
            .iter()
            .filter(move |b| b.second <= current && current - b.second < BUCKETS as u64)
    }

    /// The value of a breaker function over the window.
    pub fn value(&self, now: Instant, call: &Call) -> f64 {
        let ratio = |num: u64, den: u64| {
            if den == 0 {
                0.0
            } else {
                num as f64 / den as f64
            }
        };
        match call.func {
            Func::NetworkErrorRatio => {
                let (errors, total) = self
                    .live(now)
                    .fold((0, 0), |(e, t), b| (e + b.network_errors, t + b.total));
                ratio(errors, total)
            }
            Func::ResponseCodeRatio => {
                let range = |from: f64, to: f64| {
                    let (from, to) = ((from as usize).min(CODES), (to as usize).min(CODES));
                    self.live(now)
                        .map(|b| b.codes[from..to].iter().map(|c| u64::from(*c)).sum::<u64>())
                        .sum::<u64>()
                };
                let a = &call.args;
                ratio(range(a[0], a[1]), range(a[2], a[3]))
            }
            Func::LatencyAtQuantileMs => self.quantile_ms(now, call.args[0]),
            Func::IsNetworkError | Func::Attempts | Func::ResponseCode => 0.0,
        }
    }

    fn quantile_ms(&self, now: Instant, q: f64) -> f64 {
        let mut hist = [0u64; LATENCY_BUCKETS];
        for b in self.live(now) {
            for (h, n) in hist.iter_mut().zip(b.latency.iter()) {
                *h += u64::from(*n);
            }
        }
        let total: u64 = hist.iter().sum();
        if total == 0 {
            return 0.0;
        }
        let rank = ((q / 100.0) * total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, n) in hist.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return GROWTH.powi(i as i32) / 1000.0;
            }
        }
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use raftgate_model::expr::{parse, Language};

    fn value(w: &Window, now: Instant, expr: &str) -> f64 {
        let e = parse(&format!("{expr} > 0"), Language::CircuitBreaker).unwrap();
        w.value(now, e.calls()[0])
    }

    #[test]
    fn ratios_and_quantiles_over_the_window() {
        let t0 = Instant::now();
        let mut w = Window::new(t0);
        for status in [200, 200, 502, 504, 500, 404, 200, 200, 200, 200] {
            w.record(t0, status, Duration::from_millis(10));
        }
        w.record(t0, 200, Duration::from_millis(400));
        assert_eq!(value(&w, t0, "NetworkErrorRatio()"), 2.0 / 11.0);
        assert_eq!(
            value(&w, t0, "ResponseCodeRatio(500, 600, 0, 600)"),
            3.0 / 11.0
        );
        assert_eq!(
            value(&w, t0, "ResponseCodeRatio(400, 500, 200, 300)"),
            1.0 / 7.0
        );
        let p50 = value(&w, t0, "LatencyAtQuantileMS(50.0)");
        assert!((9.5..=10.6).contains(&p50), "{p50}");
        let p100 = value(&w, t0, "LatencyAtQuantileMS(100)");
        assert!((380.0..=421.0).contains(&p100), "{p100}");
    }

    #[test]
    fn old_seconds_slide_out() {
        let t0 = Instant::now();
        let mut w = Window::new(t0);
        w.record(t0, 502, Duration::from_millis(1));
        let later = t0 + Duration::from_secs(5);
        w.record(later, 200, Duration::from_millis(1));
        assert_eq!(value(&w, later, "NetworkErrorRatio()"), 0.5);
        let much_later = t0 + Duration::from_millis(10_500);
        assert_eq!(value(&w, much_later, "NetworkErrorRatio()"), 0.0);
        assert_eq!(
            value(&w, much_later, "ResponseCodeRatio(200, 300, 0, 600)"),
            1.0
        );
        w.reset(much_later);
        assert_eq!(
            value(&w, much_later, "ResponseCodeRatio(200, 300, 0, 600)"),
            0.0
        );
    }
}
