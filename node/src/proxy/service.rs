//! Compiled services and how each kind serves a request: a load balancer over servers,
//! a weighted split, mirroring (main answers, mirrors get copies whose answers are dropped)
//! and failover (main while it has a healthy server, else the fallback).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use std::future::{ready, Future};

use futures::future::{BoxFuture, Either};
use futures::FutureExt;
use http::uri::Authority;
use http::{header, Request, Response, StatusCode, Uri, Version};
use http_body_util::BodyExt;
use hyper::body::Body;
use hyper_util::rt::TokioIo;

use super::balance::{InflightGuard, LoadBalancer, SmoothWrr, StickyCookie};
use super::body::{boxed, empty, full, Guarded, ProxyBody};
use super::error::ProxyError;
use super::forward::{is_upgrade, strip_hop_by_hop};
use super::upstream::{Upstream, UpstreamBody};

/// Mirrored bodies are buffered up to this size when the service sets no `maxBodySize`.
pub const DEFAULT_MIRROR_BODY_LIMIT: u64 = 4 << 20;

/// A compiled service.
pub enum ServiceRuntime {
    /// Servers behind a load balancer.
    Balanced(Balanced),
    /// A weighted split between services.
    Weighted(Weighted),
    /// Main service plus mirrors.
    Mirroring(Mirroring),
    /// Main service with a fallback.
    Failover(Failover),
    /// Traefik's `noop@internal`: 418, empty body.
    Noop,
}

/// Where a server is reached.
#[derive(Debug, Clone)]
pub struct Target {
    authority: Authority,
    h2c: bool,
}

impl Target {
    /// Parses a server URL (`http://`, `h2c://`; `https://` is refused until TLS lands).
    pub fn parse(url: &str) -> Result<Self, String> {
        let uri: Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
        let authority = uri
            .authority()
            .cloned()
            .ok_or_else(|| format!("{url}: no host"))?;
        let h2c = match uri.scheme_str() {
            Some("http") => false,
            Some("h2c") => true,
            Some(other) => return Err(format!("{url}: scheme {other} is not supported yet")),
            None => return Err(format!("{url}: no scheme")),
        };
        Ok(Self { authority, h2c })
    }
}

/// A load-balanced service.
pub struct Balanced {
    /// Service name.
    pub name: String,
    /// The balancer over its servers.
    pub lb: LoadBalancer,
    /// Where each server (same order as `lb.servers()`) is reached.
    pub targets: Vec<Target>,
    /// Keep the client's Host header (Traefik's default) instead of the server's.
    pub pass_host_header: bool,
    /// The client of its servers transport; `None`: the entrypoint's (node defaults).
    pub transport: Option<Arc<Upstream>>,
}

/// A weighted split between services.
pub struct Weighted {
    /// Service name.
    pub name: String,
    /// The services and the balancer among them.
    pub children: Vec<Arc<ServiceRuntime>>,
    /// Weighted round robin over `children`.
    pub wrr: SmoothWrr,
    /// Optional sticky cookie pinning a client to one child, with each child's cookie id.
    pub sticky: Option<(StickyCookie, Vec<String>)>,
}

impl Weighted {
    /// A cookie id for a child service: hex of the first 8 bytes of SHA-256 of its name.
    pub fn child_id(name: &str) -> String {
        use sha2::Digest;
        hex::encode(&sha2::Sha256::digest(name.as_bytes())[..8])
    }

    async fn serve(
        &self,
        req: Request<ProxyBody>,
        upstream: Arc<Upstream>,
    ) -> Result<Response<ProxyBody>, ProxyError> {
        let available = |i: usize| self.children[i].is_available();
        let pinned = self.sticky.as_ref().and_then(|(cookie, ids)| {
            cookie.pinned_by(req.headers(), |v| {
                ids.iter().position(|id| id == v).filter(|i| available(*i))
            })
        });
        let child = match pinned {
            Some(i) => i,
            None => self
                .wrr
                .next(available)
                .ok_or_else(|| ProxyError::NoServer(self.name.clone()))?,
        };
        let mut resp = self.children[child].clone().serve(req, upstream).await?;
        if let (None, Some((cookie, ids))) = (pinned, &self.sticky) {
            resp.headers_mut()
                .append(header::SET_COOKIE, cookie.set_cookie_for(&ids[child]));
        }
        Ok(resp)
    }
}

/// A mirroring service.
pub struct Mirroring {
    /// The service that answers.
    pub main: Arc<ServiceRuntime>,
    /// Mirrors with the percentage of requests each receives.
    pub mirrors: Vec<(Arc<ServiceRuntime>, u32)>,
    /// Copy the body to mirrors.
    pub mirror_body: bool,
    /// Largest body copied to mirrors.
    pub max_body_size: u64,
    /// Requests seen (spreads the percentages evenly).
    pub counter: AtomicU64,
}

