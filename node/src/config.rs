//! A node's startup configuration: command-line flags ([`NodeArgs`]) validated into a
//! [`NodeConfig`]. Every flag can also come from a `RAFTGATE_*` environment variable.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::cluster::routes::PeerRoutes;
use crate::proxy::server::{parse_entrypoint, EntryPointTimeouts};
use crate::proxy::upstream::UpstreamConfig;

/// Command-line flags of `raftgate`.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "raftgate",
    version,
    about = "A raftgate node: reverse proxy + Raft member"
)]
pub struct NodeArgs {
    /// This node's id (a positive integer, unique in the cluster, never reused).
    #[arg(
        long,
        env = "RAFTGATE_ID",
        required_unless_present = "id_from_hostname"
    )]
    pub id: Option<u64>,
    /// Derive the id from the host name's trailing number plus one (`raftgate-0` is node 1):
    /// for Kubernetes StatefulSets.
    #[arg(long, env = "RAFTGATE_ID_FROM_HOSTNAME", conflicts_with = "id")]
    pub id_from_hostname: bool,
    /// Data directory (Raft log, state machine, snapshots).
    #[arg(long, env = "RAFTGATE_DATA_DIR")]
    pub data_dir: PathBuf,
    /// Listen address of the gRPC port (Raft transport and admin API).
    #[arg(long, env = "RAFTGATE_GRPC_ADDR", default_value = "127.0.0.1:7001")]
    pub grpc_addr: SocketAddr,
    /// URL other members and clients use to reach the gRPC port; `{hostname}` is replaced
    /// by the host name [default: this node's entry in --peers, else http://<grpc-addr>].
    #[arg(long, env = "RAFTGATE_ADVERTISE_URL")]
    pub advertise_url: Option<String>,
    /// Listen address of the ops endpoint (/ping, /metrics, /api/cluster).
    #[arg(long, env = "RAFTGATE_OPS_ADDR", default_value = "127.0.0.1:9000")]
    pub ops_addr: SocketAddr,
    /// Initial members, e.g. `1=http://10.0.0.1:7001,2=http://10.0.0.2:7001,3=...`.
    /// Used only on the first start of an empty data dir: a listed node bootstraps the
    /// cluster with them; a node not listed (with --advertise-url) joins through them.
    #[arg(long, env = "RAFTGATE_PEERS", conflicts_with = "join")]
    pub peers: Option<String>,
    /// Join a running cluster through any of these members (comma list of gRPC URLs).
    /// Used only while this node is not yet a member.
    #[arg(long, env = "RAFTGATE_JOIN")]
    pub join: Option<String>,
    /// Reach members at these URLs instead of their advertised ones, e.g.
    /// `2=http://127.0.0.1:17002,3=...`: a NAT or proxy in between, or the chaos suite's
    /// fault-injecting relays. Applies to Raft traffic and forwarded admin calls.
    #[arg(long, env = "RAFTGATE_PEER_ROUTES")]
    pub peer_routes: Option<String>,
    /// Leader heartbeat interval. openraft 0.9 also uses it as the timeout of every
    /// AppendEntries call (so a loaded machine needs room here), and checks election
    /// timeouts on a tick of 1.5 heartbeats.
    #[arg(long, env = "RAFTGATE_HEARTBEAT_MS", default_value_t = 100)]
    pub heartbeat_ms: u64,
    /// Minimum election timeout. openraft 0.9 draws each node's timeout once, in
    /// min..max, and a follower first waits out the leader's lease (the maximum) too, so a
    /// dead leader is replaced after max + timeout + a tick: 0.6–0.95 s with the defaults.
    /// When the follower with the shorter log campaigns first it loses, and the other one
    /// needs a second timeout: max + 2 × timeout + 2 ticks, at most 1.5 s with the defaults.
    #[arg(long, env = "RAFTGATE_ELECTION_MIN_MS", default_value_t = 200)]
    pub election_min_ms: u64,
    /// Maximum election timeout (also the leader lease followers honour).
    #[arg(long, env = "RAFTGATE_ELECTION_MAX_MS", default_value_t = 400)]
    pub election_max_ms: u64,
    /// Build a snapshot after this many log entries since the last one.
    #[arg(long, env = "RAFTGATE_SNAPSHOT_LOGS", default_value_t = 5000)]
    pub snapshot_logs: u64,
    /// Log entries kept behind a snapshot (for slow followers) before they are purged.
    #[arg(long, env = "RAFTGATE_KEEP_LOGS", default_value_t = 1000)]
    pub keep_logs: u64,
    /// Timeout of one snapshot chunk transfer.
    #[arg(long, env = "RAFTGATE_SNAPSHOT_TIMEOUT_MS", default_value_t = 10_000)]
    pub snapshot_timeout_ms: u64,
    /// How long a config write may wait for its commit before it is reported as unknown.
    #[arg(long, env = "RAFTGATE_WRITE_TIMEOUT_MS", default_value_t = 5_000)]
    pub write_timeout_ms: u64,
    /// An HTTP entrypoint, `NAME=ADDRESS` (repeatable). Routers without `entryPoints` are
    /// served on every entrypoint.
    #[arg(
        long = "entrypoint",
        env = "RAFTGATE_ENTRYPOINTS",
        value_delimiter = ',',
        default_value = "web=127.0.0.1:8080"
    )]
    pub entrypoints: Vec<String>,
    /// Time allowed to read a request's headers (also bounds idle keep-alive connections).
    #[arg(
        long,
        env = "RAFTGATE_HEADER_READ_TIMEOUT_MS",
        default_value_t = 30_000
    )]
    pub header_read_timeout_ms: u64,
    /// Time in-flight requests get to finish on shutdown.
    #[arg(long, env = "RAFTGATE_GRACE_MS", default_value_t = 10_000)]
    pub grace_ms: u64,
    /// Time allowed to connect to an upstream server.
    #[arg(
        long,
        env = "RAFTGATE_UPSTREAM_DIAL_TIMEOUT_MS",
        default_value_t = 30_000
    )]
    pub upstream_dial_timeout_ms: u64,
    /// Time allowed for an upstream's response headers (0: unbounded) before a 504.
    #[arg(
        long,
        env = "RAFTGATE_UPSTREAM_RESPONSE_TIMEOUT_MS",
        default_value_t = 0
    )]
    pub upstream_response_timeout_ms: u64,
    /// Runtime worker threads (default: one per CPU). With 1, the node runs on a single
    /// thread (tokio's current-thread runtime), which is the fastest way to use one core.
    #[arg(long, env = "RAFTGATE_WORKER_THREADS")]
    pub worker_threads: Option<usize>,
    /// Idle keep-alive connections kept per upstream server.
    #[arg(long, env = "RAFTGATE_UPSTREAM_MAX_IDLE", default_value_t = 200)]
    pub upstream_max_idle: usize,
    /// Memory all `buffering` middlewares of the node may hold at once, in MiB; a body that
    /// would go past it is answered 503.
    #[arg(long, env = "RAFTGATE_BUFFERING_MEMORY_MB", default_value_t = 256)]
    pub buffering_memory_mb: usize,
    /// Peers (IPs or CIDR ranges, comma list) whose `X-Forwarded-*` headers are trusted
    /// (Traefik's `forwardedHeaders.trustedIPs`): their `X-Forwarded-For` is kept and the peer
    /// appended; from any other peer the headers are replaced.
    #[arg(
        long,
        env = "RAFTGATE_FORWARDED_HEADERS_TRUSTED_IPS",
        value_delimiter = ','
    )]
    pub forwarded_headers_trusted_ips: Vec<String>,
}

