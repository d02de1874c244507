//! Starting and stopping a node: opens the data dir, builds the Raft instance, serves the
//! gRPC port (Raft transport + admin API) and the ops port, and bootstraps or joins.

use std::net::SocketAddr;
use std::sync::Arc;

use openraft::SnapshotPolicy;
use raftgate_proto::admin_server::AdminServer;
use raftgate_proto::raft_transport_server::RaftTransportServer;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;

use arc_swap::ArcSwap;
use http::HeaderValue;

use crate::admin::AdminService;
use crate::cluster::bootstrap::{self, BootstrapError};
use crate::cluster::handle::ClusterHandle;
use crate::cluster::identity::ClusterIdentity;
use crate::cluster::network::Network;
use crate::cluster::transport::RaftTransportService;
use crate::cluster::types::Raft;
use crate::config::{Bootstrap, NodeConfig};
use crate::ops;
use crate::ops::metrics::Metrics;
use crate::proxy;
use crate::proxy::handler::EntryPointContext;
use crate::proxy::runtime::{Compiler, Runtime};
use crate::proxy::status::ProxyStatus;
use crate::proxy::upstream::Upstream;
use crate::store::db::{Db, DbError};
use crate::store::log_store::LogStore;
use crate::store::state_machine::StateMachineStore;

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The data dir cannot be used.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The stored state cannot be read.
    #[error("data dir: {0}")]
    Storage(String),
    /// A port cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// The Raft settings were refused.
    #[error("raft config: {0}")]
    RaftConfig(String),
    /// Bootstrap or join failed.
    #[error(transparent)]
    Bootstrap(#[from] BootstrapError),
}

/// A running node. Dropping it does not stop it: call [`RunningNode::shutdown`].
pub struct RunningNode {
    /// Shared handle of the member.
    pub handle: Arc<ClusterHandle>,
    /// The bound gRPC address.
    pub grpc_addr: SocketAddr,
    /// The bound ops address.
    pub ops_addr: SocketAddr,
    /// The bound entrypoints, by name.
    pub entrypoints: Vec<(String, SocketAddr)>,
    /// The runtime the proxy serves (for inspection).
    pub proxy_runtime: Arc<ArcSwap<Runtime>>,
    drains: Vec<JoinHandle<()>>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    db: Db,
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, NodeError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| NodeError::Bind { addr, source })
}

fn raft_config(cfg: &NodeConfig) -> Result<Arc<openraft::Config>, NodeError> {
    let t = &cfg.raft;
    let config = openraft::Config {
        cluster_name: "raftgate".to_string(),
        heartbeat_interval: t.heartbeat.as_millis() as u64,
        election_timeout_min: t.election_min.as_millis() as u64,
        election_timeout_max: t.election_max.as_millis() as u64,
        install_snapshot_timeout: t.snapshot_timeout.as_millis() as u64,
        snapshot_policy: SnapshotPolicy::LogsSinceLast(t.snapshot_logs),
        max_in_snapshot_log_to_keep: t.keep_logs,
        ..Default::default()
    };
    config
        .validate()
        .map(Arc::new)
        .map_err(|e| NodeError::RaftConfig(e.to_string()))
}

/// The sockets a node listens on, bound before anything starts so that a port in use
/// fails the start at once.
struct Listeners {
    grpc: TcpListener,
    grpc_addr: SocketAddr,
    ops: TcpListener,
    ops_addr: SocketAddr,
    entrypoints: Vec<(String, SocketAddr, TcpListener)>,
}

impl Listeners {
    async fn bind(cfg: &NodeConfig) -> Result<Self, NodeError> {
        let grpc = bind(cfg.grpc_addr).await?;
        let mut entrypoints = Vec::new();
        for (name, addr) in &cfg.proxy.entrypoints {
            let listener = bind(*addr).await?;
            let bound = local_addr(&listener, *addr)?;
            entrypoints.push((name.clone(), bound, listener));
        }
        let ops = bind(cfg.ops_addr).await?;
        Ok(Listeners {
            grpc_addr: local_addr(&grpc, cfg.grpc_addr)?,
            ops_addr: local_addr(&ops, cfg.ops_addr)?,
            grpc,
            ops,
            entrypoints,
        })
    }
}

