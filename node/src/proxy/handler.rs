//! One request through the proxy: check and normalize it, match a router on the current
//! runtime, rewrite the forwarding headers, and hand it to the router's service.

use std::net::SocketAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use http::{header, HeaderValue, Request, Response};
use hyper::body::Incoming;
use ipnet::IpNet;

use super::body::{from_client, ProxyBody};
use super::error::ProxyError;
use super::forward::{ip_header, is_upgrade, request_headers, ForwardInfo};
use super::middleware::{Next, RequestCtx};
use super::request::{normalize_host, normalize_path, RequestInfo};
use super::runtime::Runtime;
use super::upstream::Upstream;
use crate::ops::metrics::RequestMetrics;

/// What every request of one entrypoint shares.
pub struct EntryPointContext {
    /// The entrypoint's name (`web`).
    pub name: String,
    /// The port it listens on.
    pub port: u16,
    /// The same, as a header value (`X-Forwarded-Port`).
    pub port_header: HeaderValue,
    /// The runtime being served.
    pub runtime: Arc<ArcSwap<Runtime>>,
    /// The upstream client.
    pub upstream: Arc<Upstream>,
    /// This node's name, for `X-Forwarded-Server`.
    pub server_name: HeaderValue,
    /// Peers whose `X-Forwarded-*` headers are kept (the others' are replaced).
    pub trusted_ips: Arc<[IpNet]>,
    /// Request counters and latency of this entrypoint.
    pub metrics: RequestMetrics,
}

/// One client connection: what its requests share.
pub struct Downstream {
    /// The entrypoint it came in through.
    pub entrypoint: Arc<EntryPointContext>,
    /// The client's address.
    pub peer: SocketAddr,
    /// The client's IP as a header value, formatted once per connection.
    pub peer_ip: HeaderValue,
    /// Whether the client may send `X-Forwarded-*` headers that are kept.
    pub trusted: bool,
}

impl Downstream {
    /// The context of a connection from `peer` to `entrypoint`.
    pub fn new(entrypoint: Arc<EntryPointContext>, peer: SocketAddr) -> Self {
        let trusted = entrypoint
            .trusted_ips
            .iter()
            .any(|net| net.contains(&peer.ip()));
        Self {
            entrypoint,
            peer,
            peer_ip: ip_header(peer.ip()),
            trusted,
        }
    }
}

/// Serves one request; every failure becomes a response here.
pub async fn handle(conn: Arc<Downstream>, req: Request<Incoming>) -> Response<ProxyBody> {
    let started = std::time::Instant::now();
    let ctx = &conn.entrypoint;
    let mut resp = match route(&conn, req).await {
        Ok(resp) => resp,
        Err(e) => {
            tracing::debug!(error = %e, "request answered by the proxy");
            e.into_response()
        }
    };
    // The answer is in the proxy's HTTP version, not the backend's (an HTTP/1.0 server's
    // answer goes out as HTTP/1.1, as Traefik's does); HTTP/2 connections ignore it.
    *resp.version_mut() = http::Version::HTTP_11;
    ctx.metrics
        .observe(resp.status().as_u16(), started.elapsed().as_secs_f64());
    resp
}

/// Refuses what no router may be chosen for (400), and leaves in the `Host` header the one
/// host the request names, which is the host routed and the host forwarded; returns it. (A
/// request with both `Content-Length` and `Transfer-Encoding` never gets here as such: hyper
/// reads it by its chunked encoding, drops the length and closes the connection after the
/// answer, RFC 9112 §6.3, as Go's server does for Traefik.)
/// - a transfer coding other than `chunked` (501, as Go's server answers);
/// - more than one `Host` header, or an HTTP/1.1 request without one, or a `Host` that is no
///   host (`a b`), as Go's server refuses them for Traefik;
/// - in absolute form (`GET http://a.example/x HTTP/1.1`, and HTTP/2's `:authority`), the
///   authority of the target is the host and replaces any `Host` sent (RFC 9112 §3.2.2).
fn check_head(parts: &mut http::request::Parts) -> Result<Option<HeaderValue>, ProxyError> {
    let bad = |why: &str| Err(ProxyError::BadRequest(why.into()));
    if let Some(te) = parts.headers.get(header::TRANSFER_ENCODING) {
        // hyper has decoded the chunked framing; any other coding would reach the server
        // silently dropped. Go's server answers 501 for Traefik.
        if !te.as_bytes().trim_ascii().eq_ignore_ascii_case(b"chunked") {
            return Err(ProxyError::NotImplemented(
                "transfer codings other than chunked".into(),
            ));
        }
    }
    let mut hosts = parts.headers.get_all(header::HOST).iter();
    let sent = hosts.next();
    if hosts.next().is_some() {
        return bad("more than one Host header");
    }
    if let Some(authority) = parts.uri.authority() {
        let host = authority
            .as_str()
            .rsplit_once('@')
            .map_or(authority.as_str(), |(_, host)| host);
        if let Some(same) = sent.filter(|h| h.as_bytes() == host.as_bytes()) {
            return Ok(Some(same.clone()));
        }
        let value = HeaderValue::from_str(host)
            .map_err(|_| ProxyError::BadRequest("invalid host in the request target".into()))?;
        parts.headers.insert(header::HOST, value.clone());
        return Ok(Some(value));
    }
    match sent {
        None if parts.version == http::Version::HTTP_11 => bad("missing Host header"),
        Some(h) if !is_host(h.as_bytes()) => bad("invalid Host header"),
        _ => Ok(sent.cloned()),
    }
}

