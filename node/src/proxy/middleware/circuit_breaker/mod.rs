//! `circuitBreaker`: stops sending requests to a service that is failing, with Traefik's
//! three states:
//!
//! - **closed** (standby): requests pass and their outcome is recorded in a ten-second
//!   sliding [`Window`]. After a response, at most once per `checkPeriod` (default 100ms),
//!   the expression is evaluated over the window; when it holds the breaker trips.
//! - **tripped**: every request is answered `responseCode` (default 503) with its reason
//!   phrase, without reaching the service, for `fallbackDuration` (default 10s).
//! - **recovering**: for `recoveryDuration` (default 10s) a share of requests growing linearly
//!   from 0 to 1 is let through (the rest answered as when tripped); outcomes are recorded and
//!   the expression still checked, so a still-failing service trips the breaker again. Then
//!   the breaker closes.
//!
//! The window is reset on every trip. The expression is parsed with
//! [`raftgate_model::expr`] (the same parser refuses bad expressions at write time). State
//! and window sit behind one mutex held for a few arithmetic operations per request; a
//! closed breaker is recognized on entry with one atomic load. The breaker lives as long as
//! its config is unchanged (config revisions reuse it), so its state survives swaps.

mod metrics;

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use futures::future::BoxFuture;
use http::{Request, StatusCode};
use raftgate_model::expr::{parse, Expr, Language};
use tokio::time::Instant;

use self::metrics::Window;
use super::respond::status_response;
use super::{answer, Middleware, Next, ProxyResult};
use crate::proxy::body::ProxyBody;

const CLOSED: u8 = 0;
const TRIPPED: u8 = 1;
const RECOVERING: u8 = 2;

/// A compiled `circuitBreaker`.
pub struct CircuitBreaker {
    expr: Expr,
    check_period: Duration,
    fallback: Duration,
    recovery: Duration,
    response: StatusCode,
    /// The state, readable without the lock (closed is the common case).
    state: AtomicU8,
    inner: Mutex<Inner>,
}

struct Inner {
    /// Until when the current tripped or recovering state lasts.
    until: Instant,
    /// When recovery began, and how many requests it let through or refused.
    recovery_start: Instant,
    allowed: u64,
    denied: u64,
    next_check: Instant,
    window: Window,
}

impl CircuitBreaker {
    /// Compiles the config.
    pub fn new(config: &raftgate_model::CircuitBreaker) -> Result<Self, String> {
        let expr = parse(&config.expression, Language::CircuitBreaker)
            .map_err(|e| format!("expression {:?}: {e}", config.expression))?;
        let dur = |d: &Option<raftgate_model::TraefikDuration>, default: u64| {
            d.as_ref()
                .map(|d| d.as_duration())
                .unwrap_or(Duration::from_millis(default))
        };
        let response = match config.response_code {
            None => StatusCode::SERVICE_UNAVAILABLE,
            Some(code) => u16::try_from(code)
                .ok()
                .and_then(|c| StatusCode::from_u16(c).ok())
                .ok_or_else(|| format!("responseCode {code} is not a status code"))?,
        };
        let now = Instant::now();
        Ok(Self {
            expr,
            check_period: dur(&config.check_period, 100).max(Duration::from_millis(1)),
            fallback: dur(&config.fallback_duration, 10_000),
            recovery: dur(&config.recovery_duration, 10_000),
            response,
            state: AtomicU8::new(CLOSED),
            inner: Mutex::new(Inner {
                until: now,
                recovery_start: now,
                allowed: 0,
                denied: 0,
                next_check: now,
                window: Window::new(now),
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a request arriving at `now` may go through.
    fn admit(&self, now: Instant) -> bool {
        if self.state.load(Ordering::Acquire) == CLOSED {
            return true;
        }
        let mut inner = self.lock();
        let mut state = self.state.load(Ordering::Acquire);
        if state == TRIPPED {
            if now < inner.until {
                return false;
            }
            state = RECOVERING;
            self.state.store(RECOVERING, Ordering::Release);
            inner.recovery_start = now;
            inner.until = now + self.recovery;
            inner.allowed = 0;
            inner.denied = 0;
            tracing::info!("circuit breaker recovering");
        }
        if state != RECOVERING {
            return true;
        }
        if now >= inner.until {
            self.state.store(CLOSED, Ordering::Release);
            tracing::info!("circuit breaker closed");
            return true;
        }
        // Let through the share of requests that recovery has reached by now.
        let target = now
            .saturating_duration_since(inner.recovery_start)
            .as_secs_f64()
            / self.recovery.as_secs_f64();
        let if_allowed = (inner.allowed + 1) as f64 / (inner.allowed + 1 + inner.denied) as f64;
        if if_allowed < target {
            inner.allowed += 1;
            true
        } else {
            inner.denied += 1;
            false
        }
    }

    /// Records an outcome and, once per check period, trips the breaker if the expression
    /// holds.
    fn record(&self, now: Instant, status: u16, latency: Duration) {
        let mut inner = self.lock();
        inner.window.record(now, status, latency);
        if self.state.load(Ordering::Acquire) == TRIPPED || now < inner.next_check {
            return;
        }
        inner.next_check = now + self.check_period;
        let window = &inner.window;
        if self.expr.eval(&mut |call| window.value(now, call)) {
            tracing::warn!(until = ?self.fallback, "circuit breaker tripped");
            self.state.store(TRIPPED, Ordering::Release);
            inner.until = now + self.fallback;
            inner.window.reset(now);
        }
    }
}

impl Middleware for CircuitBreaker {
    fn handle<'a>(&'a self, req: Request<ProxyBody>, next: Next<'a>) -> BoxFuture<'a, ProxyResult> {
        let started = Instant::now();
        if !self.admit(started) {
            return answer(status_response(self.response));
        }
        Box::pin(async move {
            let result = next.run(req).await;
            let status = match &result {
                Ok(resp) => resp.status(),
                Err(e) => e.status(),
            };
            let now = Instant::now();
            self.record(now, status.as_u16(), now - started);
            result
        })
    }
}

#[cfg(test)]
mod tests;