/// A failover pair.
pub struct Failover {
    /// Used while it has a healthy server.
    pub main: Arc<ServiceRuntime>,
    /// Used otherwise.
    pub fallback: Arc<ServiceRuntime>,
}

/// A load-balanced service with one server at `url`, for tests of code in front of services.
#[cfg(test)]
pub(crate) fn single_server_for_tests(url: &str) -> Arc<ServiceRuntime> {
    let server = super::balance::ServerState::parse(url).expect("server url");
    Arc::new(ServiceRuntime::Balanced(Balanced {
        name: "test".into(),
        lb: LoadBalancer::new(vec![(server, 1)], super::balance::Strategy::Wrr, None),
        targets: vec![Target::parse(url).expect("server url")],
        pass_host_header: true,
        transport: None,
    }))
}

impl ServiceRuntime {
    /// Whether the service can currently take a request (some healthy server behind it).
    pub fn is_available(&self) -> bool {
        match self {
            ServiceRuntime::Balanced(b) => b.lb.is_available(),
            ServiceRuntime::Weighted(w) => w.children.iter().any(|c| c.is_available()),
            ServiceRuntime::Mirroring(m) => m.main.is_available(),
            ServiceRuntime::Failover(f) => f.main.is_available() || f.fallback.is_available(),
            ServiceRuntime::Noop => true,
        }
    }

    /// Serves `req` (headers already prepared for forwarding). A load-balanced service's
    /// future is returned as it is (no box, no copy of the request into an outer future);
    /// services made of services are boxed.
    pub fn serve(
        self: Arc<Self>,
        req: Request<ProxyBody>,
        upstream: Arc<Upstream>,
    ) -> impl Future<Output = Result<Response<ProxyBody>, ProxyError>> + Send + 'static {
        if let ServiceRuntime::Balanced(b) = &*self {
            return Either::Left(b.serve(req, b.transport.as_deref().unwrap_or(&upstream)));
        }
        Either::Right(self.serve_composite(req, upstream))
    }

    /// Serves through a service made of services (boxed: they recurse).
    fn serve_composite(
        self: Arc<Self>,
        req: Request<ProxyBody>,
        upstream: Arc<Upstream>,
    ) -> BoxFuture<'static, Result<Response<ProxyBody>, ProxyError>> {
        Box::pin(async move {
            match &*self {
                ServiceRuntime::Balanced(b) => {
                    b.serve(req, b.transport.as_deref().unwrap_or(&upstream))
                        .await
                }
                ServiceRuntime::Weighted(w) => w.serve(req, upstream).await,
                ServiceRuntime::Mirroring(m) => m.serve(req, upstream).await,
                ServiceRuntime::Failover(f) => {
                    let chosen = if f.main.is_available() {
                        &f.main
                    } else {
                        &f.fallback
                    };
                    chosen.clone().serve(req, upstream).await
                }
                ServiceRuntime::Noop => {
                    let mut response = Response::new(crate::proxy::body::empty());
                    *response.status_mut() = http::StatusCode::IM_A_TEAPOT;
                    Ok(response)
                }
            }
        })
    }
}

impl Balanced {
    /// Picks a server and sends `req` to it; the rest happens when the response comes.
    fn serve(
        &self,
        mut req: Request<ProxyBody>,
        upstream: &Upstream,
    ) -> impl Future<Output = Result<Response<ProxyBody>, ProxyError>> + Send + 'static {
        let Some(pick) = self.lb.pick(req.headers()) else {
            return Either::Left(ready(Err(ProxyError::NoServer(self.name.clone()))));
        };
        let target = &self.targets[pick.index];
        let upgrade = is_upgrade(req.headers());
        let after = AfterResponse {
            _inflight: self.lb.servers()[pick.index].begin(),
            client_upgrade: upgrade.then(|| hyper::upgrade::on(&mut req)),
            set_cookie: pick.set_cookie,
        };
        *req.version_mut() = if target.h2c {
            Version::HTTP_2
        } else {
            Version::HTTP_11
        };
        if !self.pass_host_header {
            if let Ok(host) = http::HeaderValue::from_str(target.authority.as_str()) {
                req.headers_mut().insert(header::HOST, host);
            }
        }
        let sent = upstream.send_to(target.authority.clone(), req, target.h2c, upgrade);
        Either::Right(sent.map(move |resp| after.finish(resp?)))
    }
}

/// What a load-balanced request still has to do once its server answered.
struct AfterResponse {
    /// Counts the request against its server until the response body ends.
    _inflight: InflightGuard,
    client_upgrade: Option<hyper::upgrade::OnUpgrade>,
    set_cookie: Option<http::HeaderValue>,
}

