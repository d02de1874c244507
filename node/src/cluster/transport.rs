//! The server side of the Raft transport: hands peers' messages to the local openraft
//! instance and returns its answer (including Raft-level errors) as JSON.

use openraft::raft::InstallSnapshotRequest;
use raftgate_proto::raft_transport_server::RaftTransport;
use raftgate_proto::{RaftMessage, SnapshotChunk};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tonic::{Request, Response, Status};

use super::identity::ClusterIdentity;
use super::network::ChunkHeader;
use super::types::Raft;

/// The `RaftTransport` gRPC service of one node.
pub struct RaftTransportService {
    raft: Raft,
    identity: ClusterIdentity,
}

impl RaftTransportService {
    /// Serves `raft`, refusing messages from other clusters.
    pub fn new(raft: Raft, identity: ClusterIdentity) -> Self {
        Self { raft, identity }
    }
}

fn decode<T: DeserializeOwned>(json: &[u8]) -> Result<T, Status> {
    serde_json::from_slice(json)
        .map_err(|e| Status::invalid_argument(format!("bad raft message: {e}")))
}

fn encode<T: Serialize>(value: &T) -> Result<Response<RaftMessage>, Status> {
    let json = serde_json::to_vec(value).map_err(|e| Status::internal(e.to_string()))?;
    Ok(Response::new(RaftMessage {
        json,
        cluster_id: String::new(),
    }))
}

#[tonic::async_trait]
impl RaftTransport for RaftTransportService {
    async fn append_entries(
        &self,
        req: Request<RaftMessage>,
    ) -> Result<Response<RaftMessage>, Status> {
        let msg = req.into_inner();
        self.identity.check(&msg.cluster_id)?;
        let result = self.raft.append_entries(decode(&msg.json)?).await;
        encode(&result)
    }

    async fn vote(&self, req: Request<RaftMessage>) -> Result<Response<RaftMessage>, Status> {
        let msg = req.into_inner();
        self.identity.check(&msg.cluster_id)?;
        let result = self.raft.vote(decode(&msg.json)?).await;
        encode(&result)
    }

    async fn install_snapshot(
        &self,
        req: Request<SnapshotChunk>,
    ) -> Result<Response<RaftMessage>, Status> {
        let chunk = req.into_inner();
        self.identity.check(&chunk.cluster_id)?;
        let header: ChunkHeader = decode(&chunk.header_json)?;
        let rpc = InstallSnapshotRequest {
            vote: header.vote,
            meta: header.meta,
            offset: header.offset,
            data: chunk.data,
            done: header.done,
        };
        let result = self.raft.install_snapshot(rpc).await;
        encode(&result)
    }
}
