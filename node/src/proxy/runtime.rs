//! Turns an applied config into the immutable [`Runtime`] the proxy serves from, and keeps
//! the proxy's copy current: every new revision is compiled off the request path and
//! swapped in atomically. Requests in flight finish on the runtime they started with.
//!
//! State that must outlive a swap carries over: server health and in-flight counts through
//! the [`HealthRegistry`], and whole load balancers (their round-robin position) when the
//! service did not change.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use raftgate_model::{strip_provider, Kind, Middleware, Router, Service, ServiceSpec};
use tokio::sync::watch;

use super::balance::{LoadBalancer, SmoothWrr, StickyCookie, Strategy};
use super::health::{HealthCheckSpec, HealthRegistry};
use super::middleware::{ChainBuilder, MemoryBudget, MiddlewareCache, MiddlewareChain};
use super::rule::CompiledRule;
use super::service::{
    Balanced, Failover, Mirroring, ServiceRuntime, Target, Weighted, DEFAULT_MIRROR_BODY_LIMIT,
};
use super::status::{CompileFailure, ProxyStatus};
use super::table::{RouteEntry, RouteTable};
use super::transport::{TransportMap, Transports};
use super::upstream::UpstreamConfig;
use crate::ops::metrics::Metrics;
use crate::store::command::ObjectSpec;
use crate::store::state::ConfigState;
use crate::store::state_machine::AppliedState;

/// What a matched router leads to.
#[derive(Clone)]
pub struct RouteTarget {
    /// The router's name.
    pub router: String,
    /// Its service.
    pub service: Arc<ServiceRuntime>,
    /// Its middlewares, `chain`s flattened, in the order they run.
    pub middlewares: MiddlewareChain,
    /// Why its middlewares could not be compiled: the router then fails closed (503)
    /// rather than serve without them.
    pub broken: Option<String>,
}

/// One compiled config revision.
#[derive(Default)]
pub struct Runtime {
    /// The config revision this runtime was compiled from.
    pub revision: u64,
    tables: HashMap<String, RouteTable<RouteTarget>>,
}

impl Runtime {
    /// The route table of an entrypoint.
    pub fn table(&self, entrypoint: &str) -> Option<&RouteTable<RouteTarget>> {
        self.tables.get(entrypoint)
    }
}

/// Compiles configs into runtimes, remembering what must carry over between them.
pub struct Compiler {
    entrypoints: Vec<String>,
    registry: HealthRegistry,
    balanced: Mutex<HashMap<String, (Service, Arc<ServiceRuntime>)>>,
    middlewares: Mutex<MiddlewareCache>,
    transports: Transports,
    buffering_budget: MemoryBudget,
}

impl Compiler {
    /// A compiler for a node with these entrypoints, whose servers transports start from
    /// `upstream` (the node's defaults).
    pub fn new(entrypoints: Vec<String>, upstream: UpstreamConfig) -> Self {
        Self {
            entrypoints,
            registry: HealthRegistry::new(),
            balanced: Mutex::default(),
            middlewares: Mutex::default(),
            transports: Transports::new(upstream),
            buffering_budget: MemoryBudget::default(),
        }
    }

    /// The same, with `bytes` as the budget all `buffering` middlewares share.
    pub fn with_buffering_budget(mut self, bytes: usize) -> Self {
        self.buffering_budget = MemoryBudget::new(bytes);
        self
    }

    /// Compiles `config`, refusing the whole revision if anything in it does not compile.
    ///
    /// Every write was validated by the same model before it was committed, so this cannot
    /// fail on a committed config; if it does anyway (a bug), the error lists every problem.
    /// A router whose middleware cannot be built from what is on this node (a `usersFile` not
    /// there yet) is not a failure: it is compiled to answer 503.
    pub fn compile(&self, config: &ConfigState) -> Result<Runtime, CompileFailure> {
        let (runtime, problems) = self.compile_skipping(config);
        if problems.is_empty() {
            Ok(runtime)
        } else {
            Err(CompileFailure::new(config.revision, &problems, false))
        }
    }

