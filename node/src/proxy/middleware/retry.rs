//! `retry`: sends a request again when the upstream could not be reached, up to `attempts`
//! attempts in all, waiting `initialInterval` before the first retry and twice as long before
//! each next one (deterministic doubling; Traefik adds jitter).
//!
//! Like Traefik, only failures where no response came back are retried, and never because of
//! a response's status: here that is [`ProxyError::Connect`] (the connection could not be
//! made, or broke before a response head arrived). Timeouts (504) and "no available server"
//! (503) are not retried.
//!
//! What is replayable: a request whose body is known to be empty before it is sent — hyper
//! reports the body at its end (no body, or `Content-Length: 0`) — and which is not a protocol
//! upgrade. Any other request is passed on once, untouched, since its body is a stream that
//! is consumed by the first attempt. A replay carries the same method, URI, version and
//! headers (as this middleware received them) and an empty body; request extensions are not
//! copied.

use std::time::Duration;

use futures::future::BoxFuture;
use http::{HeaderMap, Method, Request, Uri, Version};
use hyper::body::Body;

use super::{Middleware, Next, ProxyResult};
use crate::proxy::body::{empty, ProxyBody};
use crate::proxy::error::ProxyError;
use crate::proxy::forward::is_upgrade;

/// A compiled `retry`.
pub struct Retry {
    attempts: u32,
    initial_interval: Option<Duration>,
}

/// What a replay is rebuilt from.
struct Head {
    method: Method,
    uri: Uri,
    version: Version,
    headers: HeaderMap,
}

impl Head {
    fn request(&self) -> Request<ProxyBody> {
        let mut req = Request::new(empty());
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = self.uri.clone();
        *req.version_mut() = self.version;
        *req.headers_mut() = self.headers.clone();
        req
    }
}

impl Retry {
    /// Compiles the config.
    pub fn new(config: &raftgate_model::Retry) -> Result<Self, String> {
        let attempts = u32::try_from(config.attempts)
            .ok()
            .filter(|a| *a > 0)
            .ok_or_else(|| format!("attempts {} must be greater than zero", config.attempts))?;
        Ok(Self {
            attempts,
            initial_interval: config
                .initial_interval
                .as_ref()
                .map(|d| d.as_duration())
                .filter(|d| !d.is_zero()),
        })
    }

    /// The wait before retry number `retry` (1 for the first retry).
    fn backoff(&self, retry: u32) -> Option<Duration> {
        let base = self.initial_interval?;
        Some(base.saturating_mul(1u32 << (retry - 1).min(16)))
    }
}

/// Whether `req` can be sent again: its body is known empty and it is no upgrade.
fn replayable(req: &Request<ProxyBody>) -> bool {
    req.body().is_end_stream() && !is_upgrade(req.headers())
}