fn local_addr(listener: &TcpListener, addr: SocketAddr) -> Result<SocketAddr, NodeError> {
    listener
        .local_addr()
        .map_err(|source| NodeError::Bind { addr, source })
}

/// Starts a node.
pub async fn start(cfg: NodeConfig) -> Result<RunningNode, NodeError> {
    let db = Db::open(&cfg.data_dir, cfg.id)?;
    let metrics = Arc::new(Metrics::new());
    let log_store = LogStore::open(&db).map_err(|e| NodeError::Storage(e.to_string()))?;
    let state_machine = StateMachineStore::open(&db, metrics.clone())
        .map_err(|e| NodeError::Storage(e.to_string()))?;
    let applied = state_machine.subscribe();
    let changes = state_machine.changes();
    let history = state_machine.history();

    let identity = ClusterIdentity::default();
    let stored_cluster = applied.borrow().config.cluster_id.clone();
    if let Some(id) = &stored_cluster {
        identity.set(id);
    }

    let listeners = Listeners::bind(&cfg).await?;
    let advertise_url = cfg
        .advertise_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", listeners.grpc_addr));
    if let Some(ours) = &stored_cluster {
        bootstrap::check_cluster(ours, &cfg.bootstrap.urls(), &advertise_url).await?;
    }

    let network = Network::new(
        identity.clone(),
        cfg.raft.heartbeat * 5,
        cfg.raft.peer_routes.clone(),
    );
    let raft = Raft::new(
        cfg.id,
        raft_config(&cfg)?,
        network,
        log_store,
        state_machine,
    )
    .await
    .map_err(|e| NodeError::Storage(e.to_string()))?;

    let handle = Arc::new(ClusterHandle {
        id: cfg.id,
        advertise_url,
        raft: raft.clone(),
        applied,
        changes,
        history,
        identity: identity.clone(),
        metrics: metrics.clone(),
        proxy: Arc::new(ProxyStatus::default()),
        write_timeout: cfg.write_timeout,
        routes: cfg.raft.peer_routes.clone(),
    });

    let (shutdown, shutdown_rx) = watch::channel(false);
    let mut tasks = vec![
        tokio::spawn(serve_grpc(
            handle.clone(),
            listeners.grpc,
            shutdown_rx.clone(),
        )),
        tokio::spawn(ops::server::serve(
            handle.clone(),
            listeners.ops,
            shutdown_rx.clone(),
        )),
        tokio::spawn(follow_state(handle.clone(), shutdown_rx.clone())),
    ];
    let proxy = start_proxy(&cfg, &handle, listeners.entrypoints, &shutdown_rx);
    tasks.push(proxy.follower);

    match &cfg.bootstrap {
        Bootstrap::Peers(peers) => bootstrap::initialize(&raft, cfg.id, peers).await?,
        Bootstrap::Join(urls) => {
            tasks.push(tokio::spawn(bootstrap::join(handle.clone(), urls.clone())));
        }
        Bootstrap::None => {}
    }
    if stored_cluster.is_none() {
        tasks.push(tokio::spawn(bootstrap::propose_cluster_id(handle.clone())));
    }
    let (grpc_addr, ops_addr) = (listeners.grpc_addr, listeners.ops_addr);
    tracing::info!(id = cfg.id, %grpc_addr, %ops_addr, url = %handle.advertise_url, entrypoints = ?proxy.entrypoints, "node started");
    Ok(RunningNode {
        handle,
        grpc_addr,
        ops_addr,
        entrypoints: proxy.entrypoints,
        proxy_runtime: proxy.runtime,
        drains: proxy.drains,
        shutdown,
        tasks,
        db,
    })
}

/// The data plane of a started node.
struct StartedProxy {
    runtime: Arc<ArcSwap<Runtime>>,
    follower: JoinHandle<()>,
    entrypoints: Vec<(String, SocketAddr)>,
    drains: Vec<JoinHandle<()>>,
}

