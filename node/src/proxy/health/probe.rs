//! Sending one health-check request to a server and judging the answer.
//!
//! A [`Prober`] holds the HTTP clients (HTTP/1.1, and HTTP/2 with prior knowledge for `h2c`)
//! and is cheap to clone. It keeps no idle connection: every probe opens a fresh one, so a
//! server that stops accepting connections is noticed. HTTPS targets are not probed yet (TLS
//! to upstreams comes with the upstream TLS work); [`ProbeError::TlsUnsupported`] says so.

use std::time::Duration;

use bytes::Bytes;
use http::header::{HOST, LOCATION};
use http::{Method, Request, StatusCode, Uri};
use http_body_util::Empty;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use thiserror::Error;

use super::spec::{HealthCheckSpec, ProbeScheme};
use crate::proxy::balance::ServerState;
use crate::proxy::error::error_chain;

/// Most redirects followed by one probe (Go's HTTP client stops at 10 too).
const MAX_REDIRECTS: usize = 10;

/// Why a probe failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProbeError {
    /// The target is `https`: TLS health checks are not implemented yet.
    #[error("https health checks are not supported yet")]
    TlsUnsupported,
    /// The probe URL could not be built.
    #[error("cannot build the probe URL: {0}")]
    Url(String),
    /// Connecting or exchanging the request failed.
    #[error("request failed: {0}")]
    Request(String),
    /// No answer within the timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The answer's status is not the expected one.
    #[error("unexpected status {0}")]
    Status(StatusCode),
    /// More than [`MAX_REDIRECTS`] redirects.
    #[error("more than {MAX_REDIRECTS} redirects")]
    TooManyRedirects,
}

type HttpClient = Client<HttpConnector, Empty<Bytes>>;

/// Sends health-check requests. Build one and clone it for every checker.
#[derive(Clone)]
pub struct Prober {
    http1: HttpClient,
    h2c: HttpClient,
}

impl Default for Prober {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Prober {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Prober")
    }
}

impl Prober {
    /// The HTTP/1.1 and h2c clients.
    pub fn new() -> Self {
        let build = |h2: bool| {
            Client::builder(TokioExecutor::new())
                .pool_max_idle_per_host(0)
                .http2_only(h2)
                .build(HttpConnector::new())
        };
        Prober {
            http1: build(false),
            h2c: build(true),
        }
    }

    /// Probes `server` once as `spec` says, within `spec.timeout`.
    pub async fn probe(
        &self,
        spec: &HealthCheckSpec,
        server: &ServerState,
    ) -> Result<(), ProbeError> {
        let scheme = match spec.scheme {
            Some(s) => s,
            None => server
                .url
                .scheme_str()
                .and_then(ProbeScheme::parse)
                .ok_or_else(|| ProbeError::Url(format!("{} has no usable scheme", server.url)))?,
        };
        if scheme == ProbeScheme::Https {
            return Err(ProbeError::TlsUnsupported);
        }
        let uri = target(spec, &server.url)?;
        let client = if scheme == ProbeScheme::H2c {
            &self.h2c
        } else {
            &self.http1
        };
        let status = tokio::time::timeout(spec.timeout, self.exchange(client, spec, uri))
            .await
            .map_err(|_| ProbeError::Timeout(spec.timeout))??;
        if spec.accepts(status) {
            Ok(())
        } else {
            Err(ProbeError::Status(status))
        }
    }

    /// Sends the probe, following redirects if asked to; returns the final status.
    async fn exchange(
        &self,
        client: &HttpClient,
        spec: &HealthCheckSpec,
        mut uri: Uri,
    ) -> Result<StatusCode, ProbeError> {
        let mut method = spec.method.clone();
        let mut host = spec.hostname.clone();
        for _ in 0..=MAX_REDIRECTS {
            let mut req = Request::builder()
                .method(method.clone())
                .uri(uri.clone())
                .body(Empty::new())
                .map_err(|e| ProbeError::Url(e.to_string()))?;
            req.headers_mut().extend(spec.headers.clone());
            if let Some(h) = &host {
                req.headers_mut().insert(HOST, h.clone());
            }
            let resp = client
                .request(req)
                .await
                .map_err(|e| ProbeError::Request(error_chain(&e)))?;
            let status = resp.status();
            if !spec.follow_redirects || !is_followed_redirect(status) {
                return Ok(status);
            }
            let Some(location) = resp.headers().get(LOCATION).and_then(|l| l.to_str().ok()) else {
                return Ok(status);
            };
            let Some(next) = resolve(&uri, location) else {
                // A redirect elsewhere than plain HTTP (https needs TLS, not there yet): the
                // redirect itself is the answer.
                return Ok(status);
            };
            // Like Go's client: a custom Host survives only relative redirects, and a 303
            // (or a 301/302 of a POST) turns into a GET.
            if location
                .parse::<Uri>()
                .map_or(true, |u| u.scheme().is_some())
            {
                host = None;
            }
            if status == StatusCode::SEE_OTHER
                || (method == Method::POST && matches!(status.as_u16(), 301 | 302))
            {
                method = Method::GET;
            }
            uri = next;
        }
        Err(ProbeError::TooManyRedirects)
    }
}

/// The probe URL: the server's host, `spec.port` or the server's port, and `spec.path`. The
/// request goes out as `http` (h2c too: the h2c client speaks HTTP/2 over plain TCP).
fn target(spec: &HealthCheckSpec, server: &Uri) -> Result<Uri, ProbeError> {
    let host = server
        .host()
        .ok_or_else(|| ProbeError::Url(format!("{server} has no host")))?;
    let authority = match spec.port.or_else(|| server.port_u16()) {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    };
    Uri::builder()
        .scheme("http")
        .authority(authority)
        .path_and_query(spec.path.clone())
        .build()
        .map_err(|e| ProbeError::Url(e.to_string()))
}

