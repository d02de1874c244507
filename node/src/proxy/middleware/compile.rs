//! Compiles middleware configs into [`Middleware`] values and routers' middleware lists into
//! chains, once per config revision.

use std::collections::HashMap;
use std::sync::Arc;

use raftgate_model::{strip_provider, Middleware as Config};

use super::buffering::budget::MemoryBudget;
use super::{
    auth, buffering, circuit_breaker, compress, content_type, errors, forward_auth, grpc_web,
    headers, in_flight, ip_allow_list, path, redirect, retry, Middleware, MiddlewareChain,
};
use crate::proxy::service::ServiceRuntime;

/// `chain`s nested deeper than this are refused; writes are held to the same limit, and
/// cycles are refused, in the replicated state's apply.
const MAX_DEPTH: usize = raftgate_state::limits::MAX_REFERENCE_DEPTH;

/// Why a router's middlewares could not be compiled. The router then fails closed: it
/// answers 503 rather than serve without them.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CompileError {
    /// A middleware the router names does not exist.
    #[error("middleware {0:?} is not defined")]
    Missing(String),
    /// A middleware's config cannot be compiled.
    #[error("middleware {name:?}: {reason}")]
    Invalid {
        /// The middleware.
        name: String,
        /// Why.
        reason: String,
    },
    /// A middleware type this version cannot run.
    #[error("middleware {name:?} of type {kind} is not supported by this version yet")]
    Unsupported {
        /// The middleware.
        name: String,
        /// Its Traefik type key.
        kind: &'static str,
    },
    /// `chain`s nest too deep.
    #[error("middleware {0:?}: chains nest deeper than {MAX_DEPTH}")]
    TooDeep(String),
}

/// Compiles one middleware. `services` are this revision's compiled services (for
/// middlewares that call one, such as `errors`).
pub fn compile(
    name: &str,
    config: &Config,
    services: &HashMap<String, Arc<ServiceRuntime>>,
    budget: &MemoryBudget,
) -> Result<Arc<dyn Middleware>, CompileError> {
    let invalid = |reason: String| CompileError::Invalid {
        name: name.to_string(),
        reason,
    };
    let compiled: Arc<dyn Middleware> = match config {
        Config::AddPrefix(c) => Arc::new(path::AddPrefix::new(c)),
        Config::StripPrefix(c) => Arc::new(path::StripPrefix::new(c)),
        Config::StripPrefixRegex(c) => Arc::new(path::StripPrefixRegex::new(c).map_err(invalid)?),
        Config::ReplacePath(c) => Arc::new(path::ReplacePath::new(c)),
        Config::ReplacePathRegex(c) => Arc::new(path::ReplacePathRegex::new(c).map_err(invalid)?),
        Config::Headers(c) => Arc::new(headers::Headers::new(c).map_err(invalid)?),
        Config::ContentType(c) => Arc::new(content_type::ContentType::new(c)),
        Config::RedirectScheme(c) => Arc::new(redirect::RedirectScheme::new(c)),
        Config::RedirectRegex(c) => Arc::new(redirect::RedirectRegex::new(c).map_err(invalid)?),
        Config::BasicAuth(c) => Arc::new(auth::BasicAuth::new(c).map_err(invalid)?),
        Config::DigestAuth(c) => Arc::new(auth::DigestAuth::new(c).map_err(invalid)?),
        Config::ForwardAuth(c) => Arc::new(forward_auth::ForwardAuth::new(c).map_err(invalid)?),
        Config::Compress(c) => Arc::new(compress::Compress::new(c).map_err(invalid)?),
        Config::GrpcWeb(c) => Arc::new(grpc_web::GrpcWeb::new(c)),
        Config::Errors(c) => {
            let service = services
                .get(strip_provider(&c.service))
                .cloned()
                .ok_or_else(|| invalid(format!("service {:?} is not defined", c.service)))?;
            Arc::new(errors::Errors::new(c, service).map_err(invalid)?)
        }
        Config::IpAllowList(c) => Arc::new(ip_allow_list::IpAllowList::new(c).map_err(invalid)?),
        Config::CircuitBreaker(c) => {
            Arc::new(circuit_breaker::CircuitBreaker::new(c).map_err(invalid)?)
        }
        Config::Buffering(c) => Arc::new(buffering::Buffering::new(c, budget).map_err(invalid)?),
        Config::Retry(c) => Arc::new(retry::Retry::new(c).map_err(invalid)?),
        Config::InFlightReq(c) => Arc::new(in_flight::InFlightReq::new(c).map_err(invalid)?),
        other => {
            return Err(CompileError::Unsupported {
                name: name.to_string(),
                kind: other.type_name(),
            })
        }
    };
    Ok(compiled)
}

