//! The client side of the Raft transport: openraft's `RaftNetwork` over tonic.
//!
//! One lazily connected channel per peer; each RPC is bounded by openraft's TTL for it.
//! Messages are openraft's own types in JSON; a remote Raft error comes back inside the
//! response (`Result<Resp, RaftError>`), a transport failure becomes `Unreachable`.

// openraft's trait signatures fix the (large) error types used here.
#![allow(clippy::result_large_err)]

use std::time::Duration;

use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use raftgate_proto::raft_transport_client::RaftTransportClient;
use raftgate_proto::{RaftMessage, SnapshotChunk};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tonic::transport::{Channel, Endpoint};

use super::identity::ClusterIdentity;
use super::routes::PeerRoutes;
use super::types::{Node, NodeId, TypeConfig};

/// Header of one snapshot chunk (the data travels beside it as raw bytes).
#[derive(Serialize, Deserialize)]
pub struct ChunkHeader {
    /// The leader's vote.
    pub vote: openraft::Vote<NodeId>,
    /// The snapshot's metadata.
    pub meta: openraft::SnapshotMeta<NodeId, Node>,
    /// Byte offset of this chunk.
    pub offset: u64,
    /// Whether this is the last chunk.
    pub done: bool,
}

/// Opens connections to peers.
#[derive(Clone)]
pub struct Network {
    identity: ClusterIdentity,
    connect_timeout: Duration,
    routes: PeerRoutes,
}

impl Network {
    /// A factory whose messages carry `identity`'s cluster id, dialling members through
    /// `routes` where they have one.
    pub fn new(identity: ClusterIdentity, connect_timeout: Duration, routes: PeerRoutes) -> Self {
        Self {
            identity,
            connect_timeout,
            routes,
        }
    }
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerConnection;

    async fn new_client(&mut self, target: NodeId, node: &Node) -> Self::Network {
        let channel = Endpoint::from_shared(self.routes.addr(target, &node.addr).to_string())
            .map(|e| {
                e.connect_timeout(self.connect_timeout)
                    .tcp_nodelay(true)
                    .connect_lazy()
            })
            .map_err(|e| e.to_string());
        PeerConnection {
            target,
            channel,
            identity: self.identity.clone(),
        }
    }
}

/// A connection to one peer.
pub struct PeerConnection {
    target: NodeId,
    channel: Result<Channel, String>,
    identity: ClusterIdentity,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct TransportError(String);

type RpcResult<T, E> = Result<T, RPCError<NodeId, Node, RaftError<NodeId, E>>>;

impl PeerConnection {
    fn client(&self) -> Result<RaftTransportClient<Channel>, Unreachable> {
        let channel = self
            .channel
            .clone()
            .map_err(|e| Unreachable::new(&TransportError(e)))?;
        Ok(RaftTransportClient::new(channel).max_decoding_message_size(256 << 20))
    }

    fn decode<T, E>(&self, reply: tonic::Response<RaftMessage>) -> RpcResult<T, E>
    where
        T: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let result: Result<T, RaftError<NodeId, E>> =
            serde_json::from_slice(&reply.into_inner().json)
                .map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        result.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }

    fn request<T>(&self, body: T, ttl: Duration) -> tonic::Request<T> {
        let mut req = tonic::Request::new(body);
        req.set_timeout(ttl);
        req
    }
}

/// The JSON-carrying unary calls of the transport.
#[derive(Clone, Copy)]
enum Rpc {
    AppendEntries,
    Vote,
}

impl PeerConnection {
    /// Sends `body` as JSON with the cluster id and decodes the peer's answer.
    async fn unary<B, T, E>(&self, rpc: Rpc, body: &B, ttl: Duration) -> RpcResult<T, E>
    where
        B: Serialize,
        T: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let json =
            serde_json::to_vec(body).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let msg = RaftMessage {
            json,
            cluster_id: self.identity.get(),
        };
        let mut client = self.client()?;
        let req = self.request(msg, ttl);
        let reply = match rpc {
            Rpc::AppendEntries => client.append_entries(req).await,
            Rpc::Vote => client.vote(req).await,
        }
        .map_err(status_to_rpc)?;
        self.decode(reply)
    }
}

fn status_to_rpc<E: std::error::Error>(
    status: tonic::Status,
) -> RPCError<NodeId, Node, RaftError<NodeId, E>> {
    let e = TransportError(format!("{:?}: {}", status.code(), status.message()));
    match status.code() {
        tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Cancelled => {
            RPCError::Unreachable(Unreachable::new(&e))
        }
        _ => RPCError::Network(NetworkError::new(&e)),
    }
}

impl RaftNetwork<TypeConfig> for PeerConnection {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<NodeId>, openraft::error::Infallible> {
        self.unary(Rpc::AppendEntries, &rpc, option.hard_ttl())
            .await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<NodeId>, InstallSnapshotError> {
        let header = ChunkHeader {
            vote: rpc.vote,
            meta: rpc.meta,
            offset: rpc.offset,
            done: rpc.done,
        };
        let chunk = SnapshotChunk {
            header_json: serde_json::to_vec(&header)
                .map_err(|e| RPCError::Network(NetworkError::new(&e)))?,
            data: rpc.data,
            cluster_id: self.identity.get(),
        };
        let mut client = self.client()?;
        let reply = client
            .install_snapshot(self.request(chunk, option.hard_ttl()))
            .await
            .map_err(status_to_rpc)?;
        self.decode(reply)
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> RpcResult<VoteResponse<NodeId>, openraft::error::Infallible> {
        self.unary(Rpc::Vote, &rpc, option.hard_ttl()).await
    }
}