    /// Compiles `config`, leaving out what does not compile; returns the runtime and what was
    /// left out, one line per problem.
    pub fn compile_skipping(&self, config: &ConfigState) -> (Runtime, Vec<String>) {
        let mut problems = Vec::new();
        let services: HashMap<&str, &Service> = config
            .list(Kind::Service)
            .filter_map(|(k, o)| match &o.spec {
                ObjectSpec::Service(s) => Some((k.name.as_str(), &**s)),
                _ => None,
            })
            .collect();
        let transports = self
            .transports
            .compile(
                config
                    .list(Kind::ServersTransport)
                    .filter_map(|(k, o)| match &o.spec {
                        ObjectSpec::ServersTransport(t) => Some((k.name.as_str(), t)),
                        _ => None,
                    }),
            );
        let mut compiled = self.compile_balanced(&services, &transports, &mut problems);
        for name in services.keys() {
            if compile_composite(name, &services, &mut compiled, 0).is_none() {
                problems.push(format!("service {name:?} could not be compiled"));
            }
        }
        let tables = self.compile_routes(config, &compiled, &mut problems);
        inject_fault(config, &mut problems);
        let runtime = Runtime {
            revision: config.revision,
            tables,
        };
        (runtime, problems)
    }

    /// Every router of `config` compiled onto the route tables of its entrypoints.
    fn compile_routes(
        &self,
        config: &ConfigState,
        services: &HashMap<String, Arc<ServiceRuntime>>,
        problems: &mut Vec<String>,
    ) -> HashMap<String, RouteTable<RouteTarget>> {
        let middleware_configs: HashMap<&str, &Middleware> = config
            .list(Kind::Middleware)
            .filter_map(|(k, o)| match &o.spec {
                ObjectSpec::Middleware(m) => Some((k.name.as_str(), m)),
                _ => None,
            })
            .collect();
        let mut middleware_cache = self.middlewares.lock().unwrap_or_else(|e| e.into_inner());
        let mut chains = ChainBuilder::new(
            &middleware_configs,
            services,
            &middleware_cache,
            &self.buffering_budget,
        );
        let mut per_entrypoint: HashMap<String, Vec<RouteEntry<RouteTarget>>> = HashMap::new();
        let noop = Arc::new(ServiceRuntime::Noop);
        for (key, object) in config.list(Kind::Router) {
            let ObjectSpec::Router(router) = &object.spec else {
                continue;
            };
            let expr = match router.parsed_rule() {
                Ok(expr) => expr,
                Err(e) => {
                    problems.push(format!("router {:?}: rule: {e}", key.name));
                    continue;
                }
            };
            let service = if router.uses_noop() {
                Some(noop.clone())
            } else {
                services.get(strip_provider(&router.service)).cloned()
            };
            let Some(service) = service else {
                problems.push(format!(
                    "router {:?}: service {:?} not compiled",
                    key.name, router.service
                ));
                continue;
            };
            let (middlewares, broken) = match chains.chain(&router.middlewares) {
                Ok(chain) => (chain, None),
                Err(e) => {
                    tracing::warn!(router = %key.name, error = %e, "router fails closed");
                    (MiddlewareChain::from(Vec::new()), Some(e.to_string()))
                }
            };
            let target = RouteTarget {
                router: key.name.clone(),
                service,
                middlewares,
                broken,
            };
            for ep in self.entrypoints_of(router) {
                // Compiled per entrypoint: a rule is immutable and owned by one table.
                let rule = CompiledRule::compile(&expr);
                per_entrypoint
                    .entry(ep.to_string())
                    .or_default()
                    .push(RouteEntry {
                        name: key.name.clone(),
                        priority: router.effective_priority(),
                        rule,
                        target: target.clone(),
                    });
            }
        }
        *middleware_cache = chains.finish();
        per_entrypoint
            .into_iter()
            .map(|(ep, entries)| (ep, RouteTable::build(entries)))
            .collect()
    }

