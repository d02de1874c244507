//! `buffering`: reads the whole request body before the request is passed on, and the whole
//! response body before it is returned, with Traefik's limits and answers:
//!
//! - a request body above `maxRequestBodyBytes` is answered 413 (at once when its
//!   `Content-Length` says so, else as soon as the limit is crossed);
//! - a response body above `maxResponseBodyBytes` is replaced by a 500;
//! - `retryExpression` (e.g. `IsNetworkError() && Attempts() < 2`) is evaluated after each
//!   attempt, and while it holds the buffered request is sent again (at most 10 attempts, as
//!   in Traefik). `IsNetworkError()` is true for a 502 or 504 answer, `Attempts()` counts the
//!   attempts made so far, `ResponseCode()` is the last attempt's status.
//!
//! Buffered bodies are forwarded with a `Content-Length` (and no `Transfer-Encoding`);
//! trailers are dropped.
//!
//! Deviation: everything is buffered in memory; nothing spills to disk, so
//! `memRequestBodyBytes` and `memResponseBodyBytes` are accepted but have no effect. Because
//! of that a limit of 0 ("no limit" in Traefik) is capped at [`UNLIMITED_CAP`] here, and all
//! the bodies a node buffers at once share one [`budget::MemoryBudget`]: a body that would go
//! past it is answered 503 (its request is not sent; a response body is replaced).

pub mod budget;

use bytes::{Bytes, BytesMut};
use futures::future::BoxFuture;
use http::{header, HeaderValue, Request, Response, StatusCode};
use http_body_util::BodyExt;
use raftgate_model::expr::{parse, Expr, Func, Language};

use self::budget::{BudgetExhausted, MemoryBudget, Reservation};
use super::respond::status_response;
use super::{Middleware, Next, ProxyResult};
use crate::proxy::body::{boxed, full, BoxError, Guarded, ProxyBody};
use crate::proxy::error::ProxyError;

/// The most bytes buffered for a body when the config sets no limit (64 MiB).
pub const UNLIMITED_CAP: usize = 64 << 20;
/// Attempts made at most, whatever the retry expression says.
const MAX_ATTEMPTS: u32 = 10;

/// A compiled `buffering`.
pub struct Buffering {
    max_request: usize,
    max_response: usize,
    retry: Option<Expr>,
    budget: MemoryBudget,
}

/// Why a body was not read whole.
#[derive(Debug, thiserror::Error)]
enum ReadError {
    /// The body itself failed.
    #[error("{0}")]
    Body(BoxError),
    /// The node's budget is spent.
    #[error(transparent)]
    Budget(#[from] BudgetExhausted),
}

fn limit(value: Option<i64>) -> usize {
    match value.and_then(|v| usize::try_from(v).ok()) {
        Some(0) | None => UNLIMITED_CAP,
        Some(v) => v,
    }
}

/// Reads `body` whole, or reports that it is above `max` bytes (`Ok(None)`) as soon as it
/// is known to be, holding what it reads in `held`. Trailers are dropped.
async fn read_limited(
    mut body: ProxyBody,
    max: usize,
    held: &mut Reservation,
) -> Result<Option<Bytes>, ReadError> {
    let mut buf = BytesMut::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.map_err(ReadError::Body)?.into_data() {
            if buf.len() + data.len() > max {
                return Ok(None);
            }
            held.grow_to(buf.len() + data.len())?;
            buf.extend_from_slice(&data);
        }
    }
    Ok(Some(buf.freeze()))
}

impl Buffering {
    /// Compiles the config; its bodies are held within the node's `budget`.
    pub fn new(config: &raftgate_model::Buffering, budget: &MemoryBudget) -> Result<Self, String> {
        let retry = if config.retry_expression.trim().is_empty() {
            None
        } else {
            Some(
                parse(&config.retry_expression, Language::Retry)
                    .map_err(|e| format!("retryExpression {:?}: {e}", config.retry_expression))?,
            )
        };
        Ok(Self {
            max_request: limit(config.max_request_body_bytes),
            max_response: limit(config.max_response_body_bytes),
            retry,
            budget: budget.clone(),
        })
    }

