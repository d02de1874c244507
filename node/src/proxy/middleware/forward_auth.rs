//! `forwardAuth`: asks an external HTTP server whether to let each request through.
//!
//! Traefik v3 semantics: the auth request is a `GET` (the request's own method with
//! `preserveRequestMethod`) to `address`, carrying the request's headers (only those listed
//! in `authRequestHeaders` when set) minus hop-by-hop ones, plus `X-Forwarded-Method`,
//! `-Proto`, `-Host`, `-Uri` and `-For` describing the original request, and no body (unless
//! `forwardBody`). A 2xx answer lets the request through, with the `authResponseHeaders` and
//! headers matching `authResponseHeadersRegex` (matched against Go's canonical spelling,
//! e.g. `X-Auth-User`) copied from the answer onto it, replacing the request's own; the
//! answer's `Set-Cookie`s named in `addAuthCookiesToResponse` are added to the client's
//! response, replacing the backend's cookies of the same names. Any other answer is returned
//! to the client as is (status, headers without hop-by-hop ones, body), with a relative
//! `Location` made absolute against `address` unless `preserveLocationHeader`. An
//! unreachable auth server, or one that has not answered within [`AUTH_TIMEOUT`] (Traefik's
//! client timeout), gives a 500 with an empty body. Redirects are not followed.
//!
//! Choices and deviations:
//! - The denial body is streamed to the client rather than read whole first.
//! - With `trustForwardHeader`, the `X-Forwarded-For/-Proto/-Host/-Port` the proxy set are
//!   passed on (they never come from the client: entrypoints trust no one), while
//!   `X-Forwarded-Method` and `-Uri` always describe the request itself, since a client-sent
//!   value could otherwise steer the auth server's decision.
//! - `forwardBody` buffers the body (the auth server needs all of it) up to `maxBodySize`,
//!   and at most [`BODY_CAP`] when `maxBodySize` is unlimited; a larger body gets a 401,
//!   as Traefik does over `maxBodySize`.
//! - `headerField` only feeds Traefik's access log; here the user is logged at debug level.
//! - `https` addresses and `tls` settings are refused at compile time until the node has a
//!   TLS client.

use std::collections::HashSet;

use bytes::Bytes;
use futures::future::BoxFuture;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode, Uri};
use http_body_util::BodyExt;
use regex::Regex;

use super::{Middleware, Next, ProxyResult, RequestCtx};
use crate::proxy::body::{boxed, empty, full, BoxError, ProxyBody};
use crate::proxy::forward::strip_hop_by_hop;
use crate::proxy::upstream::UpstreamBody;

/// How long the auth server has to answer (headers).
pub const AUTH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The most `forwardBody` buffers when `maxBodySize` is unlimited.
pub const BODY_CAP: usize = 16 << 20;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_METHOD: HeaderName = HeaderName::from_static("x-forwarded-method");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");
const X_FORWARDED_URI: HeaderName = HeaderName::from_static("x-forwarded-uri");

/// A compiled `forwardAuth`.
pub struct ForwardAuth {
    address: Uri,
    address_url: url::Url,
    host: HeaderValue,
    trust_forward_header: bool,
    response_headers: Vec<HeaderName>,
    response_regex: Option<Regex>,
    request_headers: Vec<HeaderName>,
    cookies: HashSet<String>,
    preserve_location: bool,
    preserve_method: bool,
    body_limit: Option<usize>,
    header_field: Option<HeaderName>,
}

fn header_name(what: &str, name: &str) -> Result<HeaderName, String> {
    HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("{what}: {name:?} is not a header name"))
}

