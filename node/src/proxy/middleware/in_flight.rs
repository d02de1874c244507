//! `inFlightReq`: at most `amount` requests in flight per source (see [`super::source`]);
//! one more is answered 429 with its reason phrase, like Traefik's connection limiter.
//!
//! A request counts from the moment it enters until its response body has been sent (or
//! dropped, e.g. when the client goes away), not merely until the response headers arrive.
//! Counts are per node (each node limits on its own; nothing is replicated) and survive
//! config revisions that leave the middleware unchanged. They live in one map behind a
//! mutex held only to add or subtract; a source's entry is removed when it drops to zero.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use http::{Request, StatusCode};

use super::respond::status_response;
use super::source::Source;
use super::{answer, Middleware, Next, ProxyResult};
use crate::proxy::body::{boxed, Guarded, ProxyBody};

/// A compiled `inFlightReq`.
pub struct InFlightReq {
    amount: u64,
    source: Source,
    counts: Arc<Mutex<HashMap<String, u64>>>,
}

/// One admitted request; releases its slot when dropped.
struct Slot {
    counts: Arc<Mutex<HashMap<String, u64>>>,
    key: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = counts.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

impl InFlightReq {
    /// Compiles the config.
    pub fn new(config: &raftgate_model::InFlightReq) -> Result<Self, String> {
        let amount = u64::try_from(config.amount)
            .ok()
            .filter(|a| *a > 0)
            .ok_or_else(|| format!("amount {} must be greater than zero", config.amount))?;
        Ok(Self {
            amount,
            source: Source::new(config.source_criterion.as_ref())?,
            counts: Arc::default(),
        })
    }

    fn acquire(&self, key: String) -> Option<Slot> {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let n = counts.entry(key.clone()).or_insert(0);
        if *n >= self.amount {
            return None;
        }
        *n += 1;
        drop(counts);
        Some(Slot {
            counts: self.counts.clone(),
            key,
        })
    }
}

impl Middleware for InFlightReq {
    fn handle<'a>(&'a self, req: Request<ProxyBody>, next: Next<'a>) -> BoxFuture<'a, ProxyResult> {
        let key = self.source.key(&req, next.ctx());
        let Some(slot) = self.acquire(key) else {
            tracing::debug!("inFlightReq: too many requests in flight");
            return answer(status_response(StatusCode::TOO_MANY_REQUESTS));
        };
        Box::pin(async move {
            let resp = next.run(req).await?;
            Ok(resp.map(|body| boxed(Guarded::new(body, slot))))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::middleware::testing::{body_string, get, run, Recorder};

    fn limit(json: serde_json::Value) -> Arc<InFlightReq> {
        Arc::new(InFlightReq::new(&serde_json::from_value(json).unwrap()).unwrap())
    }

    #[tokio::test]
    async fn a_request_holds_its_slot_until_its_body_is_done() {
        let backend = Recorder::ok().await;
        let svc = backend.service();
        let mw = limit(serde_json::json!({"amount": 1}));
        let first = run(mw.clone(), &svc, get("/")).await.unwrap();
        assert_eq!(first.status(), 200);
        // Headers are back but the body is unread: the slot is still taken.
        let second = run(mw.clone(), &svc, get("/")).await.unwrap();
        assert_eq!(second.status(), 429);
        assert_eq!(body_string(second).await, "Too Many Requests");
        assert_eq!(body_string(first).await, "ok");
        let third = run(mw.clone(), &svc, get("/")).await.unwrap();
        assert_eq!(third.status(), 200);
        // Dropping an unread body releases the slot too.
        drop(third);
        assert_eq!(run(mw.clone(), &svc, get("/")).await.unwrap().status(), 200);
        assert!(mw.counts.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn sources_are_limited_separately() {
        let backend = Recorder::ok().await;
        let svc = backend.service();
        let mw = limit(
            serde_json::json!({"amount": 1, "sourceCriterion": {"requestHeaderName": "X-User"}}),
        );
        let as_user = |u: &'static str| {
            let mut r = get("/");
            r.headers_mut()
                .insert("x-user", http::HeaderValue::from_static(u));
            r
        };
        let alice = run(mw.clone(), &svc, as_user("alice")).await.unwrap();
        let bob = run(mw.clone(), &svc, as_user("bob")).await.unwrap();
        assert_eq!(
            (alice.status(), bob.status()),
            (StatusCode::OK, StatusCode::OK)
        );
        let alice2 = run(mw.clone(), &svc, as_user("alice")).await.unwrap();
        assert_eq!(alice2.status(), 429);
    }

    #[tokio::test]
    async fn a_failed_request_releases_its_slot() {
        // Nothing listens on this port: the service answers an error, not a response.
        let svc = crate::proxy::service::single_server_for_tests("http://127.0.0.1:1");
        let mw = limit(serde_json::json!({"amount": 1}));
        assert!(run(mw.clone(), &svc, get("/")).await.is_err());
        assert!(mw.counts.lock().unwrap().is_empty());
    }
}