/// Why the flags do not describe a usable node.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A flag's value is malformed or inconsistent.
    #[error("--{flag}: {reason}")]
    Invalid {
        /// The flag.
        flag: &'static str,
        /// What is wrong.
        reason: String,
    },
}

fn invalid(flag: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        flag,
        reason: reason.into(),
    }
}

/// How a node finds its cluster on start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bootstrap {
    /// Restart on an existing data dir (or wait to be added by an operator).
    None,
    /// Initialize a new cluster with these members (only if the data dir is empty).
    Peers(BTreeMap<u64, String>),
    /// Ask these members to add this node.
    Join(Vec<String>),
}

impl Bootstrap {
    /// The member URLs this start names (peers or join targets), to check a stored cluster id
    /// against.
    pub fn urls(&self) -> Vec<String> {
        match self {
            Bootstrap::Peers(p) => p.values().cloned().collect(),
            Bootstrap::Join(j) => j.clone(),
            Bootstrap::None => Vec::new(),
        }
    }
}

/// Raft timing and log-retention settings.
#[derive(Debug, Clone)]
pub struct RaftTuning {
    /// Leader heartbeat interval.
    pub heartbeat: Duration,
    /// Election timeout range.
    pub election_min: Duration,
    /// Election timeout range (upper end).
    pub election_max: Duration,
    /// Entries between snapshots.
    pub snapshot_logs: u64,
    /// Entries kept behind a snapshot.
    pub keep_logs: u64,
    /// Timeout of one snapshot chunk.
    pub snapshot_timeout: Duration,
    /// Where members are dialled when not at their advertised URL.
    pub peer_routes: PeerRoutes,
}

