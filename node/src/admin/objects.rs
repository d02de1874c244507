//! Config reads and writes of the admin API.

use std::sync::Arc;
use std::time::{Duration, Instant};

use raftgate_proto as pb;
use tonic::{Response, Status};

use super::convert;
use super::status::{raft_write_error, state_error, write_timeout};
use crate::cluster::handle::ClusterHandle;
use crate::store::command::Command;
use crate::store::state_machine::AppliedState;

/// Validates `cmd` against the applied state without proposing it; answers the current
/// revision.
pub fn validate(
    handle: &ClusterHandle,
    cmd: &Command,
) -> Result<Response<pb::WriteResponse>, Status> {
    let mut probe = handle.state().config.clone();
    let revision = probe.revision;
    probe.apply(cmd).map_err(state_error)?;
    Ok(Response::new(pb::WriteResponse {
        revision,
        leader_id: handle.id,
    }))
}

/// Validates `cmd` against the applied state, proposes it and waits for its revision.
pub async fn write(
    handle: &ClusterHandle,
    cmd: Command,
) -> Result<Response<pb::WriteResponse>, Status> {
    let metrics = &handle.metrics;
    // A refused write must not reach the log: dry-run it on a copy of the applied state
    // (O(1) to clone). Apply checks again, deterministically, in case a concurrent write
    // got in between.
    let mut probe = handle.state().config.clone();
    if let Err(e) = probe.apply(&cmd) {
        metrics.proposals.with_label_values(&["rejected"]).inc();
        return Err(state_error(e));
    }
    let started = Instant::now();
    let outcome = tokio::time::timeout(handle.write_timeout, handle.raft.client_write(cmd)).await;
    let response = match outcome {
        Err(_) => {
            metrics.proposals.with_label_values(&["unknown"]).inc();
            return Err(write_timeout(handle.write_timeout));
        }
        Ok(Err(e)) => {
            metrics.proposals.with_label_values(&["error"]).inc();
            return Err(raft_write_error(e));
        }
        Ok(Ok(response)) => response,
    };
    metrics
        .proposal_seconds
        .observe(started.elapsed().as_secs_f64());
    match response.data.result {
        Ok(revision) => {
            metrics.proposals.with_label_values(&["ok"]).inc();
            Ok(Response::new(pb::WriteResponse {
                revision,
                leader_id: handle.id,
            }))
        }
        Err(e) => {
            metrics.proposals.with_label_values(&["rejected"]).inc();
            Err(state_error(e))
        }
    }
}

/// Whether a read must run on the leader (a linearizable read).
pub fn is_consistent(options: Option<&pb::ReadOptions>) -> bool {
    options.is_some_and(|o| o.consistent)
}

/// The state a read with `options` may be answered from.
async fn readable_state(
    handle: &ClusterHandle,
    options: Option<pb::ReadOptions>,
) -> Result<Arc<AppliedState>, Status> {
    let options = options.unwrap_or_default();
    if options.consistent {
        handle
            .raft
            .ensure_linearizable()
            .await
            .map_err(|e| Status::unavailable(format!("linearizable read failed: {e}")))?;
    }
    if options.min_revision > 0 {
        wait_applied(handle, options.min_revision, handle.write_timeout).await?;
    }
    Ok(handle.state())
}

/// One object.
pub async fn get(
    handle: &ClusterHandle,
    req: pb::GetRequest,
) -> Result<Response<pb::GetResponse>, Status> {
    let key = convert::object_ref(req.r#ref)?;
    let state = readable_state(handle, req.options).await?;
    let object = state.config.get(&key).ok_or_else(|| {
        state_error(crate::store::error::StateError::NotFound {
            kind: key.kind,
            name: key.name.clone(),
        })
    })?;
    Ok(Response::new(pb::GetResponse {
        object: Some(convert::pb_object(&key, object)),
        revision: state.config.revision,
    }))
}

/// Every object of a kind (or of every kind).
pub async fn list(
    handle: &ClusterHandle,
    req: pb::ListRequest,
) -> Result<Response<pb::ListResponse>, Status> {
    let kinds = if req.kind == pb::Kind::Unspecified as i32 {
        raftgate_model::Kind::ALL.to_vec()
    } else {
        vec![convert::kind(req.kind)?]
    };
    let state = readable_state(handle, req.options).await?;
    let objects = kinds
        .into_iter()
        .flat_map(|kind| {
            state
                .config
                .list(kind)
                .map(|(k, o)| convert::pb_object(k, o))
                .collect::<Vec<_>>()
        })
        .collect();
    Ok(Response::new(pb::ListResponse {
        objects,
        revision: state.config.revision,
    }))
}

/// Waits until this node applied `revision`; returns the applied revision.
pub async fn wait_applied(
    handle: &ClusterHandle,
    revision: u64,
    timeout: Duration,
) -> Result<u64, Status> {
    let mut rx = handle.applied.clone();
    let waited =
        tokio::time::timeout(timeout, rx.wait_for(|s| s.config.revision >= revision)).await;
    match waited {
        Ok(Ok(state)) => Ok(state.config.revision),
        Ok(Err(_)) => Err(Status::unavailable("node is shutting down")),
        Err(_) => Err(Status::deadline_exceeded(format!(
            "node {} has not applied revision {revision} within {timeout:?} (it is at {})",
            handle.id,
            handle.state().config.revision
        ))),
    }
}