    fn should_retry(&self, attempts: u32, status: StatusCode) -> bool {
        let Some(expr) = &self.retry else {
            return false;
        };
        attempts < MAX_ATTEMPTS
            && expr.eval(&mut |call| match call.func {
                Func::IsNetworkError => f64::from(u8::from(matches!(status.as_u16(), 502 | 504))),
                Func::Attempts => f64::from(attempts),
                Func::ResponseCode => f64::from(status.as_u16()),
                _ => 0.0,
            })
    }

    /// One attempt: the request with the buffered body, its response buffered.
    async fn attempt(
        &self,
        head: &http::request::Parts,
        body: &Bytes,
        next: Next<'_>,
    ) -> ProxyResult {
        let mut req = Request::new(full(body.clone()));
        *req.method_mut() = head.method.clone();
        *req.uri_mut() = head.uri.clone();
        *req.version_mut() = head.version;
        *req.headers_mut() = head.headers.clone();
        let resp = next.run(req).await?;
        let (mut parts, body) = resp.into_parts();
        let mut held = self.budget.reserve();
        let bytes = match read_limited(body, self.max_response, &mut held).await {
            Ok(Some(bytes)) => bytes,
            Ok(None) => {
                tracing::debug!(
                    max = self.max_response,
                    "buffering: response body too large"
                );
                return Ok(status_response(StatusCode::INTERNAL_SERVER_ERROR));
            }
            Err(ReadError::Budget(e)) => return Err(ProxyError::Unavailable(e.to_string())),
            Err(ReadError::Body(e)) => {
                return Err(ProxyError::Connect {
                    upstream: "response body".into(),
                    reason: e.to_string(),
                })
            }
        };
        parts.headers.remove(header::TRANSFER_ENCODING);
        parts
            .headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
        // The budget is given back once the client has read the body.
        let body = boxed(Guarded::new(full(bytes), held));
        Ok(Response::from_parts(parts, body))
    }
}