/// A validated node configuration.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Node id.
    pub id: u64,
    /// Data directory.
    pub data_dir: PathBuf,
    /// gRPC listen address (port 0 picks a free port).
    pub grpc_addr: SocketAddr,
    /// Advertised gRPC URL (`None`: derived from the bound address).
    pub advertise_url: Option<String>,
    /// Ops listen address (port 0 picks a free port).
    pub ops_addr: SocketAddr,
    /// How to find the cluster.
    pub bootstrap: Bootstrap,
    /// Raft settings.
    pub raft: RaftTuning,
    /// Commit wait bound for writes.
    pub write_timeout: Duration,
    /// The data plane's settings.
    pub proxy: ProxyConfig,
}

/// The data plane's settings.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// Entrypoints by name, in flag order.
    pub entrypoints: Vec<(String, SocketAddr)>,
    /// Connection timeouts of the entrypoints.
    pub timeouts: EntryPointTimeouts,
    /// Upstream client settings.
    pub upstream: UpstreamConfig,
    /// Peers whose forwarding headers are kept (`--forwarded-headers-trusted-ips`).
    pub trusted_ips: Vec<ipnet::IpNet>,
    /// Bytes all `buffering` middlewares may hold at once (`--buffering-memory-mb`).
    pub buffering_budget: usize,
}

fn parse_url(flag: &'static str, s: &str) -> Result<String, ConfigError> {
    let url = url::Url::parse(s).map_err(|e| invalid(flag, format!("{s:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(invalid(
            flag,
            format!("{s:?}: expected http(s)://host:port"),
        ));
    }
    Ok(s.trim_end_matches('/').to_string())
}

/// Parses `1=http://a:7001,2=http://b:7001`.
pub fn parse_peers(s: &str) -> Result<BTreeMap<u64, String>, ConfigError> {
    parse_id_urls("peers", s)
}

/// Parses `ID=URL,...` given to `flag`.
fn parse_id_urls(flag: &'static str, s: &str) -> Result<BTreeMap<u64, String>, ConfigError> {
    let mut peers = BTreeMap::new();
    for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (id, url) = item
            .split_once('=')
            .ok_or_else(|| invalid(flag, format!("{item:?}: expected ID=URL")))?;
        let id: u64 = id
            .trim()
            .parse()
            .map_err(|_| invalid(flag, format!("{item:?}: {id:?} is not a node id")))?;
        if id == 0 {
            return Err(invalid(flag, "node ids start at 1"));
        }
        if peers.insert(id, parse_url(flag, url.trim())?).is_some() {
            return Err(invalid(flag, format!("node {id} is listed twice")));
        }
    }
    if peers.is_empty() {
        return Err(invalid(flag, "no member given"));
    }
    Ok(peers)
}

impl TryFrom<NodeArgs> for NodeConfig {
    type Error = ConfigError;

