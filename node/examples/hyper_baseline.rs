//! The floor of raftgate's proxy stack: a bare hyper server forwarding every request with
//! hyper-util's pooled client, nothing else (no routing, no header rewriting). Measured beside
//! raftgate in `../shared/bench/peers.sh`, it tells how much of the distance to nginx is the
//! hyper/tokio stack itself and how much is raftgate's own work.
//!
//! ```sh
//! cargo build --release -p raftgate --examples
//! EXTRA_NAME=hyper EXTRA_PORT=18091 \
//!   EXTRA_CMD="exec $PWD/target/release/examples/hyper_baseline" ../shared/bench/peers.sh
//! ```
//! Reads LISTEN_ADDR and BACKEND_ADDR (as peers.sh sets them); runs on one thread.

use std::convert::Infallible;

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Body = http_body_util::combinators::BoxBody<bytes::Bytes, hyper::Error>;

fn main() {
    let listen = std::env::var("LISTEN_ADDR").unwrap_or_else(|_| "127.0.0.1:18091".into());
    let backend = std::env::var("BACKEND_ADDR").unwrap_or_else(|_| "127.0.0.1:18080".into());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
        connector.set_nodelay(true);
        let client: Client<_, Body> = Client::builder(TokioExecutor::new()).build(connector);
        let listener = tokio::net::TcpListener::bind(&listen).await.unwrap();
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let _ = stream.set_nodelay(true);
            let (client, backend) = (client.clone(), backend.clone());
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                    let (client, backend) = (client.clone(), backend.clone());
                    async move {
                        let (mut parts, body) = req.into_parts();
                        let pq = parts
                            .uri
                            .path_and_query()
                            .map_or("/", |p| p.as_str())
                            .to_string();
                        parts.uri = format!("http://{backend}{pq}").parse().unwrap();
                        let req = hyper::Request::from_parts(parts, body.boxed());
                        let resp = match client.request(req).await {
                            Ok(r) => r.map(|b| b.boxed()),
                            Err(_) => {
                                let mut r = hyper::Response::new(
                                    http_body_util::Empty::new().map_err(|n| match n {}).boxed(),
                                );
                                *r.status_mut() = hyper::StatusCode::BAD_GATEWAY;
                                r
                            }
                        };
                        Ok::<_, Infallible>(resp)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
}