/// Whether a compiled middleware may be reused by the next revision when its config is
/// unchanged. Middlewares that hold other objects (a service) are rebuilt every time.
fn reusable(config: &Config) -> bool {
    !matches!(config, Config::Errors(_) | Config::Chain(_))
}

/// The middlewares compiled by one revision, kept for the next.
#[derive(Default)]
pub struct MiddlewareCache {
    compiled: HashMap<String, (Config, Arc<dyn Middleware>)>,
}

/// Builds the chains of one revision's routers.
pub struct ChainBuilder<'a> {
    configs: &'a HashMap<&'a str, &'a Config>,
    services: &'a HashMap<String, Arc<ServiceRuntime>>,
    previous: &'a MiddlewareCache,
    budget: &'a MemoryBudget,
    next: MiddlewareCache,
}

impl<'a> ChainBuilder<'a> {
    /// A builder over this revision's middleware configs and compiled services, reusing
    /// what `previous` compiled from unchanged configs (so in-flight counts and breaker
    /// states carry over a config swap).
    pub fn new(
        configs: &'a HashMap<&'a str, &'a Config>,
        services: &'a HashMap<String, Arc<ServiceRuntime>>,
        previous: &'a MiddlewareCache,
        budget: &'a MemoryBudget,
    ) -> Self {
        Self {
            configs,
            services,
            previous,
            budget,
            next: MiddlewareCache::default(),
        }
    }

    /// The chain for a router's `middlewares` list, `chain`s flattened.
    pub fn chain(&mut self, names: &[String]) -> Result<MiddlewareChain, CompileError> {
        let mut out = Vec::new();
        for name in names {
            self.expand(strip_provider(name), 0, &mut out)?;
        }
        Ok(out.into())
    }

    /// What to keep for the next revision.
    pub fn finish(self) -> MiddlewareCache {
        self.next
    }

    fn expand(
        &mut self,
        name: &str,
        depth: usize,
        out: &mut Vec<Arc<dyn Middleware>>,
    ) -> Result<(), CompileError> {
        if depth > MAX_DEPTH {
            return Err(CompileError::TooDeep(name.to_string()));
        }
        let config = *self
            .configs
            .get(name)
            .ok_or_else(|| CompileError::Missing(name.to_string()))?;
        if let Config::Chain(chain) = config {
            for inner in &chain.middlewares {
                self.expand(strip_provider(inner), depth + 1, out)?;
            }
            return Ok(());
        }
        if let Some((_, compiled)) = self.next.compiled.get(name) {
            out.push(compiled.clone());
            return Ok(());
        }
        let compiled = match self.previous.compiled.get(name) {
            Some((old, compiled)) if old == config && reusable(config) => compiled.clone(),
            _ => compile(name, config, self.services, self.budget)?,
        };
        self.next
            .compiled
            .insert(name.to_string(), (config.clone(), compiled.clone()));
        out.push(compiled);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_middlewares_and_deep_chains_are_refused() {
        let chain = |to: &str| {
            Config::Chain(raftgate_model::Chain {
                middlewares: vec![to.to_string()],
            })
        };
        let (a, b) = (chain("b"), chain("a@file"));
        let configs: HashMap<&str, &Config> = [("a", &a), ("b", &b)].into();
        let services = HashMap::new();
        let previous = MiddlewareCache::default();
        let budget = MemoryBudget::default();
        let mut builder = ChainBuilder::new(&configs, &services, &previous, &budget);
        let e = builder.chain(&["nope".into()]).err().unwrap();
        assert_eq!(e.to_string(), "middleware \"nope\" is not defined");
        let e = builder.chain(&["a".into()]).err().unwrap();
        assert!(matches!(e, CompileError::TooDeep(_)), "{e}");
    }
}
