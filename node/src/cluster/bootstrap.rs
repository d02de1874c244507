//! How a node becomes a member: initializing a new cluster from `--peers`, joining a running
//! one through `--join`, and checking that a reused data dir belongs to the cluster it is
//! pointed at. Also the one-time proposal of the cluster id by the first leader.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use openraft::error::{InitializeError, RaftError};
use raftgate_proto::admin_client::AdminClient;
use raftgate_proto::{AddNodeRequest, NodeStatusRequest};
use rand::RngCore;

use super::handle::ClusterHandle;
use super::types::{Node, NodeId, Raft};
use crate::store::command::Command;

/// Why a node refused to start.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// The data dir holds another cluster's state than the members it was pointed at.
    #[error("data dir belongs to cluster {ours}, but {peer} is a member of cluster {theirs}: use an empty data dir to join that cluster")]
    ClusterMismatch {
        /// Cluster id stored in the data dir.
        ours: String,
        /// The member asked.
        peer: String,
        /// That member's cluster id.
        theirs: String,
    },
    /// openraft refused to initialize.
    #[error("cannot initialize the cluster: {0}")]
    Initialize(String),
}

/// Initializes a new cluster with `peers` if this node has the lowest id among them and its
/// log is empty. The other peers wait to be contacted by the leader: a single initializer
/// avoids competing first elections.
pub async fn initialize(
    raft: &Raft,
    own_id: NodeId,
    peers: &BTreeMap<NodeId, String>,
) -> Result<(), BootstrapError> {
    if peers.keys().next() != Some(&own_id) {
        tracing::info!("waiting for the lowest-id peer to initialize the cluster");
        return Ok(());
    }
    if raft
        .is_initialized()
        .await
        .map_err(|e| BootstrapError::Initialize(e.to_string()))?
    {
        tracing::info!("data dir already holds a cluster: --peers ignored");
        return Ok(());
    }
    let members: BTreeMap<NodeId, Node> = peers
        .iter()
        .map(|(id, addr)| (*id, Node { addr: addr.clone() }))
        .collect();
    match raft.initialize(members).await {
        Ok(()) => {
            tracing::info!(?peers, "initialized a new cluster");
            Ok(())
        }
        Err(RaftError::APIError(InitializeError::NotAllowed(_))) => Ok(()),
        Err(e) => Err(BootstrapError::Initialize(e.to_string())),
    }
}

/// Refuses to start when this data dir's cluster id differs from that of a reachable member
/// in `urls`. Unreachable members are skipped (they may simply be down).
pub async fn check_cluster(
    ours: &str,
    urls: &[String],
    own_url: &str,
) -> Result<(), BootstrapError> {
    for url in urls.iter().filter(|u| u.as_str() != own_url) {
        let Ok(endpoint) = tonic::transport::Endpoint::from_shared(url.clone()) else {
            continue;
        };
        let endpoint = endpoint
            .connect_timeout(Duration::from_secs(1))
            .timeout(Duration::from_secs(2));
        let Ok(channel) = endpoint.connect().await else {
            continue;
        };
        let Ok(info) = AdminClient::new(channel)
            .node_status(NodeStatusRequest {})
            .await
        else {
            continue;
        };
        let theirs = info.into_inner().cluster_id;
        if !theirs.is_empty() && theirs != ours {
            return Err(BootstrapError::ClusterMismatch {
                ours: ours.to_string(),
                peer: url.clone(),
                theirs,
            });
        }
    }
    Ok(())
}

/// Asks the members at `urls`, in turn, to add this node, until one accepts. Gives up on a
/// refusal that retrying cannot fix (e.g. a removed id).
pub async fn join(handle: Arc<ClusterHandle>, urls: Vec<String>) {
    let request = AddNodeRequest {
        id: handle.id,
        addr: handle.advertise_url.clone(),
        learner_only: false,
    };
    let mut attempt = 0u32;
    loop {
        for url in &urls {
            if is_voter(&handle) {
                tracing::info!("joined the cluster as a voter");
                return;
            }
            match add_node(url, request.clone()).await {
                Ok(()) => {
                    tracing::info!(via = %url, "joined the cluster");
                    return;
                }
                Err(status) if is_permanent(status.code()) => {
                    tracing::error!(via = %url, error = %status.message(), "join refused");
                    return;
                }
                Err(status) => {
                    tracing::warn!(via = %url, error = %status.message(), "join attempt failed; retrying");
                }
            }
        }
        attempt = attempt.saturating_add(1);
        tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt.min(10)))).await;
    }
}

fn is_voter(handle: &ClusterHandle) -> bool {
    handle
        .raft_metrics()
        .membership_config
        .membership()
        .voter_ids()
        .any(|v| v == handle.id)
}

fn is_permanent(code: tonic::Code) -> bool {
    matches!(
        code,
        tonic::Code::InvalidArgument | tonic::Code::FailedPrecondition | tonic::Code::AlreadyExists
    )
}

async fn add_node(url: &str, request: AddNodeRequest) -> Result<(), tonic::Status> {
    let channel = tonic::transport::Endpoint::from_shared(url.to_string())
        .map_err(|e| tonic::Status::invalid_argument(e.to_string()))?
        .connect_timeout(Duration::from_secs(2))
        .connect()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    AdminClient::new(channel).add_node(request).await?;
    Ok(())
}

/// While this node leads and the cluster has no id yet, proposes a random one (once per
/// leadership; the state machine keeps only the first).
pub async fn propose_cluster_id(handle: Arc<ClusterHandle>) {
    let mut metrics = handle.raft.metrics();
    loop {
        let needs_id = handle.state().config.cluster_id.is_none();
        if needs_id && handle.is_leader() {
            let mut bytes = [0u8; 8];
            rand::rng().fill_bytes(&mut bytes);
            let cluster_id = hex::encode(bytes);
            match handle
                .raft
                .client_write(Command::SetClusterId { cluster_id })
                .await
            {
                Ok(_) => {
                    let id = handle.state().config.cluster_id.clone().unwrap_or_default();
                    tracing::info!(cluster_id = %id, "cluster id recorded");
                    return;
                }
                Err(e) => tracing::debug!(error = %e, "cluster id proposal failed; will retry"),
            }
        } else if !needs_id {
            return;
        }
        if metrics.changed().await.is_err() {
            return;
        }
    }
}
