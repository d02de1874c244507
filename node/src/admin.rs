//! The gRPC admin API (`raftgate.v1.Admin`) used by `raftgatectl`.
//!
//! Writes are validated against the applied state before they are proposed (a refused write
//! never reaches the log), then committed through Raft; the answer carries the revision.
//! Leader-only calls made on a follower are forwarded to the leader. Reads are served from
//! the local applied state unless the caller asks for a linearizable read or a minimum
//! revision.

mod convert;
mod forward;
mod membership;
mod objects;
pub mod status;
mod watch;

use std::pin::Pin;
use std::sync::Arc;

use raftgate_proto as pb;
use raftgate_proto::admin_server::Admin;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use self::forward::{forwarded, Forwarder, Route};
use crate::cluster::handle::ClusterHandle;
use crate::store::command::{Command, Op};

/// The admin service of one node.
pub struct AdminService {
    handle: Arc<ClusterHandle>,
    forwarder: Forwarder,
}

impl AdminService {
    /// Serves the admin API of `handle`'s node.
    pub fn new(handle: Arc<ClusterHandle>) -> Self {
        Self {
            handle,
            forwarder: Forwarder::default(),
        }
    }

    fn forward_timeout(&self) -> std::time::Duration {
        self.handle.write_timeout + std::time::Duration::from_secs(1)
    }
}

/// Runs a leader-only call here, or forwards it to the leader.
macro_rules! leader_only {
    ($self:ident, $req:ident, $method:ident, |$body:ident| $local:expr) => {{
        match $self.forwarder.route(&$self.handle, $req.metadata())? {
            Route::Leader(mut client) => {
                let timeout = $self.forward_timeout();
                client.$method(forwarded($req.into_inner(), timeout)).await
            }
            Route::Local => {
                let $body = $req.into_inner();
                $local
            }
        }
    }};
}

#[tonic::async_trait]
impl Admin for AdminService {
    async fn cluster_status(
        &self,
        _req: Request<pb::ClusterStatusRequest>,
    ) -> Result<Response<pb::ClusterStatusResponse>, Status> {
        Ok(Response::new(
            membership::cluster_status(&self.handle, &self.forwarder).await,
        ))
    }

    async fn node_status(
        &self,
        _req: Request<pb::NodeStatusRequest>,
    ) -> Result<Response<pb::NodeInfo>, Status> {
        Ok(Response::new(self.handle.node_info()))
    }

    async fn add_node(
        &self,
        req: Request<pb::AddNodeRequest>,
    ) -> Result<Response<pb::MembershipResponse>, Status> {
        leader_only!(self, req, add_node, |body| membership::add_node(
            &self.handle,
            body
        )
        .await)
    }

    async fn remove_node(
        &self,
        req: Request<pb::RemoveNodeRequest>,
    ) -> Result<Response<pb::MembershipResponse>, Status> {
        leader_only!(self, req, remove_node, |body| membership::remove_node(
            &self.handle,
            body
        )
        .await)
    }

    async fn transfer_leader(
        &self,
        _req: Request<pb::TransferLeaderRequest>,
    ) -> Result<Response<pb::TransferLeaderResponse>, Status> {
        Err(Status::unimplemented(
            "transfer-leader is not available with openraft 0.9 (it arrives in 0.10); \
             stop the leader's process to move leadership",
        ))
    }

    async fn create(
        &self,
        req: Request<pb::CreateRequest>,
    ) -> Result<Response<pb::WriteResponse>, Status> {
        leader_only!(self, req, create, |body| {
            let (key, spec, managed_by) = convert::object(body.object, "cli")?;
            let op = Op::Create {
                name: key.name,
                spec,
                managed_by,
            };
            objects::write(&self.handle, single(op)).await
        })
    }

    async fn update(
        &self,
        req: Request<pb::UpdateRequest>,
    ) -> Result<Response<pb::WriteResponse>, Status> {
        leader_only!(self, req, update, |body| {
            let (key, spec, managed_by) = convert::object(body.object, "cli")?;
            let op = Op::Update {
                name: key.name,
                spec,
                managed_by,
                expected_mod_revision: body.expected_mod_revision,
            };
            objects::write(&self.handle, single(op)).await
        })
    }

    async fn delete(
        &self,
        req: Request<pb::DeleteRequest>,
    ) -> Result<Response<pb::WriteResponse>, Status> {
        leader_only!(self, req, delete, |body| {
            let op = Op::Delete {
                key: convert::object_ref(body.r#ref)?,
                expected_mod_revision: body.expected_mod_revision,
            };
            objects::write(&self.handle, single(op)).await
        })
    }

    async fn apply(
        &self,
        req: Request<pb::ApplyRequest>,
    ) -> Result<Response<pb::WriteResponse>, Status> {
        leader_only!(self, req, apply, |body| {
            let mut ops = Vec::with_capacity(body.puts.len() + body.deletes.len());
            for object in body.puts {
                let (key, spec, managed_by) = convert::object(Some(object), "apply")?;
                ops.push(Op::Put {
                    name: key.name,
                    spec,
                    managed_by,
                });
            }
            for r in body.deletes {
                ops.push(Op::Delete {
                    key: convert::object_ref(Some(r))?,
                    expected_mod_revision: None,
                });
            }
            let cmd = Command::Txn {
                ops,
                expected_revision: body.expected_revision,
            };
            if body.dry_run {
                return objects::validate(&self.handle, &cmd);
            }
            objects::write(&self.handle, cmd).await
        })
    }

    async fn get(&self, req: Request<pb::GetRequest>) -> Result<Response<pb::GetResponse>, Status> {
        if objects::is_consistent(req.get_ref().options.as_ref()) {
            return leader_only!(self, req, get, |body| objects::get(&self.handle, body)
                .await);
        }
        objects::get(&self.handle, req.into_inner()).await
    }

    async fn list(
        &self,
        req: Request<pb::ListRequest>,
    ) -> Result<Response<pb::ListResponse>, Status> {
        if objects::is_consistent(req.get_ref().options.as_ref()) {
            return leader_only!(self, req, list, |body| objects::list(&self.handle, body)
                .await);
        }
        objects::list(&self.handle, req.into_inner()).await
    }

    type WatchStream = Pin<Box<dyn Stream<Item = Result<pb::WatchEvent, Status>> + Send>>;

    async fn watch(
        &self,
        req: Request<pb::WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        watch::watch(&self.handle, req.into_inner().from_revision).map(Response::new)
    }

    async fn wait_applied(
        &self,
        req: Request<pb::WaitAppliedRequest>,
    ) -> Result<Response<pb::WaitAppliedResponse>, Status> {
        let body = req.into_inner();
        let timeout = std::time::Duration::from_millis(if body.timeout_ms == 0 {
            10_000
        } else {
            body.timeout_ms
        });
        let revision = objects::wait_applied(&self.handle, body.revision, timeout).await?;
        Ok(Response::new(pb::WaitAppliedResponse { revision }))
    }
}

fn single(op: Op) -> Command {
    Command::Txn {
        ops: vec![op],
        expected_revision: None,
    }
}
