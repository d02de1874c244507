//! The process backend: real `raftgate` processes on loopback whose every peer link runs
//! through a fault-injecting [`Relay`]: node `i` dials node `j` at relay `(i, j)`
//! (`--peer-routes`), so a partition is a set of relays that discard traffic, per direction
//! if need be. Admin clients and HTTP traffic reach the nodes directly; only node-to-node
//! traffic (Raft and forwarded admin calls) crosses the relays.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use super::process::NodeProcess;
use super::{Cluster, NodeId};
use crate::relay::{Direction, Fault, Relay};

/// A running cluster.
pub struct ProcessCluster {
    dir: tempfile::TempDir,
    /// The nodes by id.
    pub nodes: BTreeMap<NodeId, NodeProcess>,
    relays: BTreeMap<(NodeId, NodeId), Relay>,
    flags: Vec<String>,
}

impl ProcessCluster {
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

    /// Node `id`, mutably.
    pub fn node_mut(&mut self, id: NodeId) -> &mut NodeProcess {
        self.nodes.get_mut(&id).expect("node exists")
    }

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
}

impl Cluster for ProcessCluster {
    fn ids(&self) -> Vec<NodeId> {
        self.nodes.keys().copied().collect()
    }

    fn url(&self, id: NodeId) -> String {
        self.nodes[&id].url()
    }

    fn web_addrs(&self) -> BTreeMap<NodeId, SocketAddr> {
        self.nodes
            .iter()
            .map(|(id, n)| (*id, n.web_addr()))
            .collect()
    }

    fn is_up(&self, id: NodeId) -> bool {
        self.nodes.get(&id).is_some_and(NodeProcess::is_running)
    }

    fn kill(&mut self, id: NodeId) -> std::io::Result<()> {
        self.node_mut(id).kill();
        Ok(())
    }

    /// Restarts a stopped node on its data dir (no bootstrap flags).
    fn restart(&mut self, id: NodeId) -> std::io::Result<()> {
        let args = self.node_flags(id);
        self.node_mut(id).start(&args)
    }

    fn pause(&mut self, id: NodeId) -> std::io::Result<()> {
        self.node_mut(id).pause();
        Ok(())
    }

    fn resume(&mut self, id: NodeId) -> std::io::Result<()> {
        self.node_mut(id).resume();
        Ok(())
    }

    fn partition(&mut self, groups: &[&[NodeId]]) -> std::io::Result<()> {
        for (i, a) in groups.iter().enumerate() {
            for b in &groups[i + 1..] {
                for x in a.iter() {
                    for y in b.iter() {
                        self.cut(*x, *y);
                    }
                }
            }
        }
        Ok(())
    }

    /// `from`'s requests to `to` vanish; `to`'s calls to `from` still get through, and
    /// their answers do not come back.
    fn drop_one_way(&mut self, from: NodeId, to: NodeId) -> std::io::Result<bool> {
        self.set_link(from, to, Fault::OneWay(Direction::ToClient));
        self.set_link(to, from, Fault::OneWay(Direction::ToUpstream));
        Ok(true)
    }

    /// Lifts every fault (connections that lost bytes are reset so peers reconnect cleanly).
    fn heal(&mut self) -> std::io::Result<()> {
        for relay in self.relays.values() {
            relay.heal();
        }
        Ok(())
    }

    /// Starts node `id` joining through `join`. Its links are direct, not relayed: the
    /// join/remove scenario does not partition it.
    fn add_node(&mut self, id: NodeId, join: &[NodeId]) -> std::io::Result<bool> {
        let node = NodeProcess::new(self.dir.path(), id)?;
        self.nodes.insert(id, node);
        let mut args = self.flags.clone();
        let via = join
            .iter()
            .map(|j| self.url(*j))
            .collect::<Vec<_>>()
            .join(",");
        args.extend(["--join".to_string(), via]);
        self.node_mut(id).start(&args)?;
        Ok(true)
    }

    fn log_tail(&self, id: NodeId, lines: usize) -> String {
        self.nodes[&id].log_tail(lines)
    }
}

impl Drop for ProcessCluster {
    fn drop(&mut self) {
        for node in self.nodes.values_mut() {
            node.kill();
        }
    }
}
