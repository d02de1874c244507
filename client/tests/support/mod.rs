//! Harness of the CLI tests: raftgate nodes started in this process (the node library, real
//! gRPC on loopback), and the real `raftgatectl` binary run against them as a child process.
//! Every wait polls a condition under a deadline; nothing sleeps for a fixed time.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clap::Parser;
use raftgate::config::{NodeArgs, NodeConfig};
use raftgate::node::{NodeError, RunningNode};
use serde_json::Value;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

/// How long any wait of these tests may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(25);

/// A free loopback port never handed out before by this process.
pub fn free_port() -> u16 {
    static USED: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("bind an ephemeral port")
            .local_addr()
            .expect("local address")
            .port();
        if USED
            .lock()
            .unwrap()
            .get_or_insert_with(HashSet::new)
            .insert(port)
        {
            return port;
        }
    }
}

/// A loopback port that is bound but never listens: connecting to it is refused, and no
/// other socket can take it while this value lives.
pub struct DeadPort(tokio::net::TcpSocket);

impl DeadPort {
    pub fn new() -> DeadPort {
        let socket = tokio::net::TcpSocket::new_v4().expect("a TCP socket");
        socket
            .bind("127.0.0.1:0".parse().unwrap())
            .expect("bind an ephemeral port");
        DeadPort(socket)
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.0.local_addr().expect("local address"))
    }
}

/// Polls `probe` until it returns `Some`, failing the test with `what` after [`WAIT`].
pub async fn wait_for<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(POLL).await;
    }
}

/// Starts one node from its command-line flags.
pub async fn start_node(flags: &[String]) -> Result<RunningNode, NodeError> {
    let argv = std::iter::once("raftgate".to_string()).chain(flags.iter().cloned());
    let args = NodeArgs::try_parse_from(argv).expect("node flags parse");
    let cfg = NodeConfig::try_from(args).expect("node flags are valid");
    raftgate::node::start(cfg).await
}

/// The flags shared by every node of a test: its id, data dir, gRPC address, any ops port.
fn base_flags(root: &Path, id: u64, grpc_addr: &str) -> Vec<String> {
    let data_dir = root.join(format!("node{id}"));
    vec![
        "--id".into(),
        id.to_string(),
        "--data-dir".into(),
        data_dir.display().to_string(),
        "--grpc-addr".into(),
        grpc_addr.to_string(),
        "--ops-addr".into(),
        "127.0.0.1:0".into(),
        "--entrypoint".into(),
        "web=127.0.0.1:0".into(),
    ]
}

/// Nodes of one test, each in its own subdirectory of one temporary directory.
pub struct Cluster {
    pub dir: TempDir,
    /// Where the data dirs are (a subdirectory of `dir`).
    pub root: PathBuf,
    pub nodes: BTreeMap<u64, RunningNode>,
    pub urls: BTreeMap<u64, String>,
}

impl Cluster {
    /// Bootstraps a cluster of `size` nodes (ids 1..=size) and waits for its leader.
    pub async fn start(size: u64) -> Cluster {
        let dir = tempfile::tempdir().expect("temp dir");
        // The peers' ports are chosen before the nodes bind them; another process may take
        // one in between. Then start over on fresh ports and fresh data dirs.
        for attempt in 1.. {
            let root = dir.path().join(format!("attempt{attempt}"));
            match Self::try_start(&root, size).await {
                Ok((nodes, urls)) => {
                    let cluster = Cluster {
                        dir,
                        root,
                        nodes,
                        urls,
                    };
                    cluster.wait_leader().await;
                    return cluster;
                }
                Err(err) if attempt < 5 => eprintln!("cluster start, attempt {attempt}: {err}"),
                Err(err) => panic!("cannot start a cluster: {err}"),
            }
        }
        unreachable!()
    }

