//! The `headers` middleware, with Traefik v3's semantics:
//!
//! - a CORS preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`, when any
//!   CORS option is set) is answered `200` by the proxy itself ([`cors`]);
//! - otherwise `customRequestHeaders` are applied (an empty value removes the header; `Host`
//!   replaces the host sent upstream), then the security checks run ([`secure`]: an
//!   `allowedHosts` miss answers `500 Bad Host`), then the request goes on;
//! - on the way back the security headers are set first, then `customResponseHeaders`
//!   (which may override or, with an empty value, remove them), then the CORS response
//!   headers.
//!
//! Response headers are changed on the response head only; the body streams through
//! untouched. Choices where Traefik leaves room:
//! - errors the proxy answers itself further down the chain (502, 504...) are passed on
//!   unchanged, so an outer `retry` or `circuitBreaker` still sees them as failures; they
//!   get no custom, security or CORS headers;
//! - header values are sent as configured; values Go would accept but HTTP forbids were
//!   already refused when the config was written;
//! - the forwarding headers are set before the chain runs, so `customRequestHeaders` can
//!   override them, and an empty `X-Forwarded-For` sends none (as in Traefik).

mod cors;
mod secure;

use futures::future::BoxFuture;
use http::{HeaderMap, HeaderName, HeaderValue, Request};

use super::{Middleware, Next, ProxyResult};
use crate::proxy::body::ProxyBody;

use cors::Cors;
use secure::Secure;

/// One configured header change: set to a value, or removed (`None`).
type HeaderChange = (HeaderName, Option<HeaderValue>);

/// `headers`: custom request/response headers, CORS and security headers.
pub struct Headers {
    request: Vec<HeaderChange>,
    response: Vec<HeaderChange>,
    cors: Option<Cors>,
    secure: Option<Secure>,
}

/// Parses a configured header name.
pub(super) fn name(key: &str, name: &str) -> Result<HeaderName, String> {
    HeaderName::from_bytes(name.as_bytes()).map_err(|_| format!("{key}: bad header name {name:?}"))
}

/// Parses a configured header value (UTF-8 beyond ASCII is sent as is).
pub(super) fn value(key: &str, value: &str) -> Result<HeaderValue, String> {
    HeaderValue::from_bytes(value.as_bytes())
        .map_err(|_| format!("{key}: bad header value {value:?}"))
}

fn changes(
    key: &str,
    map: &std::collections::BTreeMap<String, String>,
) -> Result<Vec<HeaderChange>, String> {
    map.iter()
        .map(|(n, v)| {
            let v = if v.is_empty() {
                None
            } else {
                Some(value(key, v)?)
            };
            Ok((name(key, n)?, v))
        })
        .collect()
}

fn apply(headers: &mut HeaderMap, changes: &[HeaderChange]) {
    for (name, value) in changes {
        match value {
            Some(v) => {
                headers.insert(name.clone(), v.clone());
            }
            None => {
                headers.remove(name);
            }
        }
    }
}

impl Headers {
    /// Compiles the config (headers parsed, origin regexes compiled, security headers built).
    pub fn new(config: &raftgate_model::Headers) -> Result<Self, String> {
        Ok(Self {
            request: changes("customRequestHeaders", &config.custom_request_headers)?,
            response: changes("customResponseHeaders", &config.custom_response_headers)?,
            cors: Cors::new(config)?,
            secure: Secure::new(config)?,
        })
    }
}

impl Middleware for Headers {
    fn handle<'a>(
        &'a self,
        mut req: Request<ProxyBody>,
        next: Next<'a>,
    ) -> BoxFuture<'a, ProxyResult> {
        Box::pin(async move {
            if let Some(cors) = &self.cors {
                if cors::is_preflight(&req) {
                    return Ok(cors.preflight(req.headers()));
                }
            }
            apply(req.headers_mut(), &self.request);
            let secure = match &self.secure {
                Some(secure) => match secure.check(&req, next.ctx()) {
                    Ok(plan) => Some(plan),
                    Err(bad_host) => return Ok(bad_host.into_response()),
                },
                None => None,
            };
            let origin = self
                .cors
                .as_ref()
                .and_then(|_| req.headers().get(http::header::ORIGIN).cloned());
            let mut resp = next.run(req).await?;
            let headers = resp.headers_mut();
            if let Some(plan) = secure {
                plan.apply(headers);
            }
            apply(headers, &self.response);
            if let Some(cors) = &self.cors {
                cors.response(origin.as_ref(), headers);
            }
            Ok(resp)
        })
    }
}

#[cfg(test)]
mod tests;
