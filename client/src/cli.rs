//! The command line of `raftgatectl`, as clap derive types. Parsing only: nothing here talks to
//! the network. Global flags (`--endpoints`, `--timeout`, `--output`) are accepted before or
//! after the subcommand.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Command-line client of a raftgate cluster (gRPC admin API).
#[derive(Debug, Parser)]
#[command(name = "raftgatectl", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// gRPC URLs of cluster members, tried in order (comma-separated).
    #[arg(
        long,
        global = true,
        env = "RAFTGATE_ENDPOINTS",
        value_delimiter = ',',
        default_value = "http://127.0.0.1:7001",
        value_parser = parse_endpoint
    )]
    pub endpoints: Vec<String>,
    /// Timeout of connecting and of each call, e.g. "10s" or "500ms".
    #[arg(long, global = true, default_value = "10s", value_parser = parse_timeout)]
    pub timeout: Duration,
    /// Output format.
    #[arg(short, long, global = true, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Table,
    Json,
    Yaml,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Cluster membership and status.
    #[command(subcommand)]
    Cluster(ClusterCmd),
    /// HTTP routers (rule → middlewares → service).
    #[command(subcommand)]
    Router(RouterCmd),
    /// HTTP services (load balancers).
    #[command(subcommand)]
    Service(ServiceCmd),
    /// HTTP middlewares.
    #[command(subcommand)]
    Middleware(SpecCmd),
    /// How load balancers reach their servers (idle connections, timeouts).
    #[command(subcommand, name = "servers-transport")]
    ServersTransport(SpecCmd),
    /// Shows objects of one kind, or of every kind.
    Get(GetArgs),
    /// Applies Traefik dynamic configuration files: every change commits in one Raft entry
    /// (one revision), or none does.
    Apply(ApplyArgs),
    /// Shows, as a unified diff, how files differ from the live config.
    Diff(DiffArgs),
    /// Prints committed changes as they arrive.
    Watch(WatchArgs),
    /// Waits until nodes have applied a revision.
    WaitApplied(WaitAppliedArgs),
}

// ---------------------------------------------------------------- cluster

#[derive(Debug, Subcommand)]
pub enum ClusterCmd {
    /// Every member's role, term, applied revision and state hash.
    Status,
    /// Adds a node (as a learner, then promoted to voter unless --learner).
    AddNode {
        #[arg(long)]
        id: u64,
        /// gRPC URL of the new node, e.g. http://10.0.0.4:7001.
        #[arg(long, value_parser = parse_endpoint)]
        addr: String,
        /// Keep the node a learner.
        #[arg(long)]
        learner: bool,
    },
    /// Removes a node; its id may never be reused.
    RemoveNode {
        #[arg(long)]
        id: u64,
    },
    /// Hands leadership to another voter.
    TransferLeader {
        #[arg(long)]
        to: u64,
    },
}

// ---------------------------------------------------------------- objects

/// Subcommands every object kind has.
#[derive(Debug, Subcommand)]
pub enum CommonCmd {
    /// Deletes an object.
    Delete(DeleteArgs),
    /// Shows one object.
    Get(NameRead),
    /// Shows every object of this kind.
    List(ReadArgs),
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    pub name: String,
    /// Refuse unless the object's current mod revision is N.
    #[arg(long, value_name = "N")]
    pub if_revision: Option<u64>,
}

#[derive(Debug, Args)]
pub struct NameRead {
    pub name: String,
    #[command(flatten)]
    pub read: ReadArgs,
}

/// Options of a read.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct ReadArgs {
    /// Linearizable read (confirmed through the leader).
    #[arg(long)]
    pub consistent: bool,
    /// Wait until the node has applied at least revision N.
    #[arg(long, value_name = "N")]
    pub min_revision: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum RouterCmd {
    /// Creates a router.
    Create(RouterCreate),
    /// Changes the given fields of a router.
    Update(RouterUpdate),
    #[command(flatten)]
    Common(CommonCmd),
}

#[derive(Debug, Args)]
pub struct RouterCreate {
    pub name: String,
    /// Traefik v3 rule, e.g. 'Host(`example.com`) && PathPrefix(`/api`)'.
    #[arg(long)]
    pub rule: String,
    /// Name of the service requests go to.
    #[arg(long)]
    pub service: String,
    #[command(flatten)]
    pub extra: RouterExtra,
}

#[derive(Debug, Args)]
pub struct RouterUpdate {
    pub name: String,
    #[arg(long)]
    pub rule: Option<String>,
    #[arg(long)]
    pub service: Option<String>,
    #[command(flatten)]
    pub extra: RouterExtra,
}

