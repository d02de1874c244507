//! Test harness: real `raftgate` processes on loopback with ephemeral ports, and helpers
//! that wait on conditions (never on fixed sleeps).

#![allow(dead_code)]

pub mod backend;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use raftgate_proto::admin_client::AdminClient;
use raftgate_proto::{self as pb, NodeInfo};
use tonic::transport::Channel;

pub use raftgate_testkit::free_port;

/// One node process.
pub struct NodeProc {
    pub id: u64,
    pub grpc_port: u16,
    pub ops_port: u16,
    pub web_port: u16,
    pub data_dir: PathBuf,
    pub log: PathBuf,
    child: Option<Child>,
}

impl NodeProc {
    pub fn new(root: &std::path::Path, id: u64) -> Self {
        Self {
            id,
            grpc_port: free_port(),
            ops_port: free_port(),
            web_port: free_port(),
            data_dir: root.join(format!("node{id}")),
            log: root.join(format!("node{id}.log")),
            child: None,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.grpc_port)
    }

    /// Base URL of the node's `web` entrypoint.
    pub fn web(&self) -> String {
        format!("http://127.0.0.1:{}", self.web_port)
    }

    /// The process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// The command line of this node, plus `extra`.
    pub fn command(&self, extra: &[String]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_raftgate"));
        cmd.arg("--id")
            .arg(self.id.to_string())
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--grpc-addr")
            .arg(format!("127.0.0.1:{}", self.grpc_port))
            .arg("--advertise-url")
            .arg(self.url())
            .arg("--ops-addr")
            .arg(format!("127.0.0.1:{}", self.ops_port))
            .arg("--entrypoint")
            .arg(format!("web=127.0.0.1:{}", self.web_port))
            .args(extra)
            .env("RUST_LOG", "info,openraft=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        cmd
    }

    pub fn start(&mut self, extra: &[String]) {
        assert!(self.child.is_none(), "node {} already running", self.id);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = self
            .command(extra)
            .stderr(log)
            .spawn()
            .expect("spawn raftgate");
        self.child = Some(child);
    }

    /// SIGKILL: a crash, nothing flushed on the way out.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends SIGTERM without waiting.
    pub fn terminate(&self) {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status();
        }
    }