impl ForwardAuth {
    /// Compiles the config.
    pub fn new(config: &raftgate_model::ForwardAuth) -> Result<Self, String> {
        let address_url = url::Url::parse(&config.address)
            .map_err(|e| format!("address {:?}: {e}", config.address))?;
        match address_url.scheme() {
            "http" => {}
            "https" => {
                return Err(format!(
                    "address {:?}: https is not supported yet (this version has no TLS client)",
                    config.address
                ))
            }
            other => {
                return Err(format!(
                    "address {:?}: unsupported scheme {other:?}",
                    config.address
                ))
            }
        }
        if config.tls.is_some() {
            return Err(
                "tls settings are not supported yet (this version has no TLS client)".into(),
            );
        }
        let address: Uri = config
            .address
            .parse()
            .map_err(|e| format!("address {:?}: {e}", config.address))?;
        let host = address
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
            .ok_or_else(|| format!("address {:?} has no host", config.address))?;
        let response_regex = match config.auth_response_headers_regex.as_str() {
            "" => None,
            re => Some(
                raftgate_model::regex::compile(re)
                    .map_err(|e| format!("authResponseHeadersRegex: {e}"))?,
            ),
        };
        let body_limit = config.forward_body.then(|| match config.max_body_size {
            Some(n) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
            _ => BODY_CAP,
        });
        Ok(Self {
            address,
            address_url,
            host,
            trust_forward_header: config.trust_forward_header,
            response_headers: config
                .auth_response_headers
                .iter()
                .map(|n| header_name("authResponseHeaders", n))
                .collect::<Result<_, _>>()?,
            response_regex,
            request_headers: config
                .auth_request_headers
                .iter()
                .map(|n| header_name("authRequestHeaders", n))
                .collect::<Result<_, _>>()?,
            cookies: config
                .add_auth_cookies_to_response
                .iter()
                .cloned()
                .collect(),
            preserve_location: config.preserve_location_header,
            preserve_method: config.preserve_request_method,
            body_limit,
            header_field: match config.header_field.as_str() {
                "" => None,
                n => Some(header_name("headerField", n)?),
            },
        })
    }

    /// The headers of the auth request for `req`.
    fn auth_headers(&self, req: &Request<ProxyBody>, ctx: &RequestCtx) -> HeaderMap {
        let mut headers = req.headers().clone();
        strip_hop_by_hop(&mut headers, false);
        for name in [header::HOST, header::CONTENT_LENGTH, header::UPGRADE] {
            headers.remove(name);
        }
        if !self.request_headers.is_empty() {
            let mut kept = HeaderMap::new();
            for name in &self.request_headers {
                for v in headers.get_all(name) {
                    kept.append(name.clone(), v.clone());
                }
            }
            headers = kept;
        }
        let original = req.headers();
        let trusted = |name: &HeaderName| {
            self.trust_forward_header
                .then(|| original.get(name).filter(|v| !v.is_empty()).cloned())
                .flatten()
        };
        let ip =
            HeaderValue::from_str(&ctx.client_ip.to_string()).expect("an IP is a header value");
        headers.insert(X_FORWARDED_FOR, trusted(&X_FORWARDED_FOR).unwrap_or(ip));
        if let Ok(m) = HeaderValue::from_str(req.method().as_str()) {
            headers.insert(X_FORWARDED_METHOD, m);
        }
        let proto = trusted(&X_FORWARDED_PROTO).unwrap_or(HeaderValue::from_static(ctx.scheme));
        headers.insert(X_FORWARDED_PROTO, proto);
        if let Some(port) = trusted(&X_FORWARDED_PORT) {
            headers.insert(X_FORWARDED_PORT, port);
        }
        match trusted(&X_FORWARDED_HOST).or_else(|| original.get(header::HOST).cloned()) {
            Some(host) => {
                headers.insert(X_FORWARDED_HOST, host);
            }
            None => {
                headers.remove(X_FORWARDED_HOST);
            }
        }
        let uri = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
        if let Ok(uri) = HeaderValue::from_str(uri) {
            headers.insert(X_FORWARDED_URI, uri);
        }
        headers.insert(header::HOST, self.host.clone());
        headers
    }

    /// The client's answer when the auth server said no.
    fn denial(&self, resp: Response<UpstreamBody>) -> Response<ProxyBody> {
        let (mut parts, body) = resp.into_parts();
        strip_hop_by_hop(&mut parts.headers, false);
        if !self.preserve_location {
            let absolute = parts
                .headers
                .get(header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| self.address_url.join(l).ok())
                .and_then(|u| HeaderValue::from_str(u.as_str()).ok());
            if let Some(location) = absolute {
                parts.headers.insert(header::LOCATION, location);
            }
        }
        Response::from_parts(parts, boxed(body))
    }

    /// Copies the configured headers of a 2xx auth answer onto the request.
    fn copy_response_headers(&self, from: &HeaderMap, to: &mut HeaderMap) {
        for name in &self.response_headers {
            to.remove(name);
            for v in from.get_all(name) {
                to.append(name.clone(), v.clone());
            }
        }
        if let Some(re) = &self.response_regex {
            let matches = |name: &HeaderName| re.is_match(&canonical(name.as_str()));
            let drop: Vec<HeaderName> = to.keys().filter(|n| matches(n)).cloned().collect();
            for name in drop {
                to.remove(name);
            }
            for (name, v) in from.iter().filter(|(n, _)| matches(n)) {
                to.append(name.clone(), v.clone());
            }
        }
    }