impl Middleware for Buffering {
    fn handle<'a>(&'a self, req: Request<ProxyBody>, next: Next<'a>) -> BoxFuture<'a, ProxyResult> {
        Box::pin(async move {
            let declared = req
                .headers()
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            if declared.is_some_and(|n| n > self.max_request as u64) {
                return Ok(status_response(StatusCode::PAYLOAD_TOO_LARGE));
            }
            let (mut head, body) = req.into_parts();
            // Held until the last attempt is over.
            let mut held = self.budget.reserve();
            let body = match read_limited(body, self.max_request, &mut held).await {
                Ok(Some(body)) => body,
                Ok(None) => return Ok(status_response(StatusCode::PAYLOAD_TOO_LARGE)),
                Err(ReadError::Budget(e)) => return Err(ProxyError::Unavailable(e.to_string())),
                Err(ReadError::Body(e)) => {
                    return Err(ProxyError::BadRequest(format!(
                        "reading the request body: {e}"
                    )))
                }
            };
            head.headers.remove(header::TRANSFER_ENCODING);
            if !body.is_empty() || head.headers.contains_key(header::CONTENT_LENGTH) {
                head.headers
                    .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
            }
            let mut attempts = 1;
            loop {
                let result = self.attempt(&head, &body, next).await;
                let status = match &result {
                    Ok(resp) => resp.status(),
                    Err(e) => e.status(),
                };
                if !self.should_retry(attempts, status) {
                    return result;
                }
                tracing::debug!(attempts, %status, "buffering: retrying the request");
                attempts += 1;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;
    use crate::proxy::middleware::testing::{body_string, ctx, get, run, run_chain, Recorder};

    fn buffering(json: serde_json::Value) -> Arc<dyn Middleware> {
        Arc::new(
            Buffering::new(
                &serde_json::from_value(json).unwrap(),
                &MemoryBudget::default(),
            )
            .unwrap(),
        )
    }

    fn post(body: &'static str, chunked: bool) -> Request<ProxyBody> {
        let mut req = get("/upload");
        *req.method_mut() = http::Method::POST;
        if chunked {
            // A streamed body of unknown length.
            let stream = futures::stream::iter(
                body.as_bytes()
                    .chunks(3)
                    .map(|c| Ok::<_, BoxError>(hyper::body::Frame::data(Bytes::copy_from_slice(c))))
                    .collect::<Vec<_>>(),
            );
            *req.body_mut() = http_body_util::StreamBody::new(stream).boxed();
        } else {
            req.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
            *req.body_mut() = full(body);
        }
        req
    }

    #[tokio::test]
    async fn request_bodies_are_buffered_and_limited() {
        let backend = Recorder::start(|req| Response::new(req.body().clone())).await;
        let svc = backend.service();
        let mw = buffering(serde_json::json!({"maxRequestBodyBytes": 10}));
        let resp = run(mw.clone(), &svc, post("0123456789", true))
            .await
            .unwrap();
        assert_eq!(body_string(resp).await, "0123456789");
        let seen = backend.requests();
        assert_eq!(seen[0].headers()[header::CONTENT_LENGTH], "10");
        assert!(!seen[0].headers().contains_key(header::TRANSFER_ENCODING));
        for chunked in [true, false] {
            let resp = run(mw.clone(), &svc, post("0123456789A", chunked))
                .await
                .unwrap();
            assert_eq!(resp.status(), 413, "chunked: {chunked}");
        }
        assert_eq!(backend.requests().len(), 1);
    }

    #[tokio::test]
    async fn response_bodies_above_the_limit_become_500() {
        let backend = Recorder::start(|req| {
            let n: usize = req.uri().query().unwrap_or("0").parse().unwrap();
            Response::new(Bytes::from(vec![b'x'; n]))
        })
        .await;
        let svc = backend.service();
        let mw = buffering(serde_json::json!({"maxResponseBodyBytes": 100}));
        let resp = run(mw.clone(), &svc, get("/?100")).await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()[header::CONTENT_LENGTH], "100");
        assert_eq!(body_string(resp).await.len(), 100);
        let resp = run(mw, &svc, get("/?101")).await.unwrap();
        assert_eq!(resp.status(), 500);
        assert_eq!(body_string(resp).await, "Internal Server Error");
    }

    /// Fails the first `fail` attempts as unreachable, then passes on, recording bodies.
    struct Flaky {
        fail: usize,
        seen: AtomicUsize,
        bodies: std::sync::Mutex<Vec<Bytes>>,
    }

    impl Middleware for Flaky {
        fn handle<'a>(
            &'a self,
            req: Request<ProxyBody>,
            next: Next<'a>,
        ) -> BoxFuture<'a, ProxyResult> {
            Box::pin(async move {
                let (parts, body) = req.into_parts();
                let body = body.collect().await.unwrap().to_bytes();
                self.bodies.lock().unwrap().push(body.clone());
                if self.seen.fetch_add(1, Ordering::SeqCst) < self.fail {
                    return Err(ProxyError::Connect {
                        upstream: "x".into(),
                        reason: "refused".into(),
                    });
                }
                next.run(Request::from_parts(parts, full(body))).await
            })
        }
    }

    #[tokio::test]
    async fn the_retry_expression_replays_the_buffered_body() {
        let backend = Recorder::ok().await;
        let svc = backend.service();
        let flaky = |fail| {
            Arc::new(Flaky {
                fail,
                seen: AtomicUsize::new(0),
                bodies: Default::default(),
            })
        };
        let mw =
            buffering(serde_json::json!({"retryExpression": "IsNetworkError() && Attempts() < 3"}));
        let f = flaky(2);
        let chain: Vec<Arc<dyn Middleware>> = vec![mw.clone(), f.clone()];
        let resp = run_chain(&chain, &svc, &ctx(), post("hello", true))
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(*f.bodies.lock().unwrap(), vec![Bytes::from("hello"); 3]);

        let f = flaky(5);
        let chain: Vec<Arc<dyn Middleware>> = vec![mw, f.clone()];
        let e = run_chain(&chain, &svc, &ctx(), post("hello", true))
            .await
            .unwrap_err();
        assert_eq!(e.status(), 502);
        assert_eq!(f.seen.load(Ordering::SeqCst), 3);

        // Without an expression nothing is retried.
        let f = flaky(1);
        let chain: Vec<Arc<dyn Middleware>> = vec![buffering(serde_json::json!({})), f.clone()];
        assert!(run_chain(&chain, &svc, &ctx(), get("/")).await.is_err());
        assert_eq!(f.seen.load(Ordering::SeqCst), 1);
    }
}
