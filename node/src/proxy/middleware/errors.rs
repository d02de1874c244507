//! `errors`: when the answer's status is in one of the configured ranges, the body is
//! replaced by a page fetched from another service, following Traefik v3:
//!
//! - the status checked is the one the client would get, including the ones the proxy
//!   produces itself (502 when the backend is unreachable, 503 with no healthy server,
//!   504 on a timeout);
//! - the page is requested with `GET` of `query` (default `/`), with the original request's
//!   headers (so its `Host`) and no body; in `query`, `{status}` becomes the status sent to
//!   the client, `{originalStatus}` the status before `statusRewrites`, and `{url}` the
//!   original request URI, query-escaped;
//! - the client gets the page's headers and body with the original status, or with the
//!   first `statusRewrites` entry (in key order) whose range holds it. The original body
//!   is dropped unread.
//!
//! Left open by Traefik and chosen here: when the page cannot be fetched (its service is
//! down), the original answer is returned unchanged (and logged at debug level).

use std::sync::Arc;

use futures::future::BoxFuture;
use http::header::{self, HeaderMap};
use http::{Method, Request, Response, StatusCode};

use super::{Middleware, Next, ProxyResult};
use crate::proxy::body::{empty, ProxyBody};
use crate::proxy::service::ServiceRuntime;

/// The compiled `errors` middleware.
pub struct Errors {
    ranges: Vec<(u16, u16)>,
    rewrites: Vec<((u16, u16), StatusCode)>,
    service: Arc<ServiceRuntime>,
    query: String,
}

impl Errors {
    /// Compiles the config against this revision's service for the pages.
    pub fn new(
        config: &raftgate_model::ErrorPage,
        service: Arc<ServiceRuntime>,
    ) -> Result<Self, String> {
        let mut rewrites = Vec::new();
        for (range, code) in &config.status_rewrites {
            let single = raftgate_model::ErrorPage {
                status: vec![range.clone()],
                ..Default::default()
            };
            let parsed = *single
                .status_ranges()
                .first()
                .ok_or_else(|| format!("statusRewrites: {range:?} is not a status range"))?;
            let to = u16::try_from(*code)
                .ok()
                .and_then(|c| StatusCode::from_u16(c).ok())
                .ok_or_else(|| format!("statusRewrites[{range:?}]: {code} is not a status"))?;
            rewrites.push((parsed, to));
        }
        let ranges = config.status_ranges();
        if ranges.is_empty() {
            return Err("status: no valid status range".into());
        }
        let query = if config.query.is_empty() {
            "/".to_string()
        } else {
            format!("/{}", config.query.trim_start_matches('/'))
        };
        Ok(Self {
            ranges,
            rewrites,
            service,
            query,
        })
    }

    fn catches(&self, status: StatusCode) -> bool {
        let s = status.as_u16();
        self.ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&s))
    }

    /// The status the client gets for an original `status`.
    fn rewritten(&self, status: StatusCode) -> StatusCode {
        let s = status.as_u16();
        self.rewrites
            .iter()
            .find(|((lo, hi), _)| (*lo..=*hi).contains(&s))
            .map_or(status, |(_, to)| *to)
    }

    /// The page's path and query for this answer.
    fn page_uri(&self, status: StatusCode, original: StatusCode, url: &str) -> String {
        self.query
            .replace("{status}", status.as_str())
            .replace("{originalStatus}", original.as_str())
            .replace("{url}", &query_escape(url))
    }

    async fn page(
        &self,
        original: Response<ProxyBody>,
        headers: HeaderMap,
        url: &str,
        next: Next<'_>,
    ) -> ProxyResult {
        let status = self.rewritten(original.status());
        let uri = self.page_uri(status, original.status(), url);
        let mut req = Request::new(empty());
        *req.method_mut() = Method::GET;
        *req.headers_mut() = headers;
        let built = uri.parse().map(|u| *req.uri_mut() = u);
        if let Err(e) = built {
            tracing::debug!(uri, error = %e, "error page URI is invalid");
            return Ok(original);
        }
        match self
            .service
            .clone()
            .serve(req, next.upstream().clone())
            .await
        {
            Ok(mut page) => {
                *page.status_mut() = status;
                Ok(page)
            }
            Err(e) => {
                tracing::debug!(error = %e, "error page could not be fetched");
                Ok(original)
            }
        }
    }
}

