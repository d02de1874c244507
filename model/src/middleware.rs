//! Traefik v3 HTTP middlewares: one typed config per middleware type, keyed in JSON/YAML by
//! Traefik's camelCase type name (`{"stripPrefix": {"prefixes": ["/api"]}}`).

mod auth;
mod chain;
mod content;
mod errors;
mod forward_auth;
mod headers;
mod ip;
mod path;
mod redirect;
mod resilience;
mod unsupported;

pub use auth::{BasicAuth, DigestAuth};
pub use chain::Chain;
pub use content::{Compress, ContentType, GrpcWeb};
pub use errors::ErrorPage;
pub use forward_auth::{ClientTls, ForwardAuth};
pub use headers::Headers;
pub use ip::{InFlightReq, IpAllowList, IpStrategy, SourceCriterion};
pub use path::{AddPrefix, ReplacePath, ReplacePathRegex, StripPrefix, StripPrefixRegex};
pub use redirect::{RedirectRegex, RedirectScheme};
pub use resilience::{Buffering, CircuitBreaker, Retry};
pub use unsupported::{PassTlsClientCert, RateLimit, TlsClientCertInfo, TlsClientCertSubject};

use serde::{Deserialize, Serialize};

use crate::checks::Object;
use crate::{strip_provider, validate_name, Kind, ModelError};

/// A Traefik v3 HTTP middleware, externally tagged by its type key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Middleware {
    /// `addPrefix`: prepends a path prefix.
    AddPrefix(AddPrefix),
    /// `stripPrefix`: removes path prefixes.
    StripPrefix(StripPrefix),
    /// `stripPrefixRegex`: removes path prefixes matched by regexes.
    StripPrefixRegex(StripPrefixRegex),
    /// `replacePath`: replaces the path.
    ReplacePath(ReplacePath),
    /// `replacePathRegex`: rewrites the path with a regex.
    ReplacePathRegex(ReplacePathRegex),
    /// `redirectScheme`: redirects to another scheme (and port).
    RedirectScheme(RedirectScheme),
    /// `redirectRegex`: redirects to a URL rewritten by a regex.
    RedirectRegex(RedirectRegex),
    /// `headers`: custom headers, CORS and security headers.
    Headers(Box<Headers>),
    /// `basicAuth`: HTTP basic authentication.
    BasicAuth(BasicAuth),
    /// `digestAuth`: HTTP digest authentication.
    DigestAuth(DigestAuth),
    /// `forwardAuth`: delegates authentication to an external service.
    ForwardAuth(Box<ForwardAuth>),
    /// `ipAllowList`: admits only client IPs within ranges.
    IpAllowList(IpAllowList),
    /// `inFlightReq`: limits simultaneous requests.
    InFlightReq(InFlightReq),
    /// `buffering`: buffers request and response bodies.
    Buffering(Buffering),
    /// `retry`: retries failed requests.
    Retry(Retry),
    /// `circuitBreaker`: stops forwarding while an expression holds.
    CircuitBreaker(CircuitBreaker),
    /// `compress`: compresses responses.
    Compress(Compress),
    /// `contentType`: sets the response content type.
    ContentType(ContentType),
    /// `errors`: serves error pages from another service.
    Errors(ErrorPage),
    /// `chain`: applies other middlewares in order.
    Chain(Chain),
    /// `grpcWeb`: translates gRPC-Web to gRPC.
    GrpcWeb(GrpcWeb),
    /// `rateLimit`: parsed, but not supported yet.
    RateLimit(RateLimit),
    /// `passTLSClientCert`: parsed, but not supported yet.
    #[serde(rename = "passTLSClientCert")]
    PassTlsClientCert(PassTlsClientCert),
}