fn is_followed_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// `location` resolved against `base`, if it stays on plain HTTP.
fn resolve(base: &Uri, location: &str) -> Option<Uri> {
    let base = url::Url::parse(&base.to_string()).ok()?;
    let next = base.join(location).ok()?;
    if next.scheme() != "http" {
        return None;
    }
    next.as_str().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::health::test_server::{closed_port, TestServer};

    fn spec() -> HealthCheckSpec {
        HealthCheckSpec {
            path: "/health".parse().expect("path"),
            timeout: Duration::from_millis(500),
            ..HealthCheckSpec::default()
        }
    }

    fn server(addr: std::net::SocketAddr) -> std::sync::Arc<ServerState> {
        ServerState::parse(&format!("http://{addr}/base")).expect("valid url")
    }

    #[test]
    fn target_replaces_path_and_port() {
        let mut s = spec();
        let server: Uri = "http://10.0.0.1:8080/base?x=1".parse().expect("uri");
        assert_eq!(
            target(&s, &server).expect("target").to_string(),
            "http://10.0.0.1:8080/health"
        );
        s.port = Some(9000);
        assert_eq!(
            target(&s, &server).expect("target").to_string(),
            "http://10.0.0.1:9000/health"
        );
        let v6: Uri = "h2c://[::1]/".parse().expect("uri");
        assert_eq!(
            target(&s, &v6).expect("target").to_string(),
            "http://[::1]:9000/health"
        );
    }

    #[test]
    fn redirects_resolve_on_plain_http_only() {
        let base: Uri = "http://a:1/x/y".parse().expect("uri");
        assert_eq!(
            resolve(&base, "/z").map(|u| u.to_string()),
            Some("http://a:1/z".to_string())
        );
        assert_eq!(
            resolve(&base, "http://b/").map(|u| u.to_string()),
            Some("http://b/".to_string())
        );
        assert_eq!(resolve(&base, "https://a/"), None);
    }

    #[tokio::test]
    async fn judges_the_status() {
        let srv = TestServer::start().await;
        let prober = Prober::new();
        let server = server(srv.addr);
        assert_eq!(prober.probe(&spec(), &server).await, Ok(()));
        assert_eq!(srv.last_path().as_deref(), Some("/health"));
        srv.set_status(503);
        assert_eq!(
            prober.probe(&spec(), &server).await,
            Err(ProbeError::Status(StatusCode::SERVICE_UNAVAILABLE))
        );
        srv.set_status(204);
        let exact = HealthCheckSpec {
            status: Some(StatusCode::OK),
            ..spec()
        };
        assert_eq!(
            prober.probe(&exact, &server).await,
            Err(ProbeError::Status(StatusCode::NO_CONTENT))
        );
    }

    #[tokio::test]
    async fn sends_host_and_headers() {
        let srv = TestServer::start().await;
        let mut s = spec();
        s.hostname = Some(http::HeaderValue::from_static("backend.local"));
        s.headers
            .insert("x-probe", http::HeaderValue::from_static("yes"));
        assert_eq!(Prober::new().probe(&s, &server(srv.addr)).await, Ok(()));
        let seen = srv.last_headers().expect("a request");
        assert_eq!(
            seen.get(HOST).map(|h| h.as_bytes()),
            Some(&b"backend.local"[..])
        );
        assert_eq!(seen.get("x-probe").map(|h| h.as_bytes()), Some(&b"yes"[..]));
    }

    #[tokio::test]
    async fn follows_redirects_unless_told_not_to() {
        let srv = TestServer::start().await;
        let server = server(srv.addr);
        let mut s = spec();
        s.path = "/redirect".parse().expect("path");
        srv.set_status(500);
        // Followed: the final 500 counts.
        assert_eq!(
            Prober::new().probe(&s, &server).await,
            Err(ProbeError::Status(StatusCode::INTERNAL_SERVER_ERROR))
        );
        assert_eq!(srv.last_path().as_deref(), Some("/health"));
        // Not followed: the 302 itself is a healthy answer.
        s.follow_redirects = false;
        assert_eq!(Prober::new().probe(&s, &server).await, Ok(()));
        s.follow_redirects = true;
        s.path = "/loop".parse().expect("path");
        assert_eq!(
            Prober::new().probe(&s, &server).await,
            Err(ProbeError::TooManyRedirects)
        );
    }

    #[tokio::test]
    async fn closed_port_and_timeouts_fail() {
        let port = closed_port().await;
        let server = ServerState::parse(&format!("http://127.0.0.1:{port}")).expect("valid url");
        assert!(matches!(
            Prober::new().probe(&spec(), &server).await,
            Err(ProbeError::Request(_))
        ));
        let srv = TestServer::start().await;
        srv.set_delay(Duration::from_secs(5));
        let s = HealthCheckSpec {
            timeout: Duration::from_millis(50),
            ..spec()
        };
        assert_eq!(
            Prober::new().probe(&s, &self::server(srv.addr)).await,
            Err(ProbeError::Timeout(Duration::from_millis(50)))
        );
    }

    #[tokio::test]
    async fn https_is_reported_as_unsupported() {
        let server = ServerState::parse("https://127.0.0.1:1").expect("valid url");
        assert_eq!(
            Prober::new().probe(&spec(), &server).await,
            Err(ProbeError::TlsUnsupported)
        );
    }
}
