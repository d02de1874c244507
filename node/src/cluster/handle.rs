//! [`ClusterHandle`]: what the admin API and the ops endpoint need of a running member —
//! its Raft instance, the states it applied, the change stream and its own view of the
//! cluster.

use std::sync::Arc;
use std::time::Duration;

use openraft::ServerState;
use raftgate_proto::NodeInfo;
use tokio::sync::{broadcast, watch};

use super::identity::ClusterIdentity;
use super::routes::PeerRoutes;
use super::types::{NodeId, Raft, RaftMetrics};
use crate::ops::metrics::Metrics;
use crate::proxy::status::ProxyStatus;
use crate::store::state::Change;
use crate::store::state_machine::{AppliedState, History};

/// A running member, shared by its services.
pub struct ClusterHandle {
    /// This node's id.
    pub id: NodeId,
    /// The gRPC URL this node advertises.
    pub advertise_url: String,
    /// The Raft instance.
    pub raft: Raft,
    /// Every state this node applied (latest first on `borrow`).
    pub applied: watch::Receiver<Arc<AppliedState>>,
    /// Committed changes as they are applied.
    pub changes: broadcast::Sender<Arc<Change>>,
    /// Retained change history.
    pub history: History,
    /// This node's cluster id.
    pub identity: ClusterIdentity,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Whether the proxy serves the latest applied revision.
    pub proxy: Arc<ProxyStatus>,
    /// How long a write waits for its commit.
    pub write_timeout: Duration,
    /// Where members are dialled when not at their advertised URL.
    pub routes: PeerRoutes,
}

impl ClusterHandle {
    /// The latest applied state.
    pub fn state(&self) -> Arc<AppliedState> {
        self.applied.borrow().clone()
    }

    /// Raft's current metrics.
    pub fn raft_metrics(&self) -> RaftMetrics {
        self.raft.metrics().borrow().clone()
    }

    /// The leader's id and gRPC URL, if one is known.
    pub fn leader(&self) -> Option<(NodeId, String)> {
        let m = self.raft_metrics();
        let leader = m.current_leader?;
        let addr = m
            .membership_config
            .membership()
            .get_node(&leader)
            .map(|n| n.addr.clone())?;
        Some((leader, addr))
    }

    /// Whether this node currently leads.
    pub fn is_leader(&self) -> bool {
        let m = self.raft_metrics();
        m.state == ServerState::Leader && m.current_leader == Some(self.id)
    }

    /// This node's own status, as reported by `NodeStatus` and `/api/cluster`.
    pub fn node_info(&self) -> NodeInfo {
        let m = self.raft_metrics();
        let state = self.state();
        let membership = m.membership_config.membership();
        let voter = membership.voter_ids().any(|v| v == self.id);
        let role = match m.state {
            ServerState::Leader => "leader",
            ServerState::Candidate => "candidate",
            ServerState::Shutdown => "shutdown",
            ServerState::Follower | ServerState::Learner if voter => "follower",
            ServerState::Follower | ServerState::Learner => "learner",
        };
        NodeInfo {
            id: self.id,
            addr: self.advertise_url.clone(),
            role: role.to_string(),
            term: m.current_term,
            revision: state.config.revision,
            state_hash: state.state_hash().to_string(),
            leader_id: m.current_leader,
            last_log_index: m.last_log_index,
            applied_index: m.last_applied.map(|l| l.index),
            cluster_id: state.config.cluster_id.clone().unwrap_or_default(),
            reachable: true,
            error: String::new(),
            voter,
            proxy_revision: u64::try_from(self.metrics.proxy_revision.get()).unwrap_or(0),
            proxy_error: self
                .proxy
                .failure()
                .map(|f| f.to_string())
                .unwrap_or_default(),
        }
    }
}