    /// The node's entrypoints a router serves on: those it names, or all of them. A router
    /// with `tls` is served only over TLS, as in Traefik, and every entrypoint is plain HTTP
    /// until TLS support lands: such a router is served nowhere rather than in cleartext.
    fn entrypoints_of<'a>(&'a self, router: &'a Router) -> impl Iterator<Item = &'a String> {
        let all = router.entry_points.is_empty();
        let plain_ok = router.tls.is_none();
        self.entrypoints
            .iter()
            .filter(move |ep| plain_ok && (all || router.entry_points.contains(ep)))
    }

    /// Load-balanced services: reused whole when unchanged, else rebuilt on server states
    /// the health registry carries over.
    fn compile_balanced(
        &self,
        services: &HashMap<&str, &Service>,
        transports: &TransportMap,
        problems: &mut Vec<String>,
    ) -> HashMap<String, Arc<ServiceRuntime>> {
        let mut wanted = Vec::new();
        let mut layout = Vec::new();
        for (name, service) in services {
            let Some(ServiceSpec::LoadBalancer(lb)) = service.spec() else {
                continue;
            };
            let spec = match lb
                .health_check
                .as_ref()
                .map(HealthCheckSpec::from_config)
                .transpose()
            {
                Ok(spec) => spec,
                Err(e) => {
                    problems.push(format!("service {name:?}: health check: {e}"));
                    None
                }
            };
            let servers: Vec<(&str, Target)> = lb
                .servers
                .iter()
                .filter_map(|s| match Target::parse(&s.url) {
                    Ok(t) => Some((s.url.as_str(), t)),
                    Err(e) => {
                        problems.push(format!("service {name:?}: server {:?}: {e}", s.url));
                        None
                    }
                })
                .collect();
            for (url, _) in &servers {
                wanted.push((name.to_string(), url.to_string(), spec.clone()));
            }
            layout.push((*name, *service, lb, servers));
        }
        let states = match self.registry.reconcile(wanted) {
            Ok(states) => states,
            Err(e) => {
                problems.push(format!("load balancers: {e}"));
                return HashMap::new();
            }
        };
        let mut states = states.into_iter();
        let mut cache = self.balanced.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = HashMap::new();
        for (name, service, lb, targets) in layout {
            let servers: Vec<_> = states.by_ref().take(targets.len()).collect();
            let transport = match lb.servers_transport.as_str() {
                "" => None,
                t => transports.get(strip_provider(t)).cloned(),
            };
            if let Some((old, runtime)) = cache.get(name) {
                if old == service
                    && same_servers(runtime, &servers)
                    && same_transport(runtime, transport.as_ref())
                {
                    out.insert(name.to_string(), runtime.clone());
                    continue;
                }
            }
            let weights = targets.iter().map(|(url, _)| {
                lb.servers
                    .iter()
                    .find(|s| s.url == *url)
                    .and_then(|s| s.weight)
                    .unwrap_or(1)
            });
            let weighted: Vec<_> = servers.into_iter().zip(weights).collect();
            let targets: Vec<Target> = targets.into_iter().map(|(_, t)| t).collect();
            let strategy = Strategy::from(lb.strategy());
            let sticky = match lb
                .sticky
                .as_ref()
                .and_then(|s| s.cookie.as_ref())
                .map(|c| StickyCookie::from_config(name, c))
            {
                Some(Ok(cookie)) => Some(cookie),
                Some(Err(e)) => {
                    problems.push(format!("service {name:?}: sticky cookie: {e}"));
                    None
                }
                None => None,
            };
            let runtime = Arc::new(ServiceRuntime::Balanced(Balanced {
                name: name.to_string(),
                lb: LoadBalancer::new(weighted, strategy, sticky),
                targets,
                pass_host_header: lb.passes_host_header(),
                transport,
            }));
            out.insert(name.to_string(), runtime);
        }
        cache.clear();
        for (name, runtime) in &out {
            if let Some(service) = services.get(name.as_str()) {
                cache.insert(name.clone(), ((*service).clone(), runtime.clone()));
            }
        }
        out
    }
}

fn same_transport(
    runtime: &ServiceRuntime,
    transport: Option<&Arc<super::upstream::Upstream>>,
) -> bool {
    match (runtime, transport) {
        (ServiceRuntime::Balanced(b), Some(t)) => {
            b.transport.as_ref().is_some_and(|o| Arc::ptr_eq(o, t))
        }
        (ServiceRuntime::Balanced(b), None) => b.transport.is_none(),
        _ => false,
    }
}

