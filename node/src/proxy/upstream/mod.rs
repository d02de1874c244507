//! The upstream client: keep-alive HTTP/1.1 connections from raftgate's own pool (see
//! [`pool`] and [`conn`]: a connection is driven by the request that holds it, so a proxied
//! request costs no task switch), prior-knowledge HTTP/2 for `h2c://` servers through
//! hyper-util's pooled client, and bounded dial and response times.

mod body;
mod conn;
mod http1;
mod pool;

use std::future::Future;
use std::time::Duration;

use futures::future::Either;
use http::uri::{Authority, PathAndQuery};
use http::{header, HeaderValue, Request, Response, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

pub use self::body::UpstreamBody;

use self::http1::Http1Client;
use super::body::ProxyBody;
use super::error::{error_chain, ProxyError};
use super::forward::is_upgrade;

/// A boxed response future, for the paths that are not the common one.
type BoxedSend =
    std::pin::Pin<Box<dyn Future<Output = Result<Response<UpstreamBody>, ProxyError>> + Send>>;

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
    http1: Http1Client,
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
        let h2c = Client::builder(TokioExecutor::new())
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(config.idle_timeout)
            .pool_max_idle_per_host(config.max_idle_per_host)
            .http2_only(true)
            .build(connector);
        Self {
            http1: Http1Client::new(config),
            h2c,
            response_timeout: config.response_timeout,
        }
    }

    /// Sends `req` (its URI absolute) and waits for the response headers.
    pub fn send(
        &self,
        req: Request<ProxyBody>,
        h2c: bool,
    ) -> impl Future<Output = Result<Response<UpstreamBody>, ProxyError>> + Send + 'static {
        match req.uri().authority().cloned() {
            Some(server) => {
                let upgrade = is_upgrade(req.headers());
                Either::Left(self.send_to(server, req, h2c, upgrade))
            }
            None => Either::Right(std::future::ready(Err(ProxyError::BadRequest(
                "no upstream host".into(),
            )))),
        }
    }

    /// Sends `req` to `server` (whatever the request's URI names) and waits for the response
    /// headers. `upgrade`: the request asks for a protocol switch (the caller has checked).
    ///
    /// A plain function choosing a future, not an `async fn`: the common path's future is
    /// the only one stored inline, the rare paths are boxed, and the request is moved once.
    /// The future owns what it uses, so callers can hold it without borrowing the client.
    pub fn send_to(
        &self,
        server: Authority,
        mut req: Request<ProxyBody>,
        h2c: bool,
        upgrade: bool,
    ) -> impl Future<Output = Result<Response<UpstreamBody>, ProxyError>> + Send + 'static {
        if h2c {
            to_absolute_form(&mut req, &server);
            let client = self.h2c.clone();
            let limit = self.response_timeout;
            Either::Left(Box::pin(async move {
                let resp = within(limit, &server, client.request(req))
                    .await?
                    .map_err(|e| connect_error(&server, &e))?;
                Ok(resp.map(UpstreamBody::detached))
            }) as BoxedSend)
        } else if upgrade {
            Either::Left(Box::pin(self.http1.clone().send_upgrade(server, req)) as BoxedSend)
        } else {
            Either::Right(self.http1.clone().send(server, req))
        }
    }

    /// How many idle HTTP/1.1 connections to `server` wait in the pool.
    #[cfg(test)]
    pub(crate) fn idle_connections(&self, server: &str) -> usize {
        self.http1
            .idle_connections(&server.parse().expect("authority"))
    }
}

/// Bounds `fut` by `limit`, if there is one.
async fn within<F: Future>(
    limit: Option<Duration>,
    server: &Authority,
    fut: F,
) -> Result<F::Output, ProxyError> {
    match limit {
        Some(limit) => tokio::time::timeout(limit, fut)
            .await
            .map_err(|_| ProxyError::Timeout(server.to_string())),
        None => Ok(fut.await),
    }
}

/// Turns an absolute URI into the origin form an HTTP/1.1 server expects, naming the server in
/// `Host` when the request carries none.
fn to_origin_form(req: &mut Request<ProxyBody>, server: &Authority) {
    if req.uri().scheme().is_some() || req.uri().authority().is_some() {
        let path = req
            .uri()
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        *req.uri_mut() = Uri::from(path);
    }
    if !req.headers().contains_key(header::HOST) {
        if let Ok(host) = HeaderValue::from_str(server.as_str()) {
            req.headers_mut().insert(header::HOST, host);
        }
    }
}

/// Gives `req` the absolute URI `http://server/path` hyper-util's client expects.
fn to_absolute_form(req: &mut Request<ProxyBody>, server: &Authority) {
    let mut parts = http::uri::Parts::default();
    parts.scheme = Some(http::uri::Scheme::HTTP);
    parts.authority = Some(server.clone());
    parts.path_and_query = Some(
        req.uri()
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/")),
    );
    if let Ok(uri) = Uri::from_parts(parts) {
        *req.uri_mut() = uri;
    }
}

/// A failed exchange with `server`: 502, unless what failed was reading the client's own
/// request body (400).
fn connect_error(server: &Authority, e: &(dyn std::error::Error + 'static)) -> ProxyError {
    if let Some(client) = crate::proxy::body::client_body_error(e) {
        return ProxyError::BadRequest(error_chain(client));
    }
    ProxyError::Connect {
        upstream: server.to_string(),
        reason: error_chain(e),
    }
}

#[cfg(test)]
mod tests;
