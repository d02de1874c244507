//! raftgate's typed configuration model: Traefik v3 HTTP routers, services and middlewares.
//!
//! This crate is pure data and validation, with no IO. Every object checks itself with
//! `validate()`; the checks that span objects (references, cycles, depth) live in the
//! `raftgate-state` crate's apply, over the [`graph`] walks defined here. The Raft state machine
//! stores these types; the data plane compiles them into its runtime router. Every type
//! serializes back to a minimal, deterministic JSON/YAML form that uses Traefik v3's own field
//! names, so `parse → serialize → parse` is the identity.
//!
//! The [`rule`] module parses Traefik v3 rule expressions such as
//! ``Host(`example.com`) && PathPrefix(`/api`)``; the [`regex`] module is how every user regex
//! is compiled, at write time and in the data plane alike.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod checks;
mod duration;
mod error;
pub mod expr;
pub mod graph;
mod kind;
mod middleware;
mod name;
pub mod regex;
mod router;
pub mod rule;
mod serde_util;
mod servers_transport;
mod service;

pub use duration::{DurationError, TraefikDuration};
pub use error::ModelError;
pub use kind::Kind;
pub use middleware::{
    AddPrefix, BasicAuth, Buffering, Chain, CircuitBreaker, ClientTls, Compress, ContentType,
    DigestAuth, ErrorPage, ForwardAuth, GrpcWeb, Headers, InFlightReq, IpAllowList, IpStrategy,
    Middleware, PassTlsClientCert, RateLimit, RedirectRegex, RedirectScheme, ReplacePath,
    ReplacePathRegex, Retry, SourceCriterion, StripPrefix, StripPrefixRegex, TlsClientCertInfo,
    TlsClientCertSubject,
};
pub use name::{strip_provider, validate_name};
pub use router::{
    default_priority, Domain, Router, RouterObservability, RouterTls, PRIORITY_RANGE,
};
pub use servers_transport::{CertificateFiles, ForwardingTimeouts, ServersTransport};
pub use service::{
    Cookie, EmptyHealthCheck, Failover, LoadBalancer, Mirror, Mirroring, ResponseForwarding,
    Server, ServerHealthCheck, Service, ServiceSpec, Sticky, Strategy, Weighted, WeightedService,
};
