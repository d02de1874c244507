//! Cluster membership calls: status of every member, add-node and remove-node.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::future::join_all;
use openraft::ChangeMembers;
use raftgate_proto as pb;
use tonic::{Response, Status};

use super::forward::Forwarder;
use super::status::{bad_request, raft_write_error};
use crate::cluster::handle::ClusterHandle;
use crate::cluster::types::{Node, NodeId};

/// How long `cluster status` waits for each member.
const MEMBER_TIMEOUT: Duration = Duration::from_secs(1);

/// Every member's own view, asked concurrently; silent members are marked unreachable.
pub async fn cluster_status(
    handle: &ClusterHandle,
    forwarder: &Forwarder,
) -> pb::ClusterStatusResponse {
    let metrics = handle.raft_metrics();
    let membership = metrics.membership_config.membership().clone();
    let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
    let asks = membership.nodes().map(|(id, node)| {
        let (id, addr) = (*id, node.addr.clone());
        let voter = voters.contains(&id);
        async move {
            let mut info = if id == handle.id {
                handle.node_info()
            } else {
                ask_member(forwarder, id, &addr).await
            };
            info.voter = voter;
            info
        }
    });
    let members = join_all(asks).await;
    pb::ClusterStatusResponse {
        members,
        leader_id: metrics.current_leader,
        cluster_id: handle.state().config.cluster_id.clone().unwrap_or_default(),
    }
}

async fn ask_member(forwarder: &Forwarder, id: NodeId, addr: &str) -> pb::NodeInfo {
    let unreachable = |error: String| pb::NodeInfo {
        id,
        addr: addr.to_string(),
        role: "unknown".to_string(),
        reachable: false,
        error,
        ..Default::default()
    };
    let mut client = match forwarder.client(addr) {
        Ok(c) => c,
        Err(e) => return unreachable(e.message().to_string()),
    };
    let mut req = tonic::Request::new(pb::NodeStatusRequest {});
    req.set_timeout(MEMBER_TIMEOUT);
    match tokio::time::timeout(MEMBER_TIMEOUT, client.node_status(req)).await {
        Ok(Ok(info)) => info.into_inner(),
        Ok(Err(status)) => unreachable(status.message().to_string()),
        Err(_) => unreachable(format!("no answer within {MEMBER_TIMEOUT:?}")),
    }
}

fn membership_response(handle: &ClusterHandle, log_index: u64) -> Response<pb::MembershipResponse> {
    let metrics = handle.raft_metrics();
    let m = metrics.membership_config.membership();
    Response::new(pb::MembershipResponse {
        voters: m.voter_ids().collect(),
        learners: m.learner_ids().collect(),
        log_index,
    })
}

/// Adds a node as a learner, waits for it to catch up, then promotes it (on the leader).
pub async fn add_node(
    handle: &ClusterHandle,
    req: pb::AddNodeRequest,
) -> Result<Response<pb::MembershipResponse>, Status> {
    if req.id == 0 {
        return Err(bad_request("node ids start at 1"));
    }
    let addr = req.addr.trim_end_matches('/').to_string();
    match url::Url::parse(&addr) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
        _ => {
            return Err(bad_request(format!(
                "node address {addr:?} is not an http(s)://host:port URL"
            )))
        }
    }
    let metrics = handle.raft_metrics();
    let membership = metrics.membership_config.membership();
    let is_voter = membership.voter_ids().any(|v| v == req.id);
    match membership.get_node(&req.id) {
        Some(existing) if existing.addr != addr => {
            return Err(Status::already_exists(format!(
                "node {} is already a member with address {}",
                req.id, existing.addr
            )))
        }
        Some(_) if is_voter || req.learner_only => {
            return Ok(membership_response(
                handle,
                metrics.membership_config.log_id().map_or(0, |l| l.index),
            ))
        }
        Some(_) => {}
        None => {
            if handle.state().config.ever_members.contains(&req.id) {
                return Err(Status::failed_precondition(format!(
                    "node id {} was removed from this cluster and cannot be reused: start the node with a new id and an empty data dir",
                    req.id
                )));
            }
            tracing::info!(id = req.id, %addr, "adding learner");
            handle
                .raft
                .add_learner(req.id, Node { addr: addr.clone() }, true)
                .await
                .map_err(raft_write_error)?;
        }
    }
    let mut log_index = handle
        .raft_metrics()
        .membership_config
        .log_id()
        .map_or(0, |l| l.index);
    if !req.learner_only {
        tracing::info!(id = req.id, "promoting learner to voter");
        let resp = handle
            .raft
            .change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([req.id])), false)
            .await
            .map_err(raft_write_error)?;
        log_index = resp.log_id.index;
    }
    Ok(membership_response(handle, log_index))
}

/// Removes a node from the voters and the learners (on the leader).
pub async fn remove_node(
    handle: &ClusterHandle,
    req: pb::RemoveNodeRequest,
) -> Result<Response<pb::MembershipResponse>, Status> {
    let metrics = handle.raft_metrics();
    let membership = metrics.membership_config.membership();
    if membership.get_node(&req.id).is_none() {
        return Err(Status::not_found(format!(
            "node {} is not a member of this cluster",
            req.id
        )));
    }
    let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
    let change = if voters.contains(&req.id) {
        if voters.len() == 1 {
            return Err(Status::failed_precondition(format!(
                "node {} is the last voter; a cluster cannot remove its last voter",
                req.id
            )));
        }
        ChangeMembers::RemoveVoters(BTreeSet::from([req.id]))
    } else {
        ChangeMembers::RemoveNodes(BTreeSet::from([req.id]))
    };
    tracing::info!(id = req.id, "removing node");
    let resp = handle
        .raft
        .change_membership(change, false)
        .await
        .map_err(raft_write_error)?;
    Ok(membership_response(handle, resp.log_id.index))
}
