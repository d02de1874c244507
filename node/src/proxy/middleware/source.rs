//! What a limiter groups requests by: Traefik's `sourceCriterion`. Exactly one of the client
//! IP (found with an `ipStrategy`), a request header's value, or the request host; the peer's
//! IP when none is set. Requests whose source cannot be determined (no client address, no
//! such header) share one empty-key group, as with Traefik's extractors.

use http::{header, HeaderName, Request};

use super::ip_strategy::IpStrategy;
use super::RequestCtx;

/// A compiled `sourceCriterion`.
#[derive(Debug, Clone)]
pub enum Source {
    /// The client IP found with a strategy.
    Ip(IpStrategy),
    /// A request header's value.
    Header(HeaderName),
    /// The request's host.
    Host,
}

impl Source {
    /// Compiles `config`; `None` groups by the peer's IP.
    pub fn new(config: Option<&raftgate_model::SourceCriterion>) -> Result<Self, String> {
        let Some(c) = config else {
            return Ok(Source::Ip(IpStrategy::new(None)?));
        };
        if !c.request_header_name.is_empty() {
            let name = HeaderName::from_bytes(c.request_header_name.as_bytes())
                .map_err(|_| format!("{:?} is not a header name", c.request_header_name))?;
            return Ok(Source::Header(name));
        }
        if c.request_host {
            return Ok(Source::Host);
        }
        Ok(Source::Ip(IpStrategy::new(c.ip_strategy.as_ref())?))
    }

    /// The group `req` belongs to.
    pub fn key<B>(&self, req: &Request<B>, ctx: &RequestCtx) -> String {
        match self {
            Source::Ip(s) => s
                .client_ip(req.headers(), ctx.client_ip)
                .map(|ip| ip.to_string())
                .unwrap_or_default(),
            Source::Header(name) => req
                .headers()
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .unwrap_or_default(),
            Source::Host => req
                .headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .or_else(|| req.uri().host())
                .unwrap_or_default()
                .to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::middleware::testing::{ctx, get};

    fn source(json: serde_json::Value) -> Source {
        Source::new(Some(&serde_json::from_value(json).unwrap())).unwrap()
    }

    #[test]
    fn each_criterion_picks_its_key() {
        let mut req = get("/");
        req.headers_mut().insert("x-user", "alice".parse().unwrap());
        req.headers_mut()
            .insert("x-forwarded-for", "1.2.3.4".parse().unwrap());
        assert_eq!(Source::new(None).unwrap().key(&req, &ctx()), "10.0.0.1");
        assert_eq!(
            source(serde_json::json!({"requestHeaderName": "X-User"})).key(&req, &ctx()),
            "alice"
        );
        assert_eq!(
            source(serde_json::json!({"requestHeaderName": "X-None"})).key(&req, &ctx()),
            ""
        );
        assert_eq!(
            source(serde_json::json!({"requestHost": true})).key(&req, &ctx()),
            "example.com"
        );
        assert_eq!(
            source(serde_json::json!({"ipStrategy": {"depth": 1}})).key(&req, &ctx()),
            "1.2.3.4"
        );
    }
}
