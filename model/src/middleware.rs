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

mod serde_impl;

use crate::checks::Object;
use crate::{strip_provider, validate_name, Kind, ModelError};

/// Declares [`Middleware`] with one variant per Traefik type key, and the table that the
/// type-key lookups and the serde implementation are generated from.
macro_rules! middlewares {
    ($( $(#[$doc:meta])* $variant:ident($ty:ty) = $key:literal, )*) => {
        /// A Traefik v3 HTTP middleware. In JSON and YAML it is a map with exactly one key,
        /// Traefik's camelCase type name: `{"stripPrefix": {"prefixes": ["/api"]}}`.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum Middleware {
            $( $(#[$doc])* $variant($ty), )*
        }

        impl Middleware {
            /// Every type key, in declaration order.
            pub const TYPE_NAMES: &'static [&'static str] = &[$($key),*];

            /// Traefik's type key of this middleware, e.g. `"stripPrefix"`.
            pub fn type_name(&self) -> &'static str {
                match self {
                    $( Middleware::$variant(_) => $key, )*
                }
            }

            /// Serializes the config of this middleware as the value of its type key.
            fn serialize_entry<M: serde::ser::SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
                match self {
                    $( Middleware::$variant(v) => map.serialize_entry($key, v), )*
                }
            }

            /// Reads the config for type key `key` from `map`, or `None` for an unknown key.
            fn deserialize_value<'de, A: serde::de::MapAccess<'de>>(
                key: &str,
                map: &mut A,
            ) -> Option<Result<Middleware, A::Error>> {
                match key {
                    $( $key => Some(map.next_value::<$ty>().map(Middleware::$variant)), )*
                    _ => None,
                }
            }
        }
    };
}

middlewares! {
    /// `addPrefix`: prepends a path prefix.
    AddPrefix(AddPrefix) = "addPrefix",
    /// `stripPrefix`: removes path prefixes.
    StripPrefix(StripPrefix) = "stripPrefix",
    /// `stripPrefixRegex`: removes path prefixes matched by regexes.
    StripPrefixRegex(StripPrefixRegex) = "stripPrefixRegex",
    /// `replacePath`: replaces the path.
    ReplacePath(ReplacePath) = "replacePath",
    /// `replacePathRegex`: rewrites the path with a regex.
    ReplacePathRegex(ReplacePathRegex) = "replacePathRegex",
    /// `redirectScheme`: redirects to another scheme (and port).
    RedirectScheme(RedirectScheme) = "redirectScheme",
    /// `redirectRegex`: redirects to a URL rewritten by a regex.
    RedirectRegex(RedirectRegex) = "redirectRegex",
    /// `headers`: custom headers, CORS and security headers.
    Headers(Box<Headers>) = "headers",
    /// `basicAuth`: HTTP basic authentication.
    BasicAuth(BasicAuth) = "basicAuth",
    /// `digestAuth`: HTTP digest authentication.
    DigestAuth(DigestAuth) = "digestAuth",
    /// `forwardAuth`: delegates authentication to an external service.
    ForwardAuth(Box<ForwardAuth>) = "forwardAuth",
    /// `ipAllowList`: admits only client IPs within ranges.
    IpAllowList(IpAllowList) = "ipAllowList",
    /// `inFlightReq`: limits simultaneous requests.
    InFlightReq(InFlightReq) = "inFlightReq",
    /// `buffering`: buffers request and response bodies.
    Buffering(Buffering) = "buffering",
    /// `retry`: retries failed requests.
    Retry(Retry) = "retry",
    /// `circuitBreaker`: stops forwarding while an expression holds.
    CircuitBreaker(CircuitBreaker) = "circuitBreaker",
    /// `compress`: compresses responses.
    Compress(Compress) = "compress",
    /// `contentType`: sets the response content type.
    ContentType(ContentType) = "contentType",
    /// `errors`: serves error pages from another service.
    Errors(ErrorPage) = "errors",
    /// `chain`: applies other middlewares in order.
    Chain(Chain) = "chain",
    /// `grpcWeb`: translates gRPC-Web to gRPC.
    GrpcWeb(GrpcWeb) = "grpcWeb",
    /// `rateLimit`: parsed, but not supported yet.
    RateLimit(RateLimit) = "rateLimit",
    /// `passTLSClientCert`: parsed, but not supported yet.
    PassTlsClientCert(PassTlsClientCert) = "passTLSClientCert",
}

impl Middleware {
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
            Middleware::ContentType(_) => Ok(()),
            Middleware::GrpcWeb(m) => m.check(&obj, path),
            Middleware::Errors(m) => m.check(&obj, path),
            Middleware::Chain(m) => m.check(&obj, path),
            Middleware::RateLimit(_) | Middleware::PassTlsClientCert(_) => {
                Err(ModelError::Unsupported {
                    name: name.to_string(),
                    middleware_type: path.to_string(),
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