    /// The answer's `Set-Cookie` values whose cookie is one of `addAuthCookiesToResponse`.
    fn auth_cookies(&self, from: &HeaderMap) -> Vec<HeaderValue> {
        from.get_all(header::SET_COOKIE)
            .iter()
            .filter(|v| cookie_name(v).is_some_and(|n| self.cookies.contains(n)))
            .cloned()
            .collect()
    }
}

/// Go's canonical form of a header name: `x-auth-user` → `X-Auth-User`.
fn canonical(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        out.push(if upper {
            c.to_ascii_uppercase()
        } else {
            c.to_ascii_lowercase()
        });
        upper = c == '-';
    }
    out
}

/// The name of the cookie a `Set-Cookie` value sets.
fn cookie_name(value: &HeaderValue) -> Option<&str> {
    let text = value.to_str().ok()?;
    let (name, _) = text.split_once('=')?;
    Some(name.trim())
}

/// The whole body if it has at most `limit` bytes, `None` if it has more.
async fn read_limited(mut body: ProxyBody, limit: usize) -> Result<Option<Bytes>, BoxError> {
    let mut buf = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        if let Some(data) = frame?.data_ref() {
            if buf.len() + data.len() > limit {
                return Ok(None);
            }
            buf.extend_from_slice(data);
        }
    }
    Ok(Some(buf.freeze()))
}

fn internal_error() -> Response<ProxyBody> {
    let mut resp = Response::new(empty());
    *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    resp
}

impl Middleware for ForwardAuth {
    fn handle<'a>(&'a self, req: Request<ProxyBody>, next: Next<'a>) -> BoxFuture<'a, ProxyResult> {
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let (mut req, auth_body) = match self.body_limit {
                Some(limit) => match read_limited(body, limit).await {
                    Ok(Some(bytes)) => {
                        (Request::from_parts(parts, full(bytes.clone())), full(bytes))
                    }
                    Ok(None) => {
                        tracing::debug!(limit, "forwardAuth: request body too large");
                        let mut resp = Response::new(empty());
                        *resp.status_mut() = StatusCode::UNAUTHORIZED;
                        return Ok(resp);
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "forwardAuth: reading the request body failed");
                        return Ok(internal_error());
                    }
                },
                None => (Request::from_parts(parts, body), empty()),
            };
            let method = if self.preserve_method {
                req.method().clone()
            } else {
                Method::GET
            };
            let mut auth_req = Request::new(auth_body);
            *auth_req.method_mut() = method;
            *auth_req.uri_mut() = self.address.clone();
            *auth_req.headers_mut() = self.auth_headers(&req, next.ctx());
            let sent = tokio::time::timeout(AUTH_TIMEOUT, next.upstream().send(auth_req, false));
            let auth_resp = match sent.await {
                Ok(Ok(resp)) => resp,
                Err(_) => {
                    tracing::debug!(address = %self.address, "forwardAuth: auth server timed out");
                    return Ok(internal_error());
                }
                Ok(Err(e)) => {
                    tracing::debug!(address = %self.address, error = %e, "forwardAuth: auth server unreachable");
                    return Ok(internal_error());
                }
            };
            if let Some(field) = &self.header_field {
                if let Some(user) = auth_resp.headers().get(field) {
                    tracing::debug!(user = ?user, "forwardAuth: authenticated");
                }
            }
            if !auth_resp.status().is_success() {
                tracing::debug!(status = %auth_resp.status(), "forwardAuth: denied");
                return Ok(self.denial(auth_resp));
            }
            let (auth_parts, _) = auth_resp.into_parts();
            self.copy_response_headers(&auth_parts.headers, req.headers_mut());
            let cookies = self.auth_cookies(&auth_parts.headers);
            let mut resp = next.run(req).await?;
            if !cookies.is_empty() {
                let headers = resp.headers_mut();
                let kept: Vec<HeaderValue> = headers
                    .get_all(header::SET_COOKIE)
                    .iter()
                    .filter(|v| !cookie_name(v).is_some_and(|n| self.cookies.contains(n)))
                    .cloned()
                    .collect();
                headers.remove(header::SET_COOKIE);
                for v in kept.into_iter().chain(cookies) {
                    headers.append(header::SET_COOKIE, v);
                }
            }
            Ok(resp)
        })
    }
}

#[cfg(test)]
mod tests;
