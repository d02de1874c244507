//! Data-plane figures on a real three-node loopback cluster (separate processes).
//!
//! ```sh
//! cargo build --release -p raftgate --bins --examples
//! target/release/examples/proxy_bench               # ROUTES=10000 SERVED_ROUNDS=200
//! ```
//!
//! Prints: commit → served on all three nodes (write a router, poll every node's entrypoint
//! until it routes it; p50/p99), and each node's RSS idle with ROUTES routers, then under a
//! `wrk` load on node 1 (if `wrk` is installed).

mod common;

use std::convert::Infallible;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use http_body_util::{BodyExt, Empty, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use raftgate_proto::{self as pb};

fn object(kind: pb::Kind, name: &str, spec: serde_json::Value) -> pb::Object {
    pb::Object {
        kind: kind as i32,
        name: name.into(),
        spec_json: serde_json::to_vec(&spec).unwrap(),
        ..Default::default()
    }
}

async fn apply(url: &str, puts: Vec<pb::Object>) -> u64 {
    client(url)
        .apply(pb::ApplyRequest {
            puts,
            deletes: vec![],
            expected_revision: None,
            dry_run: false,
        })
        .await
        .unwrap()
        .into_inner()
        .revision
}

/// A backend answering 100 bytes to everything.
async fn backend() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(|_req| async {
                    Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from(vec![
                        b'x';
                        100
                    ]))))
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    format!("http://{addr}")
}

fn rss(nodes: &[Node]) -> String {
    nodes
        .iter()
        .map(|n| format!("node{}={:.1}", n.id, n.rss_mib()))
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::main]
async fn main() {
    let routes = env_or("ROUTES", 10_000);
    let rounds = env_or("SERVED_ROUNDS", 200);
    let dir = tempfile::tempdir().unwrap();
    let (nodes, l) = start_cluster(dir.path(), 3).await;
    let leader_url = nodes[(l - 1) as usize].url();
    let backend = backend().await;
    apply(
        &leader_url,
        vec![object(
            pb::Kind::Service,
            "b",
            serde_json::json!({"loadBalancer": {"servers": [{"url": backend}]}}),
        )],
    )
    .await;

    // Commit -> served on all three nodes.
    let http = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .build_http::<Empty<Bytes>>();
    let mut served = Vec::new();
    for i in 0..rounds {
        let path = format!("/served/{i}");
        let router = object(
            pb::Kind::Router,
            &format!("s{i}"),
            serde_json::json!({"rule": format!("Path(`{path}`)"), "service": "b"}),
        );
        apply(&leader_url, vec![router]).await;
        let acked = Instant::now();
        let mut worst = Duration::ZERO;
        for n in &nodes {
            let uri: hyper::Uri = format!("http://127.0.0.1:{}{path}", n.web_port)
                .parse()
                .unwrap();
            loop {
                let resp = http.get(uri.clone()).await.unwrap();
                let ok = resp.status() == 200;
                let _ = resp.into_body().collect().await;
                if ok {
                    break;
                }
                assert!(
                    acked.elapsed() < Duration::from_secs(10),
                    "router {i} never served"
                );
            }
            worst = worst.max(acked.elapsed());
        }
        served.push(worst);
    }
    served.sort();
    println!(
        "commit -> served on all 3 nodes ({rounds} routers): p50 {:.2?} p99 {:.2?} max {:.2?}",
        pct(&served, 0.5),
        pct(&served, 0.99),
        served.last().copied().unwrap_or_default()
    );

    // Many routers: mixed exact hosts, host suffixes and host-less rules.
    let started = Instant::now();
    let mut batch = Vec::new();
    for i in 0..routes {
        let rule = match i % 10 {
            0..=6 => format!(
                "Host(`svc{i}.example.com`) && PathPrefix(`/api/v{}`)",
                i % 7
            ),
            7 | 8 => {
                format!("HostRegexp(`^[a-z0-9-]+\\.tenant{i}\\.example\\.net$`) && Path(`/t/{i}`)")
            }
            _ => format!("PathRegexp(`^/r{i}/[0-9]+$`)"),
        };
        batch.push(object(
            pb::Kind::Router,
            &format!("m{i}"),
            serde_json::json!({"rule": rule, "service": "b"}),
        ));
        if batch.len() == 500 {
            apply(&leader_url, std::mem::take(&mut batch)).await;
        }
    }
    if !batch.is_empty() {
        apply(&leader_url, batch).await;
    }
    let probe: hyper::Uri = format!("http://127.0.0.1:{}/api/v1", nodes[0].web_port)
        .parse()
        .unwrap();
    let host = "svc1.example.com";
    loop {
        let req = hyper::Request::get(probe.clone())
            .header("host", host)
            .body(Empty::new())
            .unwrap();
        if http
            .request(req)
            .await
            .map(|r| r.status() == 200)
            .unwrap_or(false)
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "routers never served"
        );
    }
    println!(
        "{routes} routers written and served in {:.1?}",
        started.elapsed()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    println!("RSS idle with {routes} routers (MiB): {}", rss(&nodes));

    let wrk = std::process::Command::new("wrk")
        .args([
            "-t1",
            "-c32",
            "-d10s",
            "-H",
            &format!("Host: {host}"),
            &probe.to_string(),
        ])
        .stdout(std::process::Stdio::piped())
        .spawn();
    match wrk {
        Ok(child) => {
            tokio::time::sleep(Duration::from_secs(8)).await;
            let under_load = rss(&nodes);
            let out = child.wait_with_output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            let rps = text
                .lines()
                .find(|l| l.starts_with("Requests/sec"))
                .unwrap_or("")
                .to_string();
            println!("RSS under wrk load on node 1 (MiB): {under_load} | {rps}");
        }
        Err(e) => println!("wrk not available ({e}): no load figure"),
    }
}