    async fn try_start(
        root: &Path,
        size: u64,
    ) -> Result<(BTreeMap<u64, RunningNode>, BTreeMap<u64, String>), NodeError> {
        let urls: BTreeMap<u64, String> = (1..=size)
            .map(|id| (id, format!("http://127.0.0.1:{}", free_port())))
            .collect();
        let peers = urls
            .iter()
            .map(|(id, url)| format!("{id}={url}"))
            .collect::<Vec<_>>()
            .join(",");
        let mut nodes = BTreeMap::new();
        // The lowest id initializes: start it last, so its peers already listen.
        for (&id, url) in urls.iter().rev() {
            let mut flags = base_flags(root, id, &format!("127.0.0.1:{}", port_of(url)));
            flags.extend(["--peers".to_string(), peers.clone()]);
            match start_node(&flags).await {
                Ok(node) => {
                    nodes.insert(id, node);
                }
                Err(err) => {
                    while let Some((_, node)) = nodes.pop_first() {
                        node.shutdown().await;
                    }
                    return Err(err);
                }
            }
        }
        Ok((nodes, urls))
    }

    /// Starts node `id` on a port of its choosing with `extra` flags (e.g. `--join URL`, or
    /// none to be added by an operator), and returns its URL.
    pub async fn start_extra(&mut self, id: u64, extra: &[String]) -> String {
        let mut flags = base_flags(&self.root, id, "127.0.0.1:0");
        flags.extend_from_slice(extra);
        let node = start_node(&flags).await.expect("node starts");
        let url = format!("http://{}", node.grpc_addr);
        assert_eq!(node.handle.advertise_url, url);
        self.nodes.insert(id, node);
        self.urls.insert(id, url.clone());
        url
    }

    pub fn url(&self, id: u64) -> &str {
        &self.urls[&id]
    }

    /// Every member's URL, comma-separated, for `--endpoints`.
    pub fn endpoints(&self) -> String {
        self.urls.values().cloned().collect::<Vec<_>>().join(",")
    }

    /// Waits until every node names the same leader, that leader says it leads, and every node
    /// applied the cluster id. Returns the leader's id.
    pub async fn wait_leader(&self) -> u64 {
        wait_for(
            "a leader known to every node, and the cluster id",
            || async {
                let infos: Vec<_> = self.nodes.values().map(|n| n.handle.node_info()).collect();
                let leader = infos[0].leader_id?;
                let agreed = infos.iter().all(|i| {
                    i.leader_id == Some(leader)
                        && !i.cluster_id.is_empty()
                        && i.cluster_id == infos[0].cluster_id
                });
                let leads = infos.iter().any(|i| i.id == leader && i.role == "leader");
                (agreed && leads).then_some(leader)
            },
        )
        .await
    }

    /// Waits until the leader's membership is uniform (not joint) and committed: a membership
    /// change still in flight (e.g. a `--join` promotion) refuses the next one.
    pub async fn wait_membership_settled(&self) {
        let leader = self.wait_leader().await;
        let handle = &self.nodes[&leader].handle;
        wait_for("the membership change to commit", || async {
            let m = handle.raft_metrics();
            let config = &m.membership_config;
            let uniform = config.membership().get_joint_config().len() == 1;
            let at = config.log_id().as_ref().map_or(0, |l| l.index);
            let applied = m.last_applied.as_ref().map_or(0, |l| l.index);
            (uniform && applied >= at).then_some(())
        })
        .await
    }

    /// A voter that is not the leader.
    pub async fn follower(&self) -> u64 {
        let leader = self.wait_leader().await;
        *self
            .urls
            .keys()
            .find(|&&id| id != leader)
            .expect("a cluster of more than one node")
    }

    /// Stops every node.
    pub async fn shutdown(mut self) {
        while let Some((_, node)) = self.nodes.pop_first() {
            node.shutdown().await;
        }
    }
}

fn port_of(url: &str) -> u16 {
    url.rsplit(':').next().unwrap().parse().unwrap()
}