#[derive(Debug, Args)]
pub struct RouterExtra {
    #[arg(long, allow_negative_numbers = true)]
    pub priority: Option<i64>,
    /// Entrypoint name (repeatable); replaces the list on update.
    #[arg(long = "entrypoint", value_name = "E")]
    pub entrypoints: Vec<String>,
    /// Middleware name, in order (repeatable); replaces the list on update.
    #[arg(long = "middleware", value_name = "M")]
    pub middlewares: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum ServiceCmd {
    /// Creates a load-balancer service.
    Create(ServiceCreate),
    /// Changes the given fields of a load-balancer service.
    Update(ServiceUpdate),
    #[command(flatten)]
    Common(CommonCmd),
}

#[derive(Debug, Args)]
pub struct ServiceCreate {
    pub name: String,
    /// Upstream server URL (repeatable).
    #[arg(long = "server", value_name = "URL", required = true)]
    pub servers: Vec<String>,
    #[command(flatten)]
    pub lb: LoadBalancerArgs,
}

#[derive(Debug, Args)]
pub struct ServiceUpdate {
    pub name: String,
    /// Upstream server URL (repeatable); replaces the server list.
    #[arg(long = "server", value_name = "URL")]
    pub servers: Vec<String>,
    #[command(flatten)]
    pub lb: LoadBalancerArgs,
}

#[derive(Debug, Args)]
pub struct LoadBalancerArgs {
    /// Weight of one server, as URL=W (repeatable).
    #[arg(long = "weight", value_name = "URL=W", value_parser = parse_weight)]
    pub weights: Vec<(String, u32)>,
    /// Load-balancing strategy: weighted round robin or power of two choices.
    #[arg(long, value_enum)]
    pub strategy: Option<Strategy>,
    /// Forward the client's Host header to the servers.
    #[arg(long, value_name = "BOOL", value_parser = clap::value_parser!(bool))]
    pub pass_host_header: Option<bool>,
    /// Enables sticky sessions with this cookie name.
    #[arg(long, value_name = "NAME")]
    pub sticky_cookie: Option<String>,
    /// Active health check path, e.g. /health.
    #[arg(long, value_name = "P")]
    pub health_path: Option<String>,
    /// Active health check interval, e.g. 10s.
    #[arg(long, value_name = "D", value_parser = parse_duration)]
    pub health_interval: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Strategy {
    Wrr,
    P2c,
}

#[derive(Debug, Subcommand)]
pub enum SpecCmd {
    /// Creates the object from its Traefik spec.
    Create(SpecWrite),
    /// Replaces the object's spec whole.
    Update(SpecWrite),
    #[command(flatten)]
    Common(CommonCmd),
}

#[derive(Debug, Args)]
pub struct SpecWrite {
    pub name: String,
    #[command(flatten)]
    pub source: SpecSource,
}

/// Where a middleware spec comes from: exactly one of --spec and -f.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct SpecSource {
    /// The spec as JSON, e.g. '{"stripPrefix":{"prefixes":["/api"]}}'.
    #[arg(long, value_name = "JSON")]
    pub spec: Option<String>,
    /// A .json, .yaml or .yml file holding the spec.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
}

// ---------------------------------------------------------------- apply / diff

/// The files to read.
#[derive(Debug, Args)]
pub struct FileArgs {
    /// A .yml/.yaml/.toml/.json file, a directory of them, or `-` for stdin (repeatable).
    #[arg(short = 'f', long = "filename", value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub files: FileArgs,
    /// Validate on the leader and print what would change, without writing.
    #[arg(long)]
    pub dry_run: bool,
    /// Also delete objects written by `apply` that the files no longer mention.
    #[arg(long)]
    pub prune: bool,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub files: FileArgs,
    /// Also show the objects `apply --prune` would delete.
    #[arg(long)]
    pub prune: bool,
}

// ---------------------------------------------------------------- get / watch / wait

#[derive(Debug, Args)]
pub struct GetArgs {
    pub what: GetWhat,
    /// Show only this object (not with `all`).
    pub name: Option<String>,
    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GetWhat {
    #[value(alias = "router")]
    Routers,
    #[value(alias = "service")]
    Services,
    #[value(alias = "middleware")]
    Middlewares,
    #[value(
        name = "serverstransports",
        alias = "serverstransport",
        alias = "servers-transports",
        alias = "servers-transport"
    )]
    ServersTransports,
    All,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Send changes with a revision greater than REV (0: only changes from now on).
    #[arg(long = "from", value_name = "REV", default_value_t = 0)]
    pub from: u64,
}

#[derive(Debug, Args)]
pub struct WaitAppliedArgs {
    #[arg(long)]
    pub revision: u64,
    /// Ask only this node (default: every endpoint).
    #[arg(long, value_name = "URL", value_parser = parse_endpoint)]
    pub node: Option<String>,
}

// ---------------------------------------------------------------- value parsers

fn parse_endpoint(s: &str) -> Result<String, String> {
    let s = s.trim();
    let rest = s
        .strip_prefix("http://")
        .or_else(|| s.strip_prefix("https://"))
        .ok_or_else(|| format!("{s:?} is not an http:// or https:// URL"))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(format!("{s:?} has no host"));
    }
    tonic::transport::Endpoint::from_shared(s.to_string()).map_err(|e| format!("{s:?}: {e}"))?;
    Ok(s.trim_end_matches('/').to_string())
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{s:?}: {e} (try \"10s\" or \"500ms\")"))
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d.is_zero() {
        return Err("the timeout must be greater than zero".into());
    }
    Ok(d)
}

fn parse_weight(s: &str) -> Result<(String, u32), String> {
    let (url, w) = s
        .rsplit_once('=')
        .ok_or_else(|| format!("{s:?} is not URL=WEIGHT"))?;
    let w = w
        .parse()
        .map_err(|_| format!("weight {w:?} of {url} is not a non-negative integer"))?;
    Ok((url.to_string(), w))
}

#[cfg(test)]
mod tests;
