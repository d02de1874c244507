//! The ops HTTP endpoint: `/ping`, `/metrics` and `/api/cluster`.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::CONTENT_TYPE;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::cluster::handle::ClusterHandle;

/// Serves the ops endpoint until `stop` turns true.
pub async fn serve(
    handle: Arc<ClusterHandle>,
    listener: TcpListener,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!(error = %e, "ops accept");
                    continue;
                }
            },
            _ = stop.wait_for(|s| *s) => return,
        };
        let handle = handle.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let handle = handle.clone();
                async move { Ok::<_, Infallible>(route(&handle, req)) }
            });
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn respond(
    status: StatusCode,
    content_type: &str,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, content_type)
        .body(Full::new(body.into()))
        .unwrap_or_default()
}

fn route(handle: &ClusterHandle, req: Request<Incoming>) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return respond(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "method not allowed\n",
        );
    }
    match req.uri().path() {
        "/ping" => {
            if handle.raft_metrics().running_state.is_ok() {
                respond(StatusCode::OK, "text/plain", "OK")
            } else {
                respond(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "text/plain",
                    "raft stopped",
                )
            }
        }
        "/metrics" => respond(
            StatusCode::OK,
            "text/plain; version=0.0.4",
            handle.metrics.render(),
        ),
        "/api/cluster" => {
            let body = serde_json::to_vec_pretty(&cluster_view(handle)).unwrap_or_default();
            respond(StatusCode::OK, "application/json", body)
        }
        _ => respond(StatusCode::NOT_FOUND, "text/plain", "404 page not found\n"),
    }
}

/// This node's view of the cluster, as served on `/api/cluster`.
fn cluster_view(handle: &ClusterHandle) -> serde_json::Value {
    let info = handle.node_info();
    let m = handle.raft_metrics();
    let membership = m.membership_config.membership();
    let members: Vec<_> = membership
        .nodes()
        .map(|(id, node)| {
            serde_json::json!({
                "id": id,
                "addr": node.addr,
                "voter": membership.voter_ids().any(|v| v == *id),
            })
        })
        .collect();
    serde_json::json!({
        "id": info.id,
        "addr": info.addr,
        "role": info.role,
        "term": info.term,
        "leaderId": info.leader_id,
        "revision": info.revision,
        "stateHash": info.state_hash,
        "lastLogIndex": info.last_log_index,
        "appliedIndex": info.applied_index,
        "clusterId": info.cluster_id,
        "proxyRevision": info.proxy_revision,
        "proxyError": info.proxy_error,
        "proxyConfigSwappedAt": handle.metrics.proxy_swapped_at.get(),
        "members": members,
    })
}
