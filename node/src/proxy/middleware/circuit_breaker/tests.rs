use std::sync::atomic::{AtomicU16, AtomicUsize};
use std::sync::Arc;

use super::*;
use crate::proxy::error::ProxyError;
use crate::proxy::middleware::testing::{body_string, ctx, get, run_chain};
use crate::proxy::service::single_server_for_tests;

fn breaker(config: serde_json::Value) -> CircuitBreaker {
    CircuitBreaker::new(&serde_json::from_value(config).unwrap()).unwrap()
}

const MS: Duration = Duration::from_millis(1);

/// Drives the state machine with explicit times: `at(ms)` is `ms` after the start.
fn clock() -> impl Fn(u64) -> Instant {
    let t0 = Instant::now();
    move |ms| t0 + Duration::from_millis(ms)
}

#[test]
fn trips_on_network_errors_then_recovers_gradually_then_closes() {
    let cb = breaker(serde_json::json!({
        "expression": "NetworkErrorRatio() > 0.5",
        "checkPeriod": "100ms", "fallbackDuration": "10s", "recoveryDuration": "10s"
    }));
    let at = clock();
    assert!(cb.admit(at(0)));
    cb.record(at(0), 200, MS);
    // Failures pile up, but the expression is only checked every 100ms.
    for i in 1..=5 {
        assert!(cb.admit(at(i * 10)));
        cb.record(at(i * 10), 502, MS);
    }
    assert!(cb.admit(at(60)));
    cb.record(at(100), 502, MS);
    // Tripped: refused for the whole fallback duration.
    assert!(!cb.admit(at(101)));
    assert!(!cb.admit(at(10_099)));
    // Recovery starts with a share of 0, reaches one half halfway through.
    assert!(!cb.admit(at(10_100)));
    let through = (0..100).filter(|_| cb.admit(at(15_100))).count();
    assert!(
        (45..=55).contains(&through),
        "{through} of 100 let through halfway"
    );
    for _ in 0..10 {
        cb.record(at(15_100), 200, MS);
    }
    // Recovery over: closed, everything passes.
    assert!((0..10).all(|_| cb.admit(at(20_200))));
    assert_eq!(cb.state.load(Ordering::SeqCst), CLOSED);
}

#[test]
fn a_healthy_service_never_trips() {
    let cb = breaker(serde_json::json!({
        "expression": "NetworkErrorRatio() > 0.5 || LatencyAtQuantileMS(50) > 100"
    }));
    let at = clock();
    for i in 0..200 {
        assert!(cb.admit(at(i * 30)));
        // One slow request in ten does not move the median.
        let latency = if i % 10 == 9 { 500 * MS } else { 20 * MS };
        cb.record(at(i * 30), if i % 5 == 4 { 502 } else { 200 }, latency);
    }
    assert_eq!(cb.state.load(Ordering::SeqCst), CLOSED);
}

#[test]
fn slow_responses_trip_a_latency_expression() {
    let cb = breaker(serde_json::json!({"expression": "LatencyAtQuantileMS(50.0) > 100"}));
    let at = clock();
    cb.record(at(0), 200, 20 * MS);
    cb.record(at(50), 200, 300 * MS);
    cb.record(at(60), 200, 300 * MS);
    assert!(cb.admit(at(90)));
    cb.record(at(100), 200, 300 * MS);
    assert!(!cb.admit(at(101)));
}

#[test]
fn failing_during_recovery_trips_again() {
    let cb = breaker(serde_json::json!({
        "expression": "NetworkErrorRatio() > 0.5", "checkPeriod": "10ms",
        "fallbackDuration": "1s", "recoveryDuration": "1s"
    }));
    let at = clock();
    cb.record(at(0), 502, MS);
    assert!(!cb.admit(at(1)));
    // Recovering, but the service still fails: the first request let through trips it again.
    let mut through = 0;
    for i in 0..50 {
        let now = at(1_500 + i * 5);
        if cb.admit(now) {
            through += 1;
            cb.record(now, 502, MS);
        }
    }
    assert_eq!(through, 1);
    assert_eq!(cb.state.load(Ordering::SeqCst), TRIPPED);
}

/// The end of a chain that answers `status` (a 502 as an unreachable server) and counts.
struct Fixed {
    status: AtomicU16,
    hits: AtomicUsize,
}

impl Middleware for Fixed {
    fn handle<'a>(&'a self, _: Request<ProxyBody>, _: Next<'a>) -> BoxFuture<'a, ProxyResult> {
        self.hits.fetch_add(1, Ordering::SeqCst);
        let status = self.status.load(Ordering::SeqCst);
        Box::pin(async move {
            if status == 502 {
                return Err(ProxyError::Connect {
                    upstream: "x".into(),
                    reason: "refused".into(),
                });
            }
            Ok(status_response(StatusCode::from_u16(status).unwrap()))
        })
    }
}

#[tokio::test]
async fn a_tripped_breaker_answers_its_response_code_without_calling_the_service() {
    let cb: Arc<dyn Middleware> = Arc::new(breaker(serde_json::json!({
        "expression": "ResponseCodeRatio(500, 600, 0, 600) > 0.25 || NetworkErrorRatio() > 0.25",
        "responseCode": 418
    })));
    let end = Arc::new(Fixed {
        status: AtomicU16::new(502),
        hits: AtomicUsize::new(0),
    });
    let chain: Vec<Arc<dyn Middleware>> = vec![cb, end.clone()];
    let svc = single_server_for_tests("http://127.0.0.1:1");
    // The first check comes right after the first response.
    let e = run_chain(&chain, &svc, &ctx(), get("/")).await.unwrap_err();
    assert_eq!(e.status(), 502);
    end.status.store(200, Ordering::SeqCst);
    for _ in 0..3 {
        let resp = run_chain(&chain, &svc, &ctx(), get("/")).await.unwrap();
        assert_eq!(resp.status(), 418);
        assert_eq!(body_string(resp).await, "I'm a teapot");
    }
    assert_eq!(end.hits.load(Ordering::SeqCst), 1);
}
