//! An in-process fake of a node's admin API on a loopback port chosen by the OS, to check
//! [`Conn`] end to end through tonic: a follower's leader hint travels in the status metadata,
//! the call follows it, and refusals come back with their code and wording.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use raftgate_proto::admin_server::{Admin, AdminServer};
use raftgate_proto::*;
use tonic::codegen::tokio_stream;
use tonic::{Request, Response, Status};

use super::{Conn, Failure, Op, LEADER_HINT_KEY};

type Answer<T> = Result<Response<T>, Status>;

/// A node that is the leader (`leader_addr` None) or a follower pointing at one.
#[derive(Clone, Default)]
struct FakeNode {
    id: u64,
    leader_addr: Option<String>,
    created: Arc<Mutex<Vec<Object>>>,
}

impl FakeNode {
    fn not_leader(&self) -> Option<Status> {
        let leader = self.leader_addr.as_ref()?;
        let mut status = Status::unavailable("not the leader");
        status
            .metadata_mut()
            .insert(LEADER_HINT_KEY, leader.parse().expect("ascii address"));
        Some(status)
    }
}

fn unimplemented<T>() -> Answer<T> {
    Err(Status::unimplemented("not in the fake"))
}

#[tonic::async_trait]
impl Admin for FakeNode {
    async fn cluster_status(
        &self,
        _: Request<ClusterStatusRequest>,
    ) -> Answer<ClusterStatusResponse> {
        unimplemented()
    }
    async fn node_status(&self, _: Request<NodeStatusRequest>) -> Answer<NodeInfo> {
        unimplemented()
    }
    async fn add_node(&self, _: Request<AddNodeRequest>) -> Answer<MembershipResponse> {
        unimplemented()
    }
    async fn remove_node(&self, _: Request<RemoveNodeRequest>) -> Answer<MembershipResponse> {
        unimplemented()
    }
    async fn transfer_leader(
        &self,
        _: Request<TransferLeaderRequest>,
    ) -> Answer<TransferLeaderResponse> {
        unimplemented()
    }
    async fn create(&self, request: Request<CreateRequest>) -> Answer<WriteResponse> {
        if let Some(status) = self.not_leader() {
            return Err(status);
        }
        let object = request.into_inner().object.unwrap_or_default();
        if object.name == "taken" {
            return Err(Status::already_exists("router \"taken\" already exists"));
        }
        self.created.lock().unwrap().push(object);
        Ok(Response::new(WriteResponse {
            revision: 5,
            leader_id: self.id,
        }))
    }
    async fn update(&self, _: Request<UpdateRequest>) -> Answer<WriteResponse> {
        unimplemented()
    }
    async fn delete(&self, _: Request<DeleteRequest>) -> Answer<WriteResponse> {
        unimplemented()
    }
    async fn get(&self, _: Request<GetRequest>) -> Answer<GetResponse> {
        unimplemented()
    }
    async fn list(&self, _: Request<ListRequest>) -> Answer<ListResponse> {
        unimplemented()
    }
    async fn apply(&self, _: Request<ApplyRequest>) -> Answer<WriteResponse> {
        unimplemented()
    }
    type WatchStream = tokio_stream::Iter<std::vec::IntoIter<Result<WatchEvent, Status>>>;
    async fn watch(&self, _: Request<WatchRequest>) -> Answer<Self::WatchStream> {
        unimplemented()
    }
    async fn wait_applied(&self, _: Request<WaitAppliedRequest>) -> Answer<WaitAppliedResponse> {
        unimplemented()
    }
}

/// Serves `node` on 127.0.0.1:0 for the rest of the test; returns its URL.
async fn serve(node: FakeNode) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(AdminServer::new(node))
            .serve_with_incoming(incoming),
    );
    url
}

/// A loopback URL nobody listens on.
async fn dead_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

fn create(name: &str) -> CreateRequest {
    let spec = serde_json::json!({"rule": "Host(`a`)", "service": "a"});
    CreateRequest {
        object: Some(Object {
            kind: Kind::Router as i32,
            name: name.into(),
            spec_json: serde_json::to_vec(&spec).unwrap(),
            managed_by: "cli".into(),
            ..Default::default()
        }),
    }
}

async fn call_create(
    conn: &Conn,
    req: CreateRequest,
) -> Result<(WriteResponse, String), super::CallError> {
    conn.call(Op::Write, move |mut client| {
        let req = req.clone();
        async move { client.create(req).await }
    })
    .await
}

#[tokio::test]
async fn a_write_skips_a_dead_node_and_follows_the_followers_hint() {
    let leader = FakeNode {
        id: 1,
        ..Default::default()
    };
    let created = leader.created.clone();
    let leader_url = serve(leader).await;
    let follower_url = serve(FakeNode {
        id: 2,
        leader_addr: Some(leader_url.clone()),
        ..Default::default()
    })
    .await;
    let conn = Conn::new(vec![dead_url().await, follower_url], Duration::from_secs(5));

    let (resp, endpoint) = call_create(&conn, create("web")).await.unwrap();
    assert_eq!((resp.revision, resp.leader_id), (5, 1));
    assert_eq!(endpoint, leader_url);
    let created = created.lock().unwrap();
    assert_eq!(created[0].name, "web");
    assert_eq!(created[0].managed_by, "cli");
}

#[tokio::test]
async fn a_refusal_comes_back_with_its_wording_and_endpoint() {
    let url = serve(FakeNode {
        id: 1,
        ..Default::default()
    })
    .await;
    let conn = Conn::new(vec![url.clone()], Duration::from_secs(5));
    let err = call_create(&conn, create("taken")).await.unwrap_err();
    assert_eq!(err.endpoint, url);
    let (reason, code) = crate::error::describe_call(&err);
    assert_eq!(
        (reason.as_str(), code),
        (
            "router \"taken\" already exists",
            crate::error::EXIT_REFUSED
        )
    );
}

#[tokio::test]
async fn nobody_listening_is_a_connect_failure() {
    let conn = Conn::new(vec![dead_url().await], Duration::from_secs(5));
    let err = call_create(&conn, create("web")).await.unwrap_err();
    assert!(matches!(err.failure, Failure::Connect(_)), "{err:?}");
    assert_eq!(
        crate::error::describe_call(&err).1,
        crate::error::EXIT_UNREACHABLE
    );
}

#[tokio::test]
async fn a_follower_whose_leader_is_gone_ends_unavailable() {
    let dead_leader = dead_url().await;
    let follower = FakeNode {
        id: 2,
        leader_addr: Some(dead_leader.clone()),
        ..Default::default()
    };
    let url = serve(follower).await;
    let conn = Conn::new(vec![url], Duration::from_secs(5));
    let err = call_create(&conn, create("web")).await.unwrap_err();
    // follower → dead leader → follower (2nd pass) → dead leader: the last error is the leader's.
    assert!(matches!(&err.failure, Failure::Connect(_)), "{err:?}");
    assert_eq!(err.endpoint, dead_leader);
}