impl AfterResponse {
    fn finish(self, mut resp: Response<UpstreamBody>) -> Result<Response<ProxyBody>, ProxyError> {
        let switching = resp.status() == StatusCode::SWITCHING_PROTOCOLS;
        if switching {
            if let Some(client_upgrade) = self.client_upgrade {
                let upstream_upgrade = hyper::upgrade::on(&mut resp);
                tokio::spawn(tunnel(client_upgrade, upstream_upgrade));
            }
        }
        let (mut parts, body) = resp.into_parts();
        strip_hop_by_hop(&mut parts.headers, switching);
        if let Some(cookie) = self.set_cookie {
            parts.headers.append(header::SET_COOKIE, cookie);
        }
        Ok(Response::from_parts(
            parts,
            boxed(Guarded::new(body, self._inflight)),
        ))
    }
}

/// Copies bytes both ways between an upgraded client and server connection.
async fn tunnel(client: hyper::upgrade::OnUpgrade, server: hyper::upgrade::OnUpgrade) {
    let (client, server) = match tokio::try_join!(client, server) {
        Ok(pair) => pair,
        Err(e) => {
            tracing::debug!(error = %e, "upgrade failed");
            return;
        }
    };
    let mut client = TokioIo::new(client);
    let mut server = TokioIo::new(server);
    if let Err(e) = tokio::io::copy_bidirectional(&mut client, &mut server).await {
        tracing::debug!(error = %e, "upgraded connection ended");
    }
}

impl Mirroring {
    async fn serve(
        &self,
        req: Request<ProxyBody>,
        upstream: Arc<Upstream>,
    ) -> Result<Response<ProxyBody>, ProxyError> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let chosen: Vec<&Arc<ServiceRuntime>> = self
            .mirrors
            .iter()
            .filter(|(_, percent)| sampled(n, *percent))
            .map(|(m, _)| m)
            .collect();
        if chosen.is_empty() {
            return self.main.clone().serve(req, upstream).await;
        }
        let (parts, body) = req.into_parts();
        let size = body.size_hint();
        let copy_body = self.mirror_body
            && !body.is_end_stream()
            && size.upper().is_some_and(|u| u <= self.max_body_size);
        let (main_body, mirror_body): (ProxyBody, Option<Bytes>) = if copy_body {
            let bytes = read_bounded(body, self.max_body_size).await?;
            (full(bytes.clone()), Some(bytes))
        } else {
            (body, None)
        };
        for mirror in chosen {
            let mut copy = Request::new(mirror_body.clone().map_or_else(empty, full));
            *copy.method_mut() = parts.method.clone();
            *copy.uri_mut() = parts.uri.clone();
            *copy.headers_mut() = parts.headers.clone();
            if mirror_body.is_none() {
                copy.headers_mut().remove(header::CONTENT_LENGTH);
            }
            let (mirror, upstream) = (mirror.clone(), upstream.clone());
            tokio::spawn(async move {
                // A mirror's answer is read to the end and dropped.
                if let Ok(resp) = mirror.serve(copy, upstream).await {
                    let _ = resp.into_body().collect().await;
                }
            });
        }
        self.main
            .clone()
            .serve(Request::from_parts(parts, main_body), upstream)
            .await
    }
}

/// Reads a body known to be at most `limit` bytes (its size hint says so).
async fn read_bounded(mut body: ProxyBody, limit: u64) -> Result<Bytes, ProxyError> {
    let mut buf = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|e| ProxyError::BadRequest(format!("reading the request body: {e}")))?;
        if let Ok(data) = frame.into_data() {
            if (buf.len() + data.len()) as u64 > limit {
                return Err(ProxyError::BadRequest(
                    "request body larger than announced".into(),
                ));
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf.freeze())
}

/// Whether request number `n` goes to a mirror taking `percent`% of requests: spreads the
/// chosen requests evenly (exactly `percent` of every 100).
fn sampled(n: u64, percent: u32) -> bool {
    let p = u64::from(percent.min(100));
    (n % 100 + 1) * p / 100 != (n % 100) * p / 100
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_sampling_takes_exactly_the_percentage() {
        for percent in [0, 1, 10, 33, 50, 99, 100] {
            let hits = (0..1000).filter(|n| sampled(*n, percent)).count();
            assert_eq!(hits, percent as usize * 10, "{percent}%");
        }
    }

    #[test]
    fn targets_parse_http_and_h2c_only() {
        let t = Target::parse("http://127.0.0.1:8080/x").unwrap();
        assert_eq!(t.authority.as_str(), "127.0.0.1:8080");
        assert!(!t.h2c);
        assert!(Target::parse("h2c://10.0.0.1:81").unwrap().h2c);
        assert!(Target::parse("ftp://a").is_err());
    }
}