/// The outcome of one `raftgatectl` run.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// Asserts success and returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "raftgatectl failed: {self:#?}");
        &self.stdout
    }

    /// Asserts success and parses stdout as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        let text = self.ok();
        serde_json::from_str(text).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {text}"))
    }

    /// Asserts that the command failed with `code` and printed exactly one `error: ` line on
    /// stderr (and nothing on stdout); returns that line.
    #[track_caller]
    pub fn error(&self, code: i32) -> &str {
        assert_eq!(self.code, code, "unexpected exit code: {self:#?}");
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "stderr is not one line: {self:#?}");
        assert!(lines[0].starts_with("error: "), "{self:#?}");
        assert!(self.stdout.is_empty(), "stdout not empty: {self:#?}");
        lines[0]
    }

    /// The revision named by a table-mode write ("router/x created (revision N)").
    #[track_caller]
    pub fn revision(&self) -> u64 {
        let text = self.ok();
        let rest = text
            .split("(revision ")
            .nth(1)
            .unwrap_or_else(|| panic!("no revision in {text:?}"));
        rest.split(')').next().unwrap().parse().unwrap()
    }
}

fn ctl_command(endpoints: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_raftgatectl"));
    cmd.env_remove("RAFTGATE_ENDPOINTS")
        .arg("--endpoints")
        .arg(endpoints)
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    cmd
}

/// Runs `raftgatectl --endpoints ENDPOINTS ARGS...` to completion.
pub async fn ctl(endpoints: &str, args: &[&str]) -> Out {
    let output = ctl_command(endpoints, args)
        .output()
        .await
        .expect("run raftgatectl");
    Out {
        code: output
            .status
            .code()
            .expect("raftgatectl exited (no signal)"),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// Runs `raftgatectl --endpoints ENDPOINTS ARGS...` with `input` on its stdin.
pub async fn ctl_stdin(endpoints: &str, args: &[&str], input: &str) -> Out {
    use tokio::io::AsyncWriteExt;
    let mut child = ctl_command(endpoints, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run raftgatectl");
    let mut stdin = child.stdin.take().expect("stdin is piped");
    stdin
        .write_all(input.as_bytes())
        .await
        .expect("write stdin");
    drop(stdin);
    let output = child.wait_with_output().await.expect("run raftgatectl");
    Out {
        code: output
            .status
            .code()
            .expect("raftgatectl exited (no signal)"),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// Runs `raftgatectl` with raw arguments and no `--endpoints` (for usage errors).
pub async fn ctl_raw(args: &[&str]) -> Out {
    let output = Command::new(env!("CARGO_BIN_EXE_raftgatectl"))
        .env_remove("RAFTGATE_ENDPOINTS")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .expect("run raftgatectl");
    Out {
        code: output
            .status
            .code()
            .expect("raftgatectl exited (no signal)"),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// A long-running `raftgatectl` (e.g. `watch`) whose stdout is read line by line.
pub struct Running {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Running {
    pub fn spawn(endpoints: &str, args: &[&str]) -> Running {
        let mut child = ctl_command(endpoints, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn raftgatectl");
        let stdout = child.stdout.take().expect("piped stdout");
        Running {
            child,
            lines: BufReader::new(stdout).lines(),
        }
    }

    /// The next line of stdout; fails the test if none comes within [`WAIT`].
    pub async fn next_line(&mut self) -> String {
        match tokio::time::timeout(WAIT, self.lines.next_line()).await {
            Ok(Ok(Some(line))) => line,
            Ok(Ok(None)) => panic!("raftgatectl closed its stdout: {:?}", self.child.try_wait()),
            Ok(Err(e)) => panic!("reading raftgatectl's stdout: {e}"),
            Err(_) => panic!("no line from raftgatectl within {WAIT:?}"),
        }
    }

    /// Kills the process (by its PID) and reaps it.
    pub async fn kill(mut self) {
        let pid = self.child.id().expect("the child is still running");
        assert!(pid > 0);
        self.child.kill().await.expect("kill raftgatectl");
    }
}