fn same_servers(runtime: &ServiceRuntime, servers: &[Arc<super::balance::ServerState>]) -> bool {
    match runtime {
        ServiceRuntime::Balanced(b) => {
            b.lb.servers().len() == servers.len()
                && b.lb
                    .servers()
                    .iter()
                    .zip(servers)
                    .all(|(a, b)| Arc::ptr_eq(a, b))
        }
        _ => false,
    }
}

/// Compiles a weighted, mirroring or failover service (children first). The replicated
/// state's apply refuses reference cycles and nesting past `MAX_REFERENCE_DEPTH`; the same
/// bound here only keeps a surprise from recursing further.
fn compile_composite(
    name: &str,
    services: &HashMap<&str, &Service>,
    compiled: &mut HashMap<String, Arc<ServiceRuntime>>,
    depth: usize,
) -> Option<Arc<ServiceRuntime>> {
    if let Some(done) = compiled.get(name) {
        return Some(done.clone());
    }
    if depth > raftgate_state::limits::MAX_REFERENCE_DEPTH {
        tracing::error!(service = %name, "service nesting too deep");
        return None;
    }
    let mut child = |n: &str| compile_composite(strip_provider(n), services, compiled, depth + 1);
    let runtime = match services.get(name)?.spec()? {
        ServiceSpec::LoadBalancer(_) => return None,
        ServiceSpec::Weighted(w) => {
            let mut children = Vec::new();
            let mut weights = Vec::new();
            let mut ids = Vec::new();
            for s in &w.services {
                children.push(child(&s.name)?);
                weights.push(s.weight.unwrap_or(1));
                ids.push(Weighted::child_id(strip_provider(&s.name)));
            }
            let sticky = match w
                .sticky
                .as_ref()
                .and_then(|s| s.cookie.as_ref())
                .map(|c| StickyCookie::from_config(name, c))
            {
                Some(Ok(cookie)) => Some((cookie, ids)),
                Some(Err(e)) => {
                    tracing::error!(service = %name, error = %e, "sticky cookie ignored");
                    None
                }
                None => None,
            };
            ServiceRuntime::Weighted(Weighted {
                name: name.to_string(),
                wrr: SmoothWrr::new(&weights),
                children,
                sticky,
            })
        }
        ServiceSpec::Mirroring(m) => {
            let main = child(&m.service)?;
            let mut mirrors = Vec::new();
            for mirror in &m.mirrors {
                mirrors.push((child(&mirror.name)?, mirror.percent.unwrap_or(0)));
            }
            ServiceRuntime::Mirroring(Mirroring {
                main,
                mirrors,
                mirror_body: m.mirror_body.unwrap_or(true),
                max_body_size: m
                    .max_body_size
                    .filter(|s| *s >= 0)
                    .map_or(DEFAULT_MIRROR_BODY_LIMIT, |s| s as u64),
                counter: AtomicU64::new(0),
            })
        }
        ServiceSpec::Failover(f) => ServiceRuntime::Failover(Failover {
            main: child(&f.service)?,
            fallback: child(&f.fallback)?,
        }),
    };
    let runtime = Arc::new(runtime);
    compiled.insert(name.to_string(), runtime.clone());
    Some(runtime)
}

/// A router named `fault-compile-…` makes the compile fail, as a bug would: builds with the
/// `fault-injection` feature only (the tests'), so the keep-the-last-runtime path is tested
/// through real nodes.
#[cfg(feature = "fault-injection")]
fn inject_fault(config: &ConfigState, problems: &mut Vec<String>) {
    for (key, _) in config.list(Kind::Router) {
        if key.name.starts_with("fault-compile-") {
            problems.push(format!("router {:?}: injected compile fault", key.name));
        }
    }
}

#[cfg(not(feature = "fault-injection"))]
fn inject_fault(_: &ConfigState, _: &mut Vec<String>) {}

