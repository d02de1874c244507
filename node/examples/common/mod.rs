//! Shared by the benchmarks: node processes on loopback and admin-API helpers.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use raftgate_proto::admin_client::AdminClient;
use raftgate_proto::{self as pb};
use tonic::transport::Channel;

/// One node process.
pub struct Node {
    pub id: u64,
    pub port: u16,
    pub web_port: u16,
    pub child: Option<Child>,
    pub data: PathBuf,
}

pub fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn node_bin() -> PathBuf {
    if let Ok(p) = std::env::var("RAFTGATE_BIN") {
        return p.into();
    }
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().join("raftgate")
}

impl Node {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn start(&mut self, peers: Option<&str>) {
        let mut cmd = Command::new(node_bin());
        cmd.args([
            "--id",
            &self.id.to_string(),
            "--grpc-addr",
            &format!("127.0.0.1:{}", self.port),
        ])
        .args([
            "--ops-addr",
            "127.0.0.1:0",
            "--entrypoint",
            &format!("web=127.0.0.1:{}", self.web_port),
            "--advertise-url",
            &self.url(),
        ])
        .arg("--data-dir")
        .arg(&self.data)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        if let Some(p) = peers {
            cmd.args(["--peers", p]);
        }
        self.child = Some(
            cmd.spawn()
                .expect("start raftgate (build it with --bins first)"),
        );
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn rss_mib(&self) -> f64 {
        let pid = self.child.as_ref().map(|c| c.id()).unwrap_or(0);
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn client(url: &str) -> AdminClient<Channel> {
    let ch = tonic::transport::Endpoint::from_shared(url.to_string())
        .unwrap()
        .connect_timeout(Duration::from_millis(300))
        .timeout(Duration::from_secs(10))
        .tcp_nodelay(true)
        .connect_lazy();
    AdminClient::new(ch)
}

pub async fn info(url: &str) -> Option<pb::NodeInfo> {
    client(url)
        .node_status(pb::NodeStatusRequest {})
        .await
        .ok()
        .map(|r| r.into_inner())
}

/// Polls until the given nodes agree on a leader among them; returns it.
pub async fn leader(nodes: &[&Node]) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut seen = Vec::new();
        for n in nodes {
            seen.push(info(&n.url()).await);
        }
        let leaders: Vec<Option<u64>> = seen
            .iter()
            .map(|i| i.as_ref().and_then(|i| i.leader_id))
            .collect();
        if let Some(Some(l)) = leaders.first() {
            let agreed = leaders.iter().all(|x| *x == Some(*l));
            let leads = seen
                .iter()
                .flatten()
                .any(|i| i.id == *l && i.role == "leader");
            let has_id = seen.iter().flatten().all(|i| !i.cluster_id.is_empty());
            if agreed && leads && has_id {
                return *l;
            }
        }
        assert!(Instant::now() < deadline, "no leader");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Starts a cluster of `n` nodes in `dir` and waits for its leader.
pub async fn start_cluster(dir: &std::path::Path, n: u64) -> (Vec<Node>, u64) {
    let mut nodes: Vec<Node> = (1..=n)
        .map(|id| Node {
            id,
            port: free_port(),
            web_port: free_port(),
            child: None,
            data: dir.join(format!("n{id}")),
        })
        .collect();
    let peers = nodes
        .iter()
        .map(|n| format!("{}={}", n.id, n.url()))
        .collect::<Vec<_>>()
        .join(",");
    for n in &mut nodes {
        n.start(Some(&peers));
    }
    let l = leader(&nodes.iter().collect::<Vec<_>>()).await;
    (nodes, l)
}

/// A percentile of sorted durations.
pub fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}