    fn try_from(a: NodeArgs) -> Result<Self, ConfigError> {
        let hostname = hostname();
        let id = match (a.id, a.id_from_hostname) {
            (Some(id), _) => id,
            (None, _) => id_from_hostname(&hostname)?,
        };
        if id == 0 {
            return Err(invalid("id", "node ids start at 1"));
        }
        if a.election_min_ms >= a.election_max_ms {
            return Err(invalid(
                "election-min-ms",
                format!("must be below --election-max-ms ({})", a.election_max_ms),
            ));
        }
        if a.heartbeat_ms == 0 || a.heartbeat_ms * 2 > a.election_min_ms {
            return Err(invalid(
                "heartbeat-ms",
                format!(
                    "must be positive and at most half of --election-min-ms ({})",
                    a.election_min_ms
                ),
            ));
        }
        if a.snapshot_logs == 0 {
            return Err(invalid("snapshot-logs", "must be positive"));
        }
        let mut advertise_url = a
            .advertise_url
            .as_deref()
            .map(|u| parse_url("advertise-url", &u.replace("{hostname}", &hostname)))
            .transpose()?;
        let bootstrap = match (&a.peers, &a.join) {
            (Some(peers), _) => {
                let peers = parse_peers(peers)?;
                let Some(own) = peers.get(&id) else {
                    // Not an initial member: join through them (a scaled-up StatefulSet).
                    if advertise_url.is_none() {
                        return Err(invalid(
                            "peers",
                            format!("does not list this node (id {id}); give --advertise-url to join through them"),
                        ));
                    }
                    return finish(
                        a,
                        id,
                        advertise_url,
                        Bootstrap::Join(peers.into_values().collect()),
                    );
                };
                match &advertise_url {
                    Some(adv) if adv != own => {
                        return Err(invalid(
                            "advertise-url",
                            format!("{adv} differs from this node's entry in --peers ({own})"),
                        ))
                    }
                    Some(_) => {}
                    None => advertise_url = Some(own.clone()),
                }
                Bootstrap::Peers(peers)
            }
            (None, Some(join)) => {
                let urls = join
                    .split(',')
                    .map(str::trim)
                    .filter(|u| !u.is_empty())
                    .map(|u| parse_url("join", u))
                    .collect::<Result<Vec<_>, _>>()?;
                if urls.is_empty() {
                    return Err(invalid("join", "no member given"));
                }
                Bootstrap::Join(urls)
            }
            (None, None) => Bootstrap::None,
        };
        finish(a, id, advertise_url, bootstrap)
    }
}

/// The host name (`HOSTNAME`, else the kernel's), empty if unknown.
fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// `raftgate-2` → 3: the StatefulSet ordinal plus one.
pub fn id_from_hostname(hostname: &str) -> Result<u64, ConfigError> {
    hostname
        .rsplit_once('-')
        .and_then(|(_, n)| n.parse::<u64>().ok())
        .map(|ordinal| ordinal + 1)
        .ok_or_else(|| {
            invalid(
                "id-from-hostname",
                format!("host name {hostname:?} does not end in -<ordinal>"),
            )
        })
}

