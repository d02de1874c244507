//! One `raftgate` node process: its ports, data dir and log, and the signals a fault sends
//! it (SIGKILL, SIGSTOP/SIGCONT).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use raftgate_testkit::free_port;

use super::NodeId;

/// The `raftgate` binary: `$RAFTGATE_BIN`, else the one cargo built beside this executable
/// (`target/<profile>/raftgate`).
pub fn node_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("RAFTGATE_BIN") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().expect("current executable");
    exe.ancestors()
        .skip(1)
        .map(|dir| dir.join("raftgate"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "no raftgate binary near {}: run `cargo build -p raftgate` (same profile) or set RAFTGATE_BIN",
                exe.display()
            )
        })
}

/// One node process.
pub struct NodeProcess {
    /// Node id.
    pub id: NodeId,
    grpc_port: u16,
    ops_port: u16,
    web_port: u16,
    data_dir: PathBuf,
    log: PathBuf,
    child: Option<Child>,
    paused: bool,
}

impl NodeProcess {
    /// A node (not started) with fresh ports, its data dir and log under `root`.
    pub fn new(root: &Path, id: NodeId) -> std::io::Result<Self> {
        Ok(Self {
            id,
            grpc_port: free_port(),
            ops_port: free_port(),
            web_port: free_port(),
            data_dir: root.join(format!("node{id}")),
            log: root.join(format!("node{id}.log")),
            child: None,
            paused: false,
        })
    }

    /// The gRPC URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.grpc_port)
    }

    /// The gRPC address.
    pub fn grpc_addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.grpc_port))
    }

    /// The `web` entrypoint's address.
    pub fn web_addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.web_port))
    }

    /// Starts the process with the harness flags plus `extra`.
    pub fn start(&mut self, extra: &[String]) -> std::io::Result<()> {
        assert!(self.child.is_none(), "node {} already running", self.id);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let child = Command::new(node_binary())
            .arg("--id")
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
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        self.child = Some(child);
        self.paused = false;
        Ok(())
    }

    /// Whether the process runs (paused counts as running).
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Whether the process is stopped by SIGSTOP.
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// SIGKILL: a crash; nothing is flushed on the way out.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.paused = false;
    }

    /// SIGSTOP: the process freezes with its sockets open.
    pub fn pause(&mut self) {
        if self.signal("-STOP") {
            self.paused = true;
        }
    }

    /// SIGCONT after [`pause`](Self::pause).
    pub fn resume(&mut self) {
        if self.signal("-CONT") {
            self.paused = false;
        }
    }

    fn signal(&self, sig: &str) -> bool {
        let Some(child) = &self.child else {
            return false;
        };
        Command::new("kill")
            .arg(sig)
            .arg(child.id().to_string())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// The last `lines` lines of the node's log, after the message of a panic or of the error
    /// `main` returned, if any (its backtrace alone would fill the tail).
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        let tail = all[all.len().saturating_sub(lines)..].join("\n");
        // A panic, or an error `main` returned (its backtrace follows it).
        match all
            .iter()
            .position(|l| l.contains("panicked at") || l.starts_with("Error: "))
        {
            Some(at) => format!("{}\n...\n{tail}", all[at..all.len().min(at + 3)].join("\n")),
            None => tail,
        }
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        if self.paused {
            let _ = self.signal("-CONT");
        }
        self.kill();
    }
}
