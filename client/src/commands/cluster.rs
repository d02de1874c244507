//! Cluster commands: status of every member, membership changes, leadership transfer, and
//! `wait-applied` (which asks nodes one by one, without failover: the question is about them).

use std::time::Duration;

use anyhow::Result;
use raftgate_proto::{
    AddNodeRequest, ClusterStatusRequest, RemoveNodeRequest, TransferLeaderRequest,
    WaitAppliedRequest,
};
use serde::Serialize;

use super::Ctx;
use crate::cli::{ClusterCmd, Output, WaitAppliedArgs};
use crate::conn::{CallError, Op};
use crate::output::{self, emit, AppliedOut, MembershipOut, StatusOut, WaitOut};

pub async fn run(ctx: &Ctx, cmd: ClusterCmd) -> Result<()> {
    match cmd {
        ClusterCmd::Status => {
            let (resp, _) = ctx
                .conn
                .call(Op::Read, |mut client| async move {
                    client.cluster_status(ClusterStatusRequest {}).await
                })
                .await?;
            let status = StatusOut::from_proto(&resp);
            Ok(emit(&output::render(
                ctx.output,
                &status,
                output::status_table,
            )?)?)
        }
        ClusterCmd::AddNode { id, addr, learner } => {
            let req = AddNodeRequest {
                id,
                addr,
                learner_only: learner,
            };
            let (resp, _) = ctx
                .conn
                .call(Op::Write, move |mut client| {
                    let req = req.clone();
                    async move { client.add_node(req).await }
                })
                .await?;
            let out = MembershipOut::from_proto(&resp);
            let role = if learner { "learner" } else { "voter" };
            print(
                ctx.output,
                &out,
                format!("node {id} added as {role} ({})", out.summary()),
            )
        }
        ClusterCmd::RemoveNode { id } => {
            let (resp, _) = ctx
                .conn
                .call(Op::Write, move |mut client| async move {
                    client.remove_node(RemoveNodeRequest { id }).await
                })
                .await?;
            let out = MembershipOut::from_proto(&resp);
            print(
                ctx.output,
                &out,
                format!("node {id} removed ({})", out.summary()),
            )
        }
        ClusterCmd::TransferLeader { to } => {
            let (resp, _) = ctx
                .conn
                .call(Op::Write, move |mut client| async move {
                    client.transfer_leader(TransferLeaderRequest { to }).await
                })
                .await?;
            let out = LeaderOut {
                leader_id: resp.leader_id,
            };
            print(
                ctx.output,
                &out,
                format!("leader is now node {}", out.leader_id),
            )
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct LeaderOut {
    leader_id: u64,
}

/// Compact JSON / YAML of `value`, or `line` in table mode.
fn print<T: Serialize>(format: Output, value: &T, line: String) -> Result<()> {
    let text = match format {
        Output::Json => serde_json::to_string(value)? + "\n",
        Output::Yaml => serde_yaml_ng::to_string(value)?,
        Output::Table => line + "\n",
    };
    Ok(emit(&text)?)
}

/// Asks `--node`, or every endpoint at once, to wait until it has applied `--revision`.
/// Prints every node's answer; fails with the first node's error, if any.
pub async fn wait_applied(ctx: &Ctx, args: WaitAppliedArgs) -> Result<()> {
    let targets = match args.node {
        Some(node) => vec![node],
        None => ctx.conn.endpoints().to_vec(),
    };
    let req = WaitAppliedRequest {
        revision: args.revision,
        timeout_ms: server_budget(ctx.conn.timeout()),
    };
    let tasks: Vec<_> = targets
        .iter()
        .map(|endpoint| {
            let (conn, endpoint) = (ctx.conn.clone(), endpoint.clone());
            tokio::spawn(async move {
                conn.call_at(&endpoint, Op::Read, move |mut client| async move {
                    client.wait_applied(req).await
                })
                .await
            })
        })
        .collect();
    let mut nodes = Vec::new();
    let mut first_error: Option<CallError> = None;
    for (endpoint, task) in targets.into_iter().zip(tasks) {
        match task.await? {
            Ok(resp) => nodes.push(AppliedOut {
                endpoint,
                applied: Some(resp.revision),
                error: None,
            }),
            Err(err) => {
                let (reason, _) = crate::error::describe_call(&err);
                nodes.push(AppliedOut {
                    endpoint,
                    applied: None,
                    error: Some(reason),
                });
                first_error.get_or_insert(err);
            }
        }
    }
    let out = WaitOut {
        revision: args.revision,
        nodes,
    };
    emit(&output::render(ctx.output, &out, output::wait_table)?)?;
    match first_error {
        Some(err) => Err(err.into()),
        None => Ok(()),
    }
}

/// How long the server may wait: a tenth less than our own deadline, so that its answer
/// ("not applied yet") arrives before we give up on it.
fn server_budget(timeout: Duration) -> u64 {
    let ms = timeout.as_millis();
    u64::try_from(ms - ms / 10).unwrap_or(u64::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_gets_less_time_than_the_client() {
        assert_eq!(server_budget(Duration::from_secs(10)), 9_000);
        assert_eq!(server_budget(Duration::from_millis(1)), 1);
    }
}