/// The rest of the validation, shared by every bootstrap mode.
fn finish(
    a: NodeArgs,
    id: u64,
    advertise_url: Option<String>,
    bootstrap: Bootstrap,
) -> Result<NodeConfig, ConfigError> {
    let mut entrypoints: Vec<(String, SocketAddr)> = Vec::new();
    for spec in &a.entrypoints {
        let (name, addr) = parse_entrypoint(spec).map_err(|e| invalid("entrypoint", e))?;
        if entrypoints.iter().any(|(n, _)| *n == name) {
            return Err(invalid("entrypoint", format!("{name} is given twice")));
        }
        entrypoints.push((name, addr));
    }
    let mut trusted_ips = Vec::new();
    for spec in a.forwarded_headers_trusted_ips.iter().map(|s| s.trim()) {
        if spec.is_empty() {
            continue;
        }
        let net = match spec.parse::<std::net::IpAddr>() {
            Ok(ip) => ipnet::IpNet::from(ip),
            Err(_) => spec.parse::<ipnet::IpNet>().map_err(|_| {
                invalid(
                    "forwarded-headers-trusted-ips",
                    format!("{spec:?} is neither an IP address nor a CIDR range"),
                )
            })?,
        };
        trusted_ips.push(net);
    }
    let proxy = ProxyConfig {
        trusted_ips,
        buffering_budget: a.buffering_memory_mb.saturating_mul(1 << 20),
        entrypoints,
        timeouts: EntryPointTimeouts {
            header_read: Duration::from_millis(a.header_read_timeout_ms.max(1)),
            grace: Duration::from_millis(a.grace_ms),
        },
        upstream: UpstreamConfig {
            dial_timeout: Duration::from_millis(a.upstream_dial_timeout_ms.max(1)),
            response_timeout: (a.upstream_response_timeout_ms > 0)
                .then(|| Duration::from_millis(a.upstream_response_timeout_ms)),
            max_idle_per_host: a.upstream_max_idle,
            idle_timeout: Duration::from_secs(90),
        },
    };
    let peer_routes = match &a.peer_routes {
        Some(routes) => PeerRoutes::new(parse_id_urls("peer-routes", routes)?),
        None => PeerRoutes::default(),
    };
    Ok(NodeConfig {
        proxy,
        id,
        data_dir: a.data_dir,
        grpc_addr: a.grpc_addr,
        advertise_url,
        ops_addr: a.ops_addr,
        bootstrap,
        raft: RaftTuning {
            heartbeat: Duration::from_millis(a.heartbeat_ms),
            election_min: Duration::from_millis(a.election_min_ms),
            election_max: Duration::from_millis(a.election_max_ms),
            snapshot_logs: a.snapshot_logs,
            keep_logs: a.keep_logs,
            snapshot_timeout: Duration::from_millis(a.snapshot_timeout_ms),
            peer_routes,
        },
        write_timeout: Duration::from_millis(a.write_timeout_ms),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(extra: &[&str]) -> NodeArgs {
        let mut v = vec!["raftgate", "--id", "1", "--data-dir", "/tmp/x"];
        v.extend_from_slice(extra);
        NodeArgs::parse_from(v)
    }

    #[test]
    fn peers_parse_and_give_the_advertised_url() {
        let cfg = NodeConfig::try_from(args(&[
            "--peers",
            "1=http://127.0.0.1:7001, 2=http://127.0.0.1:7002/",
        ]))
        .unwrap();
        assert_eq!(cfg.advertise_url.as_deref(), Some("http://127.0.0.1:7001"));
        match cfg.bootstrap {
            Bootstrap::Peers(p) => assert_eq!(p[&2], "http://127.0.0.1:7002"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn trusted_forwarding_peers_parse_as_ips_and_ranges() {
        let cfg = NodeConfig::try_from(args(&[
            "--forwarded-headers-trusted-ips",
            "10.0.0.0/8, 127.0.0.1,::1",
        ]))
        .unwrap();
        let nets: Vec<String> = cfg
            .proxy
            .trusted_ips
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(nets, ["10.0.0.0/8", "127.0.0.1/32", "::1/128"]);
        assert!(NodeConfig::try_from(args(&[]))
            .unwrap()
            .proxy
            .trusted_ips
            .is_empty());
        let e = NodeConfig::try_from(args(&["--forwarded-headers-trusted-ips", "10.0.0.0/40"]))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "--forwarded-headers-trusted-ips: \"10.0.0.0/40\" is neither an IP address nor a CIDR range"
        );
    }

    #[test]
    fn ids_come_from_statefulset_host_names() {
        assert_eq!(id_from_hostname("raftgate-0").unwrap(), 1);
        assert_eq!(id_from_hostname("my-gw-12").unwrap(), 13);
        assert!(id_from_hostname("raftgate").is_err());
    }

    #[test]
    fn a_node_missing_from_peers_joins_through_them() {
        let a = NodeArgs::parse_from([
            "raftgate",
            "--id",
            "4",
            "--data-dir",
            "/tmp/x",
            "--peers",
            "1=http://a:7001,2=http://b:7001",
            "--advertise-url",
            "http://d:7001",
        ]);
        let cfg = NodeConfig::try_from(a).unwrap();
        assert_eq!(
            cfg.bootstrap,
            Bootstrap::Join(vec!["http://a:7001".into(), "http://b:7001".into()])
        );
        assert_eq!(cfg.advertise_url.as_deref(), Some("http://d:7001"));
    }

    #[test]
    fn bad_flags_are_named() {
        let err = NodeConfig::try_from(args(&["--peers", "2=http://a:1"])).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("--peers: does not list this node"),
            "{err}"
        );
        let err = NodeConfig::try_from(args(&["--peers", "1=ftp://a:1"])).unwrap_err();
        assert!(err.to_string().contains("expected http(s)"), "{err}");
        let err = NodeConfig::try_from(args(&["--peers", "x=http://a:1"])).unwrap_err();
        assert!(err.to_string().contains("is not a node id"), "{err}");
        let err = NodeConfig::try_from(args(&[
            "--election-min-ms",
            "900",
            "--election-max-ms",
            "800",
        ]))
        .unwrap_err();
        assert!(err.to_string().starts_with("--election-min-ms"), "{err}");
        let err = NodeConfig::try_from(args(&["--heartbeat-ms", "400"])).unwrap_err();
        assert!(err.to_string().starts_with("--heartbeat-ms"), "{err}");
    }
}