/// Starts the data plane: the task that compiles every applied revision, and one server per
/// entrypoint serving whatever was compiled last.
fn start_proxy(
    cfg: &NodeConfig,
    handle: &Arc<ClusterHandle>,
    listeners: Vec<(String, SocketAddr, TcpListener)>,
    shutdown: &watch::Receiver<bool>,
) -> StartedProxy {
    let runtime = Arc::new(ArcSwap::from_pointee(Runtime::default()));
    let compiler = Arc::new(
        Compiler::new(
            cfg.proxy
                .entrypoints
                .iter()
                .map(|(n, _)| n.clone())
                .collect(),
            cfg.proxy.upstream.clone(),
        )
        .with_buffering_budget(cfg.proxy.buffering_budget),
    );
    let follower = tokio::spawn(proxy::runtime::follow(
        handle.applied.clone(),
        runtime.clone(),
        compiler,
        handle.metrics.clone(),
        handle.proxy.clone(),
    ));
    let upstream = Arc::new(Upstream::new(&cfg.proxy.upstream));
    let server_name =
        HeaderValue::from_str(&node_name(cfg.id)).unwrap_or(HeaderValue::from_static("raftgate"));
    let mut entrypoints = Vec::new();
    let mut drains = Vec::new();
    for (name, bound, listener) in listeners {
        let ctx = Arc::new(EntryPointContext {
            name: name.clone(),
            port: bound.port(),
            port_header: HeaderValue::from(bound.port()),
            runtime: runtime.clone(),
            upstream: upstream.clone(),
            server_name: server_name.clone(),
            trusted_ips: cfg.proxy.trusted_ips.clone().into(),
            metrics: handle.metrics.entrypoint(&name),
        });
        drains.push(tokio::spawn(proxy::server::serve(
            listener,
            ctx,
            cfg.proxy.timeouts.clone(),
            shutdown.clone(),
        )));
        entrypoints.push((name, bound));
    }
    StartedProxy {
        runtime,
        follower,
        entrypoints,
        drains,
    }
}

async fn serve_grpc(
    handle: Arc<ClusterHandle>,
    listener: TcpListener,
    mut stop: watch::Receiver<bool>,
) {
    let transport = RaftTransportServer::new(RaftTransportService::new(
        handle.raft.clone(),
        handle.identity.clone(),
    ))
    .max_decoding_message_size(256 << 20)
    .max_encoding_message_size(256 << 20);
    let admin = AdminServer::new(AdminService::new(handle.clone()));
    let result = tonic::transport::Server::builder()
        .tcp_nodelay(true)
        .add_service(transport)
        .add_service(admin)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .await;
    if let Err(e) = result {
        tracing::error!(error = %e, "gRPC server stopped");
    }
}

/// Keeps the cluster identity and the metrics in step with what Raft and the state machine
/// report.
async fn follow_state(handle: Arc<ClusterHandle>, mut stop: watch::Receiver<bool>) {
    let mut applied = handle.applied.clone();
    let mut raft_metrics = handle.raft.metrics();
    loop {
        {
            let state = applied.borrow_and_update().clone();
            if let Some(id) = &state.config.cluster_id {
                handle.identity.set(id);
            }
            handle.metrics.revision.set(state.config.revision as i64);
            handle
                .metrics
                .observe_raft(&raft_metrics.borrow_and_update());
        }
        tokio::select! {
            r = applied.changed() => if r.is_err() { return },
            r = raft_metrics.changed() => if r.is_err() { return },
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// This node's name for `X-Forwarded-Server`: the host name, else `raftgate-<id>`.
fn node_name(id: u64) -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| format!("raftgate-{id}"))
}

impl RunningNode {
    /// Stops accepting, lets in-flight requests finish (within the grace period), shuts
    /// Raft down and flushes the data dir.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for drain in self.drains {
            let _ = drain.await;
        }
        if let Err(e) = self.handle.raft.shutdown().await {
            tracing::warn!(error = %e, "raft shutdown");
        }
        for task in self.tasks {
            task.abort();
            let _ = task.await;
        }
        if let Err(e) = self.db.sled().flush_async().await {
            tracing::warn!(error = %e, "flush on shutdown");
        }
        tracing::info!(id = self.handle.id, "node stopped");
    }
}