    /// Whether the process has exited (reaping it if so).
    pub fn has_exited(&mut self) -> bool {
        match self.child.as_mut().map(|c| c.try_wait()) {
            Some(Ok(Some(_))) | None => {
                self.child = None;
                true
            }
            _ => false,
        }
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A cluster of node processes in a temporary directory.
pub struct TestCluster {
    pub dir: tempfile::TempDir,
    pub nodes: BTreeMap<u64, NodeProc>,
    pub extra: Vec<String>,
}

/// Raft timings for tests: the defaults of the binary (heartbeat 100 ms, election 200–400 ms).
pub fn default_flags() -> Vec<String> {
    Vec::new()
}

impl TestCluster {
    /// Starts `n` nodes bootstrapped with `--peers`, each with `extra` flags.
    pub fn start(n: u64, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let nodes: BTreeMap<u64, NodeProc> = (1..=n)
            .map(|id| (id, NodeProc::new(dir.path(), id)))
            .collect();
        let peers = nodes
            .values()
            .map(|p| format!("{}={}", p.id, p.url()))
            .collect::<Vec<_>>()
            .join(",");
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let mut cluster = Self { dir, nodes, extra };
        for node in cluster.nodes.values_mut() {
            let mut args = cluster.extra.clone();
            args.push("--peers".into());
            args.push(peers.clone());
            node.start(&args);
        }
        cluster
    }

    pub fn node(&mut self, id: u64) -> &mut NodeProc {
        self.nodes.get_mut(&id).unwrap()
    }

    pub fn url(&self, id: u64) -> String {
        self.nodes[&id].url()
    }

    pub fn running(&self) -> Vec<u64> {
        self.nodes
            .values()
            .filter(|n| n.is_running())
            .map(|n| n.id)
            .collect()
    }

    /// Restarts a stopped node on its data dir, without bootstrap flags.
    pub fn restart(&mut self, id: u64) {
        let extra = self.extra.clone();
        self.node(id).start(&extra);
    }

    /// Adds a node process (not started).
    pub fn add(&mut self, id: u64) -> &mut NodeProc {
        let p = NodeProc::new(self.dir.path(), id);
        self.nodes.insert(id, p);
        self.node(id)
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for node in self.nodes.values() {
                eprintln!(
                    "----- node {} log (last 40 lines) -----\n{}",
                    node.id,
                    node.log_tail(40)
                );
            }
        }
        for node in self.nodes.values_mut() {
            node.kill();
        }
    }
}

/// An admin client for `url` (connects lazily).
pub fn admin(url: &str) -> AdminClient<Channel> {
    let channel = tonic::transport::Endpoint::from_shared(url.to_string())
        .unwrap()
        .connect_timeout(Duration::from_millis(500))
        .timeout(Duration::from_secs(10))
        .connect_lazy();
    AdminClient::new(channel)
}

/// Polls `f` until it returns `Some`, or panics after `timeout` naming `what`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

pub async fn node_info(url: &str) -> Option<NodeInfo> {
    admin(url)
        .node_status(pb::NodeStatusRequest {})
        .await
        .ok()
        .map(|r| r.into_inner())
}

/// Waits until every node in `ids` agrees on one leader among `ids`, and the cluster id is set.
pub async fn wait_leader(cluster: &TestCluster, ids: &[u64], timeout: Duration) -> u64 {
    let urls: Vec<String> = ids.iter().map(|id| cluster.url(*id)).collect();
    wait_for("a leader all nodes agree on", timeout, || {
        let urls = urls.clone();
        let ids = ids.to_vec();
        async move {
            let mut leader = None;
            for url in &urls {
                let info = node_info(url).await?;
                if info.cluster_id.is_empty() {
                    return None;
                }
                let l = info.leader_id?;
                if leader.is_some_and(|x| x != l) || !ids.contains(&l) {
                    return None;
                }
                leader = Some(l);
            }
            let l = leader?;
            let info = node_info(&urls[ids.iter().position(|i| *i == l)?]).await?;
            (info.role == "leader").then_some(l)
        }
    })
    .await
}

/// Waits until every node in `ids` has applied `revision`, then returns their infos.
pub async fn wait_applied(cluster: &TestCluster, ids: &[u64], revision: u64) -> Vec<NodeInfo> {
    let mut out = Vec::new();
    for id in ids {
        let url = cluster.url(*id);
        let info = wait_for(
            &format!("node {id} to apply revision {revision}"),
            Duration::from_secs(15),
            || {
                let url = url.clone();
                async move { node_info(&url).await.filter(|i| i.revision >= revision) }
            },
        )
        .await;
        out.push(info);
    }
    out
}

/// Asserts that all nodes in `ids` reached the same revision and state hash.
pub async fn assert_converged(cluster: &TestCluster, ids: &[u64], revision: u64) {
    let infos = wait_applied(cluster, ids, revision).await;
    let first = &infos[0];
    for info in &infos {
        assert_eq!(
            info.revision, first.revision,
            "revision of node {} vs node {}",
            info.id, first.id
        );
        assert_eq!(
            info.state_hash, first.state_hash,
            "state hash of node {} vs node {}",
            info.id, first.id
        );
    }
}

/// Creates or replaces `objects` in one transaction (one revision).
pub async fn try_put(url: &str, objects: Vec<pb::Object>) -> Result<u64, tonic::Status> {
    admin(url)
        .apply(pb::ApplyRequest {
            puts: objects,
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner().revision)
}

/// [`try_put`] that must succeed; returns its revision.
pub async fn put(url: &str, objects: Vec<pb::Object>) -> u64 {
    try_put(url, objects).await.expect("apply")
}

/// A middleware object.
pub fn middleware(name: &str, spec: serde_json::Value) -> pb::Object {
    object(pb::Kind::Middleware, name, spec)
}

/// A router with middlewares.
pub fn routed(name: &str, rule: &str, service: &str, middlewares: &[&str]) -> pb::Object {
    object(
        pb::Kind::Router,
        name,
        serde_json::json!({"rule": rule, "service": service, "middlewares": middlewares}),
    )
}

/// A one-node cluster with `extra` flags, once it leads: (cluster, admin URL, web URL).
pub async fn one_node(extra: &[&str]) -> (TestCluster, String, String) {
    let cluster = TestCluster::start(1, extra);
    wait_leader(&cluster, &[1], Duration::from_secs(20)).await;
    let admin_url = cluster.url(1);
    let web = cluster.nodes[&1].web();
    (cluster, admin_url, web)
}

pub fn object(kind: pb::Kind, name: &str, spec: serde_json::Value) -> pb::Object {
    pb::Object {
        kind: kind as i32,
        name: name.to_string(),
        spec_json: serde_json::to_vec(&spec).unwrap(),
        ..Default::default()
    }
}

pub fn service(name: &str, url: &str) -> pb::Object {
    object(
        pb::Kind::Service,
        name,
        serde_json::json!({"loadBalancer": {"servers": [{"url": url}]}}),
    )
}

pub fn router(name: &str, rule: &str, service: &str) -> pb::Object {
    object(
        pb::Kind::Router,
        name,
        serde_json::json!({"rule": rule, "service": service}),
    )
}

/// Creates `object` through `url`, returning the committed revision.
pub async fn create(url: &str, object: pb::Object) -> Result<u64, tonic::Status> {
    admin(url)
        .create(pb::CreateRequest {
            object: Some(object),
        })
        .await
        .map(|r| r.into_inner().revision)
}

/// Retries a create through the running nodes until one accepts it (used right after faults).
pub async fn create_retrying(cluster: &TestCluster, object: pb::Object, timeout: Duration) -> u64 {
    let ids = cluster.running();
    let deadline = Instant::now() + timeout;
    let mut i = 0;
    loop {
        let url = cluster.url(ids[i % ids.len()]);
        match create(&url, object.clone()).await {
            Ok(rev) => return rev,
            Err(e) if e.code() == tonic::Code::AlreadyExists => {
                // An earlier attempt with an unknown outcome did commit.
                let got = admin(&url)
                    .get(pb::GetRequest {
                        r#ref: Some(pb::ObjectRef {
                            kind: object.kind,
                            name: object.name.clone(),
                        }),
                        options: None,
                    })
                    .await
                    .unwrap()
                    .into_inner();
                return got.object.unwrap().mod_revision;
            }
            Err(e) => {
                assert!(Instant::now() < deadline, "write never succeeded: {e:?}");
                i += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

pub async fn list(url: &str, kind: pb::Kind) -> pb::ListResponse {
    admin(url)
        .list(pb::ListRequest {
            kind: kind as i32,
            options: None,
        })
        .await
        .unwrap()
        .into_inner()
}

/// A GET over plain HTTP/1.1 (the ops endpoint), body as text.
pub async fn http_get(url: &str) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}")))?;
    let mut stream = tokio::net::TcpStream::connect(host).await.ok()?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).await.ok()?;
    let mut buf = String::new();
    stream.read_to_string(&mut buf).await.ok()?;
    let (head, body) = buf.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_string())
}

/// The value of an unlabelled metric in Prometheus text.
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}
