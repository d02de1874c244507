//! The pooled upstream client: keep-alive HTTP/1.1 connections (and prior-knowledge HTTP/2
//! for `h2c://` servers), bounded dial and response times.

use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::body::ProxyBody;
use super::error::{error_chain, ProxyError};

/// Upstream connection settings (Traefik's `serversTransport` basics), node-wide for now.
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    /// Time allowed to connect to a server.
    pub dial_timeout: Duration,
    /// Time allowed for a server's response headers (`None`: unbounded).
    pub response_timeout: Option<Duration>,
    /// Idle keep-alive connections kept per server.
    pub max_idle_per_host: usize,
    /// How long an idle connection is kept.
    pub idle_timeout: Duration,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        Self {
            dial_timeout: Duration::from_secs(30),
            response_timeout: None,
            max_idle_per_host: 200,
            idle_timeout: Duration::from_secs(90),
        }
    }
}

/// Sends requests to upstream servers over pooled connections.
pub struct Upstream {
    http1: Client<HttpConnector, ProxyBody>,
    h2c: Client<HttpConnector, ProxyBody>,
    response_timeout: Option<Duration>,
}

impl Upstream {
    /// A client with `config`'s limits.
    pub fn new(config: &UpstreamConfig) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(config.dial_timeout));
        connector.set_keepalive(Some(Duration::from_secs(60)));
        let build = |h2: bool| {
            let mut b = Client::builder(TokioExecutor::new());
            b.timer(TokioTimer::new())
                .pool_timer(TokioTimer::new())
                .pool_idle_timeout(config.idle_timeout)
                .pool_max_idle_per_host(config.max_idle_per_host)
                .http2_only(h2);
            b.build(connector.clone())
        };
        Self {
            http1: build(false),
            h2c: build(true),
            response_timeout: config.response_timeout,
        }
    }

    /// Sends `req` (its URI absolute) and waits for the response headers.
    pub async fn send(
        &self,
        req: Request<ProxyBody>,
        h2c: bool,
    ) -> Result<Response<Incoming>, ProxyError> {
        let upstream = req
            .uri()
            .authority()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let client = if h2c { &self.h2c } else { &self.http1 };
        let sent = client.request(req);
        let result = match self.response_timeout {
            Some(limit) => tokio::time::timeout(limit, sent)
                .await
                .map_err(|_| ProxyError::Timeout(upstream.clone()))?,
            None => sent.await,
        };
        result.map_err(|e| ProxyError::Connect {
            upstream,
            reason: error_chain(&e),
        })
    }
}
