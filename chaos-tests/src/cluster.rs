//! The clusters chaos scenarios run against, behind one [`Cluster`] trait: node processes on
//! loopback with relays on every peer link ([`ProcessCluster`], any machine, CI), and the
//! docker compose deployment ([`ComposeCluster`], where a Docker engine runs).
//!
//! Observation goes through the admin API only, so it is the same for both.

mod compose;
mod process;
mod processes;

pub use compose::ComposeCluster;
pub use process::{node_binary, NodeProcess};
pub use processes::ProcessCluster;
pub use raftgate_testkit::docker_available;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use raftgate_proto::admin_client::AdminClient;
use raftgate_proto::{NodeInfo, NodeStatusRequest};
use tonic::transport::Channel;

/// Node ids.
pub type NodeId = u64;

/// A running three-node cluster and the faults it can suffer.
pub trait Cluster {
    /// Ids of every node.
    fn ids(&self) -> Vec<NodeId>;
    /// gRPC URL of node `id`, from the harness.
    fn url(&self, id: NodeId) -> String;
    /// Every node's `web` entrypoint, from the harness.
    fn web_addrs(&self) -> BTreeMap<NodeId, SocketAddr>;
    /// Whether node `id` runs (a paused node counts as running).
    fn is_up(&self, id: NodeId) -> bool;
    /// SIGKILL.
    fn kill(&mut self, id: NodeId) -> std::io::Result<()>;
    /// Starts a killed node again on its data.
    fn restart(&mut self, id: NodeId) -> std::io::Result<()>;
    /// SIGSTOP (freezes the node with its sockets open).
    fn pause(&mut self, id: NodeId) -> std::io::Result<()>;
    /// SIGCONT.
    fn resume(&mut self, id: NodeId) -> std::io::Result<()>;
    /// Cuts every link between groups.
    fn partition(&mut self, groups: &[&[NodeId]]) -> std::io::Result<()>;
    /// An asymmetric link; `Ok(false)` where the backend cannot make one.
    fn drop_one_way(&mut self, from: NodeId, to: NodeId) -> std::io::Result<bool>;
    /// Lifts every network fault.
    fn heal(&mut self) -> std::io::Result<()>;
    /// Starts node `id` joining through `join`; `Ok(false)` where the backend cannot.
    fn add_node(&mut self, id: NodeId, join: &[NodeId]) -> std::io::Result<bool>;
    /// The last lines of node `id`'s log.
    fn log_tail(&self, id: NodeId, lines: usize) -> String;
    /// The server the chaos route sends requests to, as seen from the nodes; `None`: a
    /// backend on the harness's loopback.
    fn route_target(&self) -> Option<String> {
        None
    }
    /// Whether a node cut off from its peers is cut off from the harness too (its proxy
    /// then counts as faulted).
    fn cuts_clients_off(&self) -> bool {
        false
    }
    /// Cuts `id` off from every other node.
    fn isolate(&mut self, id: NodeId) -> std::io::Result<()> {
        let others: Vec<NodeId> = self.ids().into_iter().filter(|o| *o != id).collect();
        self.partition(&[&[id], &others])
    }
}

/// Node `id`'s own view, if it answers within a second.
pub async fn info<C: Cluster + ?Sized>(cluster: &C, id: NodeId) -> Option<NodeInfo> {
    if !cluster.is_up(id) {
        return None;
    }
    let call = async {
        let mut client = admin(&cluster.url(id)).ok()?;
        client
            .node_status(NodeStatusRequest {})
            .await
            .ok()
            .map(|r| r.into_inner())
    };
    tokio::time::timeout(Duration::from_secs(1), call)
        .await
        .ok()
        .flatten()
}

/// The leader that a majority of `among` agree on, with its term.
pub async fn leader_among<C: Cluster + ?Sized>(
    cluster: &C,
    among: &[NodeId],
) -> Option<(NodeId, u64)> {
    let mut votes: BTreeMap<(NodeId, u64), usize> = BTreeMap::new();
    for id in among {
        if let Some(info) = info(cluster, *id).await {
            if let Some(leader) = info.leader_id {
                *votes.entry((leader, info.term)).or_default() += 1;
            }
        }
    }
    let majority = cluster.ids().len() / 2 + 1;
    votes
        .into_iter()
        .find(|(_, n)| *n >= majority.min(among.len()))
        .map(|(k, _)| k)
        .filter(|(leader, _)| among.contains(leader))
}

/// Waits until a majority of `among` agree on a leader in `among`.
pub async fn wait_leader<C: Cluster + ?Sized>(
    cluster: &C,
    among: &[NodeId],
    timeout: Duration,
) -> Option<(NodeId, u64)> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(found) = leader_among(cluster, among).await {
            return Some(found);
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until every node in `ids` has applied the same revision with the same state hash;
/// returns that revision and hash, or what each node reported on timeout.
pub async fn wait_converged<C: Cluster + ?Sized>(
    cluster: &C,
    ids: &[NodeId],
    timeout: Duration,
) -> Result<(u64, String), String> {
    let deadline = Instant::now() + timeout;
    loop {
        let mut seen = Vec::new();
        for id in ids {
            seen.push(info(cluster, *id).await.map(|i| (i.revision, i.state_hash)));
        }
        if let Some(Some(first)) = seen.first() {
            if seen.iter().all(|s| s.as_ref() == Some(first)) {
                return Ok(first.clone());
            }
        }
        if Instant::now() > deadline {
            return Err(format!("nodes {ids:?} did not converge: {seen:?}"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An admin client for `url`, connecting lazily with a short connect timeout.
pub fn admin(url: &str) -> Result<AdminClient<Channel>, tonic::transport::Error> {
    let channel = tonic::transport::Endpoint::from_shared(url.to_string())?
        .connect_timeout(Duration::from_millis(500))
        .tcp_nodelay(true)
        .connect_lazy();
    Ok(AdminClient::new(channel))
}