/// Keeps `target` compiled from the latest applied state, until the channel closes.
///
/// A revision that compiles whole is served. One that does not (a bug: every write was
/// validated) is served without what failed only if it adds no problem to those of the
/// runtime served now — right after a start nothing is served, so that first revision is
/// served without what failed rather than not at all; a problem already there (an object
/// stored by an older version, say) does not freeze every later revision. Otherwise the
/// current runtime stays. Either way the failure is reported through `status` and the
/// metrics until a revision compiles whole.
pub async fn follow(
    mut applied: watch::Receiver<Arc<AppliedState>>,
    target: Arc<ArcSwap<Runtime>>,
    compiler: Arc<Compiler>,
    metrics: Arc<Metrics>,
    status: Arc<ProxyStatus>,
) {
    let mut compiled: Option<u64> = None;
    // The problems of the runtime served, once one is.
    let mut served_problems: Option<BTreeSet<String>> = None;
    loop {
        let state = applied.borrow_and_update().clone();
        let revision = state.config.revision;
        if compiled != Some(revision) {
            compiled = Some(revision);
            let compiler = compiler.clone();
            let started = std::time::Instant::now();
            let (runtime, problems) =
                tokio::task::spawn_blocking(move || compiler.compile_skipping(&state.config))
                    .await
                    .map(|(runtime, problems)| (Some(runtime), problems))
                    .unwrap_or_else(|e| (None, vec![format!("compile panicked: {e}")]));
            let found: BTreeSet<String> = problems.iter().cloned().collect();
            let no_new = served_problems
                .as_ref()
                .is_none_or(|served| found.is_subset(served));
            let served = match runtime.filter(|_| no_new) {
                Some(runtime) => {
                    target.store(Arc::new(runtime));
                    metrics.proxy_served(revision);
                    served_problems = Some(found);
                    tracing::debug!(revision, took = ?started.elapsed(), "proxy config swapped");
                    true
                }
                None => false,
            };
            if problems.is_empty() {
                status.served();
            } else {
                let failure = CompileFailure::new(revision, &problems, served);
                tracing::error!(%failure, serving = target.load().revision, "config revision did not compile whole");
                metrics.proxy_not_compiled();
                status.failed(failure);
            }
        }
        if applied.changed().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::request::RequestInfo;
    use crate::store::command::{Command, Op};

    fn put(state: &mut ConfigState, kind: Kind, name: &str, spec: serde_json::Value) {
        let spec = ObjectSpec::from_json(kind, name, &serde_json::to_vec(&spec).unwrap()).unwrap();
        let cmd = Command::Txn {
            ops: vec![Op::Put {
                name: name.into(),
                spec,
                managed_by: "test".into(),
            }],
            expected_revision: None,
        };
        state.apply(&cmd).unwrap();
    }

    fn target<'a>(rt: &'a Runtime, ep: &str, path: &str) -> Option<&'a RouteTarget> {
        let headers = http::HeaderMap::new();
        let info = RequestInfo {
            method: &http::Method::GET,
            host: "example.com",
            path,
            query: None,
            headers: &headers,
            client_ip: "127.0.0.1".parse().unwrap(),
        };
        rt.table(ep)?.lookup(&info).map(|e| &e.target)
    }

    fn base() -> ConfigState {
        let mut s = ConfigState::default();
        let lb = serde_json::json!({"loadBalancer": {"servers": [{"url": "http://127.0.0.1:1"}]}});
        put(&mut s, Kind::Service, "a", lb.clone());
        put(&mut s, Kind::Service, "b", lb);
        put(
            &mut s,
            Kind::Router,
            "r",
            serde_json::json!({"rule": "PathPrefix(`/r`)", "service": "a"}),
        );
        s
    }

    #[tokio::test]
    async fn unchanged_services_keep_their_balancer_across_swaps() {
        let compiler = Compiler::new(vec!["web".into()], UpstreamConfig::default());
        let mut state = base();
        let first = compiler.compile(&state).unwrap();
        // An unrelated change: service "a" is reused as is (round-robin position included).
        put(
            &mut state,
            Kind::Service,
            "b",
            serde_json::json!({"loadBalancer": {"servers": [{"url": "http://127.0.0.1:2"}]}}),
        );
        let second = compiler.compile(&state).unwrap();
        let (s1, s2) = (
            &target(&first, "web", "/r").unwrap().service,
            &target(&second, "web", "/r").unwrap().service,
        );
        assert!(Arc::ptr_eq(s1, s2));
        // A change to "a" itself rebuilds it.
        put(
            &mut state,
            Kind::Service,
            "a",
            serde_json::json!({"loadBalancer": {"servers": [{"url": "http://127.0.0.1:1", "weight": 2}]}}),
        );
        let third = compiler.compile(&state).unwrap();
        assert!(!Arc::ptr_eq(
            s2,
            &target(&third, "web", "/r").unwrap().service
        ));
        assert_eq!(third.revision, state.revision);
    }

    #[tokio::test]
    async fn routers_land_on_their_entrypoints_only() {
        let compiler = Compiler::new(
            vec!["web".into(), "admin".into()],
            UpstreamConfig::default(),
        );
        let mut state = base();
        put(
            &mut state,
            Kind::Router,
            "only-admin",
            serde_json::json!({"rule": "PathPrefix(`/adm`)", "service": "a", "entryPoints": ["admin"]}),
        );
        put(
            &mut state,
            Kind::Router,
            "elsewhere",
            serde_json::json!({"rule": "PathPrefix(`/x`)", "service": "a", "entryPoints": ["other"]}),
        );
        let rt = compiler.compile(&state).unwrap();
        assert!(target(&rt, "web", "/r").is_some() && target(&rt, "admin", "/r").is_some());
        assert!(target(&rt, "web", "/adm").is_none());
        assert_eq!(target(&rt, "admin", "/adm").unwrap().router, "only-admin");
        assert!(target(&rt, "web", "/x").is_none() && target(&rt, "admin", "/x").is_none());
    }

    #[tokio::test]
    async fn middleware_chains_are_flattened_and_reused_while_unchanged() {
        let compiler = Compiler::new(vec!["web".into()], UpstreamConfig::default());
        let mut state = base();
        let strip = serde_json::json!({"stripPrefix": {"prefixes": ["/m"]}});
        put(&mut state, Kind::Middleware, "strip", strip);
        put(
            &mut state,
            Kind::Middleware,
            "add",
            serde_json::json!({"addPrefix": {"prefix": "/v1"}}),
        );
        put(
            &mut state,
            Kind::Middleware,
            "both",
            serde_json::json!({"chain": {"middlewares": ["strip", "add@file"]}}),
        );
        put(
            &mut state,
            Kind::Router,
            "m",
            serde_json::json!({"rule": "PathPrefix(`/m`)", "service": "a", "middlewares": ["both", "strip"]}),
        );
        let rt = compiler.compile(&state).unwrap();
        let first = target(&rt, "web", "/m").unwrap();
        assert!(first.broken.is_none());
        assert_eq!(first.middlewares.len(), 3);
        assert!(Arc::ptr_eq(&first.middlewares[0], &first.middlewares[2]));
        assert!(target(&rt, "web", "/r").unwrap().middlewares.is_empty());

        // Unchanged middlewares are reused by the next revision; a changed one is rebuilt.
        put(
            &mut state,
            Kind::Middleware,
            "add",
            serde_json::json!({"addPrefix": {"prefix": "/v2"}}),
        );
        let rt2 = compiler.compile(&state).unwrap();
        let second = target(&rt2, "web", "/m").unwrap();
        assert!(Arc::ptr_eq(&first.middlewares[0], &second.middlewares[0]));
        assert!(!Arc::ptr_eq(&first.middlewares[1], &second.middlewares[1]));
    }

    /// What the model accepts, the data plane compiles: a config using every service form,
    /// every matcher and the middlewares that need nothing from the node's disk compiles with
    /// no problem and no router failing closed.
    #[tokio::test]
    async fn every_validated_object_compiles() {
        use serde_json::json;
        let compiler = Compiler::new(vec!["web".into()], UpstreamConfig::default());
        let mut state = base();
        put(
            &mut state,
            Kind::ServersTransport,
            "t",
            json!({"maxIdleConnsPerHost": 4,
            "forwardingTimeouts": {"dialTimeout": "1s", "responseHeaderTimeout": "2s", "idleConnTimeout": "3s"}}),
        );
        put(
            &mut state,
            Kind::Service,
            "full",
            json!({"loadBalancer": {
            "servers": [{"url": "http://127.0.0.1:3", "weight": 3}, {"url": "h2c://[::1]:4/base"}],
            "strategy": "p2c", "passHostHeader": false, "serversTransport": "t",
            "sticky": {"cookie": {"name": "lb", "secure": true, "httpOnly": true, "sameSite": "strict", "maxAge": 60}},
            "healthCheck": {"path": "/health", "interval": "10s", "timeout": "1s", "scheme": "http",
                            "port": 8081, "hostname": "b.local", "headers": {"X-Probe": "1"}, "status": 204}}}),
        );
        put(
            &mut state,
            Kind::Service,
            "w",
            json!({"weighted": {"services": [{"name": "a", "weight": 2}, {"name": "full@file"}],
            "sticky": {"cookie": {"name": "w"}}}}),
        );
        put(
            &mut state,
            Kind::Service,
            "m",
            json!({"mirroring": {"service": "w", "mirrors": [{"name": "b", "percent": 10}], "maxBodySize": 1024}}),
        );
        put(
            &mut state,
            Kind::Service,
            "f",
            json!({"failover": {"service": "m", "fallback": "b"}}),
        );
        for (name, mw) in [
            (
                "strip",
                json!({"stripPrefixRegex": {"regex": ["^/u/\\w+"]}}),
            ),
            (
                "replace",
                json!({"replacePathRegex": {"regex": "^/f/(.*)", "replacement": "/b/$1"}}),
            ),
            (
                "redirect",
                json!({"redirectRegex": {"regex": "^http://l/(.*)", "replacement": "http://e/${1}"}}),
            ),
            (
                "cors",
                json!({"headers": {"accessControlAllowOriginListRegex": ["^https://\\w+\\.example\\.com$"]}}),
            ),
            (
                "fa",
                json!({"forwardAuth": {"address": "http://127.0.0.1:5/auth", "authResponseHeadersRegex": "^X-\\d"}}),
            ),
            (
                "ip",
                json!({"ipAllowList": {"sourceRange": ["10.0.0.0/8", "::1"], "ipStrategy": {"depth": 1}}}),
            ),
            (
                "cb",
                json!({"circuitBreaker": {"expression": "NetworkErrorRatio() > 0.5 || ResponseCodeRatio(500, 600, 0, 600) > 0.25"}}),
            ),
            (
                "errs",
                json!({"errors": {"status": ["500-599"], "service": "a", "query": "/{status}"}}),
            ),
            (
                "all",
                json!({"chain": {"middlewares": ["strip", "replace", "redirect", "cors", "fa", "ip", "cb", "errs"]}}),
            ),
        ] {
            put(&mut state, Kind::Middleware, name, mw);
        }
        let rule = "Host(`a.example.com`) && (PathPrefix(`/x`) || Path(`/y`) || PathRegexp(`^/z/\\d+$`)) \
            && !Method(`DELETE`) && Header(`X-A`, `1`) || HeaderRegexp(`X-B`, `^\\w$`) \
            || Query(`q`) || Query(`k`, `v`) || QueryRegexp(`r`, `^\\d$`) || ClientIP(`10.0.0.0/8`) \
            || HostRegexp(`^.+\\.example\\.org$`)";
        put(
            &mut state,
            Kind::Router,
            "every",
            json!({"rule": rule, "service": "f", "middlewares": ["all"], "priority": -5}),
        );
        let runtime = compiler
            .compile(&state)
            .expect("a validated config compiles");
        let table = runtime.table("web").expect("web routes");
        let every = table
            .entries()
            .iter()
            .find(|e| e.name == "every")
            .expect("router compiled");
        assert_eq!(every.target.broken, None);
        assert_eq!(every.target.middlewares.len(), 8);
        assert_eq!(every.priority, -5);
    }
}