impl Middleware {
    /// Traefik's type key of this middleware, e.g. `"stripPrefix"`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Middleware::AddPrefix(_) => "addPrefix",
            Middleware::StripPrefix(_) => "stripPrefix",
            Middleware::StripPrefixRegex(_) => "stripPrefixRegex",
            Middleware::ReplacePath(_) => "replacePath",
            Middleware::ReplacePathRegex(_) => "replacePathRegex",
            Middleware::RedirectScheme(_) => "redirectScheme",
            Middleware::RedirectRegex(_) => "redirectRegex",
            Middleware::Headers(_) => "headers",
            Middleware::BasicAuth(_) => "basicAuth",
            Middleware::DigestAuth(_) => "digestAuth",
            Middleware::ForwardAuth(_) => "forwardAuth",
            Middleware::IpAllowList(_) => "ipAllowList",
            Middleware::InFlightReq(_) => "inFlightReq",
            Middleware::Buffering(_) => "buffering",
            Middleware::Retry(_) => "retry",
            Middleware::CircuitBreaker(_) => "circuitBreaker",
            Middleware::Compress(_) => "compress",
            Middleware::ContentType(_) => "contentType",
            Middleware::Errors(_) => "errors",
            Middleware::Chain(_) => "chain",
            Middleware::GrpcWeb(_) => "grpcWeb",
            Middleware::RateLimit(_) => "rateLimit",
            Middleware::PassTlsClientCert(_) => "passTLSClientCert",
        }
    }

    /// The objects this middleware refers to, as written (they may carry `@provider`): the
    /// middlewares of a chain, the service of an errors middleware.
    pub fn references(&self) -> Vec<(Kind, &str)> {
        match self {
            Middleware::Chain(c) => c
                .middlewares
                .iter()
                .map(|m| (Kind::Middleware, m.as_str()))
                .collect(),
            Middleware::Errors(e) => vec![(Kind::Service, e.service.as_str())],
            _ => Vec::new(),
        }
    }

    /// Checks the middleware named `name` on its own: regexes compile, IP ranges parse, sizes
    /// and counts are in range, reference names are valid. References are resolved by
    /// [`crate::DynamicConfig::check_references`].
    pub fn validate(&self, name: &str) -> Result<(), ModelError> {
        validate_name(Kind::Middleware, name)?;
        let obj = Object::new(Kind::Middleware, name);
        let path = self.type_name();
        match self {
            Middleware::AddPrefix(m) => m.check(&obj, path),
            Middleware::StripPrefix(m) => m.check(&obj, path),
            Middleware::StripPrefixRegex(m) => m.check(&obj, path),
            Middleware::ReplacePath(m) => m.check(&obj, path),
            Middleware::ReplacePathRegex(m) => m.check(&obj, path),
            Middleware::RedirectScheme(m) => m.check(&obj, path),
            Middleware::RedirectRegex(m) => m.check(&obj, path),
            Middleware::Headers(m) => m.check(&obj, path),
            Middleware::BasicAuth(m) => m.check(&obj, path),
            Middleware::DigestAuth(m) => m.check(&obj, path),
            Middleware::ForwardAuth(m) => m.check(&obj, path),
            Middleware::IpAllowList(m) => m.check(&obj, path),
            Middleware::InFlightReq(m) => m.check(&obj, path),
            Middleware::Buffering(m) => m.check(&obj, path),
            Middleware::Retry(m) => m.check(&obj, path),
            Middleware::CircuitBreaker(m) => m.check(&obj, path),
            Middleware::Compress(m) => m.check(&obj, path),
            Middleware::ContentType(_) | Middleware::GrpcWeb(_) => Ok(()),
            Middleware::Errors(m) => m.check(&obj, path),
            Middleware::Chain(m) => m.check(&obj, path),
            Middleware::RateLimit(_) | Middleware::PassTlsClientCert(_) => {
                Err(ModelError::Unsupported {
                    name: name.to_string(),
                    middleware_type: path,
                })
            }
        }?;
        if self
            .references()
            .iter()
            .any(|(kind, r)| *kind == Kind::Middleware && strip_provider(r) == name)
        {
            return Err(obj.invalid(path, format!("middleware {name:?} refers to itself")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
