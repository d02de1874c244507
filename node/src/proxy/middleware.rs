//! Router middlewares: each Traefik middleware type compiled once per config revision into
//! an immutable value that wraps the rest of the router's chain.
//!
//! A router's middlewares (with `chain`s flattened) run in order; each gets the request and
//! a [`Next`] that runs the rest of the chain and then the router's service. A middleware
//! answers by itself (a redirect, a 401) by returning without calling `next`, and may call
//! it more than once (`retry`). Requests have their forwarding headers set before the chain
//! runs, so a middleware can read `X-Forwarded-For` and override `X-Forwarded-Proto`.

mod auth;
mod buffering;
mod circuit_breaker;
mod compile;
mod compress;
mod content_type;
mod errors;
mod forward_auth;
mod grpc_web;
mod headers;
mod in_flight;
mod ip_allow_list;
mod ip_strategy;
mod path;
mod redirect;
mod respond;
mod retry;
mod source;

pub use buffering::budget::MemoryBudget;
pub use compile::{compile, ChainBuilder, CompileError, MiddlewareCache};

use std::net::IpAddr;
use std::sync::Arc;

use futures::future::BoxFuture;
use http::{Request, Response};

use super::body::ProxyBody;
use super::error::ProxyError;
use super::service::ServiceRuntime;
use super::upstream::Upstream;

/// What a middleware, or the service at the end of the chain, answers.
pub type ProxyResult = Result<Response<ProxyBody>, ProxyError>;

/// A compiled middleware.
pub trait Middleware: Send + Sync + 'static {
    /// Handles `req`, calling `next.run(..)` to pass it on.
    fn handle<'a>(&'a self, req: Request<ProxyBody>, next: Next<'a>) -> BoxFuture<'a, ProxyResult>;
}

/// Answers the request here, without passing it on (a refusal, a redirect).
pub fn answer<'a>(resp: Response<ProxyBody>) -> BoxFuture<'a, ProxyResult> {
    Box::pin(std::future::ready(Ok(resp)))
}

/// A router's compiled middlewares, in the order they run.
pub type MiddlewareChain = Arc<[Arc<dyn Middleware>]>;

/// What the proxy knows about a request besides the request itself.
#[derive(Debug, Clone, Copy)]
pub struct RequestCtx {
    /// The address of the TCP peer.
    pub client_ip: IpAddr,
    /// `http` or `https`: the scheme the client used.
    pub scheme: &'static str,
    /// The port of the entrypoint the request came in on.
    pub port: u16,
}

/// The rest of a chain: the middlewares after the current one, then the service.
#[derive(Clone, Copy)]
pub struct Next<'a> {
    chain: &'a [Arc<dyn Middleware>],
    service: &'a Arc<ServiceRuntime>,
    upstream: &'a Arc<Upstream>,
    ctx: &'a RequestCtx,
}

impl<'a> Next<'a> {
    /// The whole chain of a router in front of its service.
    pub fn new(
        chain: &'a [Arc<dyn Middleware>],
        service: &'a Arc<ServiceRuntime>,
        upstream: &'a Arc<Upstream>,
        ctx: &'a RequestCtx,
    ) -> Self {
        Self {
            chain,
            service,
            upstream,
            ctx,
        }
    }

    /// Passes `req` to the next middleware, or to the service after the last one.
    pub fn run(self, req: Request<ProxyBody>) -> BoxFuture<'a, ProxyResult> {
        match self.chain.split_first() {
            Some((first, rest)) => first.handle(
                req,
                Next {
                    chain: rest,
                    ..self
                },
            ),
            None => Box::pin(self.service.clone().serve(req, self.upstream.clone())),
        }
    }

    /// Applies `edit` to the request, then passes it on; an edit that fails answers with its
    /// error. For middlewares that only change the request: they need no future of their own.
    pub fn run_edited(
        self,
        mut req: Request<ProxyBody>,
        edit: impl FnOnce(&mut Request<ProxyBody>) -> Result<(), ProxyError>,
    ) -> BoxFuture<'a, ProxyResult> {
        match edit(&mut req) {
            Ok(()) => self.run(req),
            Err(e) => Box::pin(std::future::ready(Err(e))),
        }
    }

    /// The request's context.
    pub fn ctx(&self) -> &'a RequestCtx {
        self.ctx
    }

    /// The upstream client (for middlewares that call a service or a server themselves).
    pub fn upstream(&self) -> &'a Arc<Upstream> {
        self.upstream
    }
}

#[cfg(test)]
pub(crate) mod testing;
