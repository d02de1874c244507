//! The one place where control-plane errors become gRPC statuses.
//!
//! A refusal the client can fix maps to `InvalidArgument` / `NotFound` / `AlreadyExists` /
//! `FailedPrecondition`; a leaderless or partitioned cluster to `Unavailable` (with the
//! leader's URL in the `raftgate-leader-addr` metadata when known, so clients can follow
//! it); a write whose outcome is unknown to `DeadlineExceeded`.

use std::fmt::Display;

use openraft::error::{ChangeMembershipError, ClientWriteError, RaftError};
use tonic::metadata::MetadataValue;
use tonic::Status;

use crate::cluster::types::{Node, NodeId};
use crate::store::error::StateError;

/// Metadata key carrying the leader's gRPC URL on `Unavailable` answers.
pub const LEADER_ADDR: &str = "raftgate-leader-addr";

/// A refused command.
pub fn state_error(e: StateError) -> Status {
    let msg = e.to_string();
    match e {
        StateError::NotFound { .. } => Status::not_found(msg),
        StateError::AlreadyExists { .. } => Status::already_exists(msg),
        StateError::ObjectConflict { .. }
        | StateError::RevisionConflict { .. }
        | StateError::InUse { .. } => Status::failed_precondition(msg),
        StateError::Invalid { .. } | StateError::Duplicate(_) | StateError::TooManyOps { .. } => {
            Status::invalid_argument(msg)
        }
    }
}

/// "Not the leader": `Unavailable`, with the leader's address when known.
pub fn not_leader(leader: Option<&str>) -> Status {
    let mut status = Status::unavailable(match leader {
        Some(addr) => format!("this node is not the leader; the leader is {addr}"),
        None => "no leader is elected at the moment; retry shortly".to_string(),
    });
    if let Some(addr) = leader.and_then(|a| MetadataValue::try_from(a).ok()) {
        status.metadata_mut().insert(LEADER_ADDR, addr);
    }
    status
}

/// An error from a Raft write (client write or membership change).
pub fn raft_write_error(e: RaftError<NodeId, ClientWriteError<NodeId, Node>>) -> Status {
    match e {
        RaftError::APIError(ClientWriteError::ForwardToLeader(f)) => {
            not_leader(f.leader_node.as_ref().map(|n| n.addr.as_str()))
        }
        RaftError::APIError(ClientWriteError::ChangeMembershipError(
            ChangeMembershipError::InProgress(_),
        )) => {
            // Retryable: the change in flight commits within a few heartbeats.
            Status::unavailable("another membership change is in progress; retry shortly")
        }
        RaftError::APIError(ClientWriteError::ChangeMembershipError(e)) => {
            Status::failed_precondition(e.to_string())
        }
        RaftError::Fatal(e) => Status::unavailable(format!("raft stopped: {e}")),
    }
}

/// A write that did not commit in time: it may still commit.
pub fn write_timeout(after: std::time::Duration) -> Status {
    Status::deadline_exceeded(format!(
        "write not committed within {after:?} (no quorum?); it may still commit"
    ))
}

/// A malformed request.
pub fn bad_request(what: impl Display) -> Status {
    Status::invalid_argument(what.to_string())
}
