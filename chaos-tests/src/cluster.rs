//! A cluster of real `raftgate` processes on loopback whose every peer link runs through a
//! fault-injecting [`Relay`]: node `i` dials node `j` at relay `(i, j)` (`--peer-routes`), so
//! a partition is a set of relays that discard traffic, per direction if need be.
//!
//! Admin clients and HTTP traffic reach the nodes directly; only node-to-node traffic (Raft
//! and forwarded admin calls) crosses the relays.

mod process;

pub use process::{node_binary, NodeProcess};

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use raftgate_proto::admin_client::AdminClient;
use raftgate_proto::{NodeInfo, NodeStatusRequest};
use tonic::transport::Channel;

use crate::relay::{Direction, Fault, Relay};

/// Node ids.
pub type NodeId = u64;

/// A running cluster.
pub struct ChaosCluster {
    dir: tempfile::TempDir,
    /// The nodes by id.
    pub nodes: BTreeMap<NodeId, NodeProcess>,
    relays: BTreeMap<(NodeId, NodeId), Relay>,
    flags: Vec<String>,
}

impl ChaosCluster {
    /// Starts `n` nodes bootstrapped as one cluster, each with `flags` on top of the
    /// harness's own.
    pub async fn start(n: u64, flags: &[&str]) -> std::io::Result<Self> {
        let dir = tempfile::tempdir()?;
        let mut nodes: BTreeMap<NodeId, NodeProcess> = BTreeMap::new();
        for id in 1..=n {
            nodes.insert(id, NodeProcess::new(dir.path(), id)?);
        }
        let mut relays = BTreeMap::new();
        for from in 1..=n {
            for to in (1..=n).filter(|t| *t != from) {
                let relay = Relay::start_seeded(nodes[&to].grpc_addr(), from * 100 + to).await?;
                relays.insert((from, to), relay);
            }
        }
        let mut cluster = Self {
            dir,
            nodes,
            relays,
            flags: flags.iter().map(|s| s.to_string()).collect(),
        };
        let peers = cluster
            .nodes
            .values()
            .map(|p| format!("{}={}", p.id, p.url()))
            .collect::<Vec<_>>()
            .join(",");
        let ids: Vec<NodeId> = cluster.nodes.keys().copied().collect();
        for id in ids {
            let mut args = cluster.node_flags(id);
            args.extend(["--peers".to_string(), peers.clone()]);
            cluster.node_mut(id).start(&args)?;
        }
        Ok(cluster)
    }

    /// The directory holding the nodes' data dirs and logs.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// The harness flags of node `id`: its routes through the relays, plus the extra flags.
    fn node_flags(&self, id: NodeId) -> Vec<String> {
        let routes = self
            .relays
            .iter()
            .filter(|((from, _), _)| *from == id)
            .map(|((_, to), relay)| format!("{to}=http://{}", relay.local_addr()))
            .collect::<Vec<_>>()
            .join(",");
        let mut args = self.flags.clone();
        if !routes.is_empty() {
            args.extend(["--peer-routes".to_string(), routes]);
        }
        args
    }

    /// Node `id`.
    pub fn node(&self, id: NodeId) -> &NodeProcess {
        &self.nodes[&id]
    }

    /// Node `id`, mutably.
    pub fn node_mut(&mut self, id: NodeId) -> &mut NodeProcess {
        self.nodes.get_mut(&id).expect("node exists")
    }

    /// Ids of every node.
    pub fn ids(&self) -> Vec<NodeId> {
        self.nodes.keys().copied().collect()
    }

    /// gRPC URL of node `id`.
    pub fn url(&self, id: NodeId) -> String {
        self.nodes[&id].url()
    }

    /// Restarts a stopped node on its data dir (no bootstrap flags).
    pub fn restart(&mut self, id: NodeId) -> std::io::Result<()> {
        let args = self.node_flags(id);
        self.node_mut(id).start(&args)
    }

    /// Adds node `id` (not started). Its links are direct, not relayed: the join/remove
    /// scenario does not partition it.
    pub fn add_node(&mut self, id: NodeId) -> std::io::Result<()> {
        let node = NodeProcess::new(self.dir.path(), id)?;
        self.nodes.insert(id, node);
        Ok(())
    }

    /// Starts an added node, joining through `join`. The caller adds it to the membership.
    pub fn start_added(&mut self, id: NodeId, join: &[NodeId]) -> std::io::Result<()> {
        let mut args = self.flags.clone();
        let via = join
            .iter()
            .map(|j| self.url(*j))
            .collect::<Vec<_>>()
            .join(",");
        args.extend(["--join".to_string(), via]);
        self.node_mut(id).start(&args)
    }