/// Whether a `Host` value is made of what a host and port may hold (a registered name, an IP
/// literal in brackets, percent-escapes, a port), as Go's `ValidHostHeader` sees it.
fn is_host(value: &[u8]) -> bool {
    value.iter().all(|&b| HOST_BYTES[usize::from(b)])
}

/// The bytes [`is_host`] allows, as a table: one load per byte on every request.
static HOST_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric();
        b += 1;
    }
    let extra = b"-._~!$&'()*+,;=:[]%";
    let mut i = 0;
    while i < extra.len() {
        table[extra[i] as usize] = true;
        i += 1;
    }
    table
};

async fn route(
    conn: &Downstream,
    req: Request<Incoming>,
) -> Result<Response<ProxyBody>, ProxyError> {
    let ctx = &*conn.entrypoint;
    let peer = conn.peer;
    let (mut parts, body) = req.into_parts();
    let host_header = check_head(&mut parts)?;
    // A clone shares the URI's bytes; it stays as received while `parts.uri` may change.
    let uri = parts.uri.clone();
    let raw_path = uri.path();
    let path = normalize_path(raw_path).map_err(|e| ProxyError::BadRequest(e.to_string()))?;
    let host = normalize_host(
        host_header
            .as_ref()
            .and_then(|h| h.to_str().ok())
            .unwrap_or(""),
    );
    let query = uri.query();

    let runtime = ctx.runtime.load_full();
    let target = {
        let info = RequestInfo {
            method: &parts.method,
            host: &host,
            path: &path,
            query,
            headers: &parts.headers,
            client_ip: peer.ip(),
        };
        runtime
            .table(&ctx.name)
            .and_then(|t| t.lookup(&info))
            .map(|entry| &entry.target)
            .ok_or(ProxyError::NotFound)?
    };
    if let Some(reason) = &target.broken {
        return Err(ProxyError::Unavailable(format!(
            "router {}: {reason}",
            target.router
        )));
    }
    // Forward the normalized path: routing and the upstream see the same one.
    if path.as_ref() != raw_path {
        let pq = match &query {
            Some(q) => format!("{path}?{q}"),
            None => path.to_string(),
        };
        parts.uri = pq
            .parse()
            .map_err(|e: http::uri::InvalidUri| ProxyError::BadRequest(e.to_string()))?;
    }
    let upgrade = is_upgrade(&parts.headers);
    let info = ForwardInfo {
        client_ip: &conn.peer_ip,
        proto: "http",
        host: host_header.as_ref(),
        port: &ctx.port_header,
        server: &ctx.server_name,
        trusted: conn.trusted,
    };
    request_headers(&mut parts.headers, &info, upgrade);
    drop(path);
    let req = Request::from_parts(parts, from_client(body));
    if target.middlewares.is_empty() {
        return target
            .service
            .clone()
            .serve(req, ctx.upstream.clone())
            .await;
    }
    let request_ctx = RequestCtx {
        client_ip: peer.ip(),
        scheme: "http",
        port: ctx.port,
    };
    Next::new(
        &target.middlewares,
        &target.service,
        &ctx.upstream,
        &request_ctx,
    )
    .run(req)
    .await
}