/// Escapes `s` for a query component, like Go's `url.QueryEscape` (space becomes `+`).
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl Middleware for Errors {
    fn handle<'a>(&'a self, req: Request<ProxyBody>, next: Next<'a>) -> BoxFuture<'a, ProxyResult> {
        Box::pin(async move {
            let mut headers = req.headers().clone();
            for h in [
                header::CONTENT_LENGTH,
                header::TRANSFER_ENCODING,
                header::CONTENT_TYPE,
            ] {
                headers.remove(h);
            }
            let url = req.uri().to_string();
            let resp = match next.run(req).await {
                Ok(resp) => resp,
                Err(e) => e.into_response(),
            };
            if !self.catches(resp.status()) {
                return Ok(resp);
            }
            self.page(resp, headers, &url, next).await
        })
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::super::testing::{body_string, get, run, Recorder};
    use super::*;

    fn config(json: serde_json::Value) -> raftgate_model::ErrorPage {
        serde_json::from_value(json).unwrap()
    }

    /// A backend answering `status` with body "original", and a page server.
    async fn setup(status: u16) -> (Recorder, Recorder) {
        let backend = Recorder::start(move |_| {
            Response::builder()
                .status(status)
                .header("x-from", "backend")
                .body(Bytes::from_static(b"original"))
                .unwrap()
        })
        .await;
        let pages = Recorder::start(|req| {
            Response::builder()
                .header("content-type", "text/html")
                .body(Bytes::from(format!("page for {}", req.uri())))
                .unwrap()
        })
        .await;
        (backend, pages)
    }

    #[tokio::test]
    async fn a_status_in_range_gets_the_page_with_the_original_status() {
        let (backend, pages) = setup(503).await;
        let mw = Errors::new(
            &config(serde_json::json!({"status": ["500-599"], "service": "pages", "query": "/{status}.html?from={url}"})),
            pages.service(),
        )
        .unwrap();
        let mut req = get("/");
        req.headers_mut().insert("x-user", "u1".parse().unwrap());
        *req.uri_mut() = "/a%20b?x=1".parse().unwrap();
        let resp = run(Arc::new(mw), &backend.service(), req).await.unwrap();
        assert_eq!(resp.status(), 503);
        assert_eq!(resp.headers()["content-type"], "text/html");
        assert!(
            resp.headers().get("x-from").is_none(),
            "the original headers are dropped"
        );
        assert_eq!(
            body_string(resp).await,
            "page for /503.html?from=%2Fa%2520b%3Fx%3D1"
        );
        let seen = &pages.requests()[0];
        assert_eq!(seen.method(), Method::GET);
        assert_eq!(seen.headers()["host"], "example.com");
        assert_eq!(seen.headers()["x-user"], "u1");
    }

    #[tokio::test]
    async fn statuses_out_of_range_pass_through() {
        let (backend, pages) = setup(404).await;
        let mw = Errors::new(
            &config(serde_json::json!({"status": ["500-599", "403"], "service": "pages"})),
            pages.service(),
        )
        .unwrap();
        let resp = run(Arc::new(mw), &backend.service(), get("/"))
            .await
            .unwrap();
        assert_eq!(resp.status(), 404);
        assert_eq!(body_string(resp).await, "original");
        assert!(pages.requests().is_empty());
    }

    #[tokio::test]
    async fn status_rewrites_change_the_answer_and_the_status_placeholder() {
        let (backend, pages) = setup(418).await;
        let mw = Errors::new(
            &config(serde_json::json!({"status": ["400-499"], "service": "pages", "query": "/{status}-{originalStatus}", "statusRewrites": {"418": 404}})),
            pages.service(),
        )
        .unwrap();
        let resp = run(Arc::new(mw), &backend.service(), get("/"))
            .await
            .unwrap();
        assert_eq!(resp.status(), 404);
        assert_eq!(body_string(resp).await, "page for /404-418");
    }

    #[tokio::test]
    async fn errors_of_the_proxy_itself_get_the_page() {
        let pages = Recorder::ok().await;
        // A port with nothing listening: the proxy answers 502 itself.
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let down = crate::proxy::service::single_server_for_tests(&format!("http://{closed}"));
        let mw = Errors::new(
            &config(
                serde_json::json!({"status": ["502"], "service": "pages", "query": "/{status}"}),
            ),
            pages.service(),
        )
        .unwrap();
        let resp = run(Arc::new(mw), &down, get("/")).await.unwrap();
        assert_eq!(resp.status(), 502);
        assert_eq!(body_string(resp).await, "ok");
        assert_eq!(pages.requests()[0].uri(), "/502");
    }

    #[tokio::test]
    async fn an_unreachable_page_service_leaves_the_original_answer() {
        let (backend, _) = setup(500).await;
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let down = crate::proxy::service::single_server_for_tests(&format!("http://{closed}"));
        let mw = Errors::new(
            &config(serde_json::json!({"status": ["500"], "service": "pages"})),
            down,
        )
        .unwrap();
        let resp = run(Arc::new(mw), &backend.service(), get("/"))
            .await
            .unwrap();
        assert_eq!(resp.status(), 500);
        assert_eq!(body_string(resp).await, "original");
    }

    #[test]
    fn query_escape_matches_go() {
        assert_eq!(query_escape("/a b?c=d&e"), "%2Fa+b%3Fc%3Dd%26e");
    }
}