    // ------------------------------------------------------------------ faults

    /// Sets `fault` on the link `from → to` (the relay node `from` dials `to` through).
    pub fn set_link(&self, from: NodeId, to: NodeId, fault: Fault) {
        if let Some(relay) = self.relays.get(&(from, to)) {
            relay.set_fault(fault);
        }
    }

    /// Cuts every link between `a` and `b`, both ways.
    pub fn cut(&self, a: NodeId, b: NodeId) {
        self.set_link(a, b, Fault::Blackhole);
        self.set_link(b, a, Fault::Blackhole);
    }

    /// Splits the cluster into `groups`: links inside a group work, links across are cut.
    pub fn partition(&self, groups: &[&[NodeId]]) {
        for (i, a) in groups.iter().enumerate() {
            for b in &groups[i + 1..] {
                for x in a.iter() {
                    for y in b.iter() {
                        self.cut(*x, *y);
                    }
                }
            }
        }
    }

    /// Isolates `id` from every other node.
    pub fn isolate(&self, id: NodeId) {
        for other in self.ids().into_iter().filter(|o| *o != id) {
            self.cut(id, other);
        }
    }

    /// An asymmetric link: `from` can no longer get anything to `to`, while `to` still
    /// reaches `from`. Requests `from` sends to `to` vanish; `to`'s own calls to `from` work.
    pub fn drop_one_way(&self, from: NodeId, to: NodeId) {
        // `from`'s connections to `to`: requests do not arrive.
        self.set_link(from, to, Fault::OneWay(Direction::ToClient));
        // `to`'s connections to `from`: requests arrive, answers do not come back.
        self.set_link(to, from, Fault::OneWay(Direction::ToUpstream));
    }

    /// Lifts every fault (connections that lost bytes are reset so peers reconnect cleanly).
    pub fn heal(&self) {
        for relay in self.relays.values() {
            relay.heal();
        }
    }

    // ------------------------------------------------------------------ observation

    /// Node `id`'s own view, if it answers within a second.
    pub async fn info(&self, id: NodeId) -> Option<NodeInfo> {
        let node = self.nodes.get(&id)?;
        if !node.is_running() {
            return None;
        }
        let call = async {
            let mut client = admin(&node.url()).ok()?;
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
    pub async fn leader_among(&self, among: &[NodeId]) -> Option<(NodeId, u64)> {
        let mut votes: BTreeMap<(NodeId, u64), usize> = BTreeMap::new();
        for id in among {
            if let Some(info) = self.info(*id).await {
                if let Some(leader) = info.leader_id {
                    *votes.entry((leader, info.term)).or_default() += 1;
                }
            }
        }
        let majority = self.nodes.len() / 2 + 1;
        votes
            .into_iter()
            .find(|(_, n)| *n >= majority.min(among.len()))
            .map(|(k, _)| k)
            .filter(|(leader, _)| among.contains(leader))
    }

    /// Waits until a majority of `among` agree on a leader in `among`.
    pub async fn wait_leader(&self, among: &[NodeId], timeout: Duration) -> Option<(NodeId, u64)> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(found) = self.leader_among(among).await {
                return Some(found);
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until every node in `ids` has applied the same revision with the same state
    /// hash; returns that revision and hash, or what each node reported on timeout.
    pub async fn wait_converged(
        &self,
        ids: &[NodeId],
        timeout: Duration,
    ) -> Result<(u64, String), String> {
        let deadline = Instant::now() + timeout;
        loop {
            let mut seen = Vec::new();
            for id in ids {
                seen.push(self.info(*id).await.map(|i| (i.revision, i.state_hash)));
            }
            if let Some(Some(first)) = seen.first() {
                if seen.iter().all(|s| s.as_ref() == Some(first)) {
                    // Wait for the leader's commit to be applied everywhere: compare with it.
                    return Ok(first.clone());
                }
            }
            if Instant::now() > deadline {
                return Err(format!("nodes {ids:?} did not converge: {seen:?}"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The last lines of node `id`'s log.
    pub fn log_tail(&self, id: NodeId, lines: usize) -> String {
        self.nodes[&id].log_tail(lines)
    }

    /// Addresses of every node's `web` entrypoint.
    pub fn web_addrs(&self) -> BTreeMap<NodeId, SocketAddr> {
        self.nodes
            .iter()
            .map(|(id, n)| (*id, n.web_addr()))
            .collect()
    }
}

impl Drop for ChaosCluster {
    fn drop(&mut self) {
        for node in self.nodes.values_mut() {
            node.kill();
        }
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