impl Middleware for Retry {
    fn handle<'a>(&'a self, req: Request<ProxyBody>, next: Next<'a>) -> BoxFuture<'a, ProxyResult> {
        if self.attempts <= 1 || !replayable(&req) {
            return next.run(req);
        }
        Box::pin(async move {
            let head = Head {
                method: req.method().clone(),
                uri: req.uri().clone(),
                version: req.version(),
                headers: req.headers().clone(),
            };
            let mut first = Some(req);
            let mut attempt = 1;
            loop {
                let req = first.take().unwrap_or_else(|| head.request());
                match next.run(req).await {
                    Err(e @ ProxyError::Connect { .. }) if attempt < self.attempts => {
                        tracing::debug!(attempt, error = %e, "retry: attempt failed, trying again");
                        if let Some(wait) = self.backoff(attempt) {
                            tokio::time::sleep(wait).await;
                        }
                        attempt += 1;
                    }
                    other => return other,
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use bytes::Bytes;
    use http::Response;

    use super::*;
    use crate::proxy::body::full;
    use crate::proxy::middleware::testing::{body_string, ctx, get, run, run_chain, Recorder};

    fn retry(json: serde_json::Value) -> Arc<dyn Middleware> {
        Arc::new(Retry::new(&serde_json::from_value(json).unwrap()).unwrap())
    }

    /// A middleware that fails the first `fail` requests it sees as unreachable.
    struct Flaky {
        fail: usize,
        seen: AtomicUsize,
    }

    impl Middleware for Flaky {
        fn handle<'a>(
            &'a self,
            req: Request<ProxyBody>,
            next: Next<'a>,
        ) -> BoxFuture<'a, ProxyResult> {
            if self.seen.fetch_add(1, Ordering::SeqCst) < self.fail {
                return Box::pin(async {
                    Err(ProxyError::Connect {
                        upstream: "flaky".into(),
                        reason: "refused".into(),
                    })
                });
            }
            next.run(req)
        }
    }

    fn flaky(fail: usize) -> Arc<Flaky> {
        Arc::new(Flaky {
            fail,
            seen: AtomicUsize::new(0),
        })
    }

    #[tokio::test]
    async fn network_failures_are_retried_until_attempts_run_out() {
        let backend = Recorder::ok().await;
        let svc = backend.service();
        let f = flaky(2);
        let chain: Vec<Arc<dyn Middleware>> =
            vec![retry(serde_json::json!({"attempts": 3})), f.clone()];
        let resp = run_chain(&chain, &svc, &ctx(), get("/x?y=1"))
            .await
            .unwrap();
        assert_eq!(body_string(resp).await, "ok");
        assert_eq!(f.seen.load(Ordering::SeqCst), 3);
        let seen = backend.requests();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].uri().path_and_query().unwrap(), "/x?y=1");

        let f = flaky(5);
        let chain: Vec<Arc<dyn Middleware>> =
            vec![retry(serde_json::json!({"attempts": 3})), f.clone()];
        let e = run_chain(&chain, &svc, &ctx(), get("/")).await.unwrap_err();
        assert!(matches!(e, ProxyError::Connect { .. }));
        assert_eq!(f.seen.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn an_unreachable_server_is_tried_attempts_times_with_growing_waits() {
        let svc = crate::proxy::service::single_server_for_tests("http://127.0.0.1:1");
        let mw = retry(serde_json::json!({"attempts": 3, "initialInterval": "50ms"}));
        let started = std::time::Instant::now();
        let e = run(mw, &svc, get("/")).await.unwrap_err();
        assert!(matches!(e, ProxyError::Connect { .. }), "{e}");
        // Waits of 50ms then 100ms.
        assert!(
            started.elapsed() >= Duration::from_millis(150),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn error_statuses_are_not_retried() {
        let backend = Recorder::start(|_| {
            let mut r = Response::new(Bytes::from_static(b"boom"));
            *r.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
            r
        })
        .await;
        let resp = run(
            retry(serde_json::json!({"attempts": 4})),
            &backend.service(),
            get("/"),
        )
        .await
        .unwrap();
        assert_eq!(resp.status(), 500);
        assert_eq!(backend.requests().len(), 1);
    }

    #[tokio::test]
    async fn requests_with_a_body_are_not_replayed() {
        let backend = Recorder::ok().await;
        let f = flaky(1);
        let chain: Vec<Arc<dyn Middleware>> =
            vec![retry(serde_json::json!({"attempts": 3})), f.clone()];
        let mut req = get("/");
        *req.body_mut() = full("payload");
        let e = run_chain(&chain, &backend.service(), &ctx(), req)
            .await
            .unwrap_err();
        assert!(matches!(e, ProxyError::Connect { .. }));
        assert_eq!(f.seen.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn backoff_doubles() {
        let r = Retry::new(
            &serde_json::from_value(serde_json::json!({"attempts": 4, "initialInterval": "100ms"}))
                .unwrap(),
        )
        .unwrap();
        let waits: Vec<_> = (1..=3).map(|n| r.backoff(n).unwrap().as_millis()).collect();
        assert_eq!(waits, [100, 200, 400]);
    }
}
