//! The docker compose backend: the three containers of `deploy/compose/docker-compose.yml`
//! (one project per run, its own host ports), faults made with the Docker CLI —
//! `docker kill` / `start`, `docker pause` / `unpause`, and `docker network disconnect` /
//! `connect` for partitions.
//!
//! A disconnected container also loses its published ports, so the harness cannot reach an
//! isolated node either: scenarios count it as faulted. Asymmetric links and joins are not
//! made on this backend.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use raftgate_testkit::{compose_port_base, PortBase};

use super::{Cluster, NodeId};

fn run(cmd: &mut Command) -> std::io::Result<Output> {
    let out = cmd.output()?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(std::io::Error::other(format!(
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// A compose project, taken down with its volumes when dropped.
pub struct ComposeCluster {
    project: String,
    image: String,
    file: PathBuf,
    env: Vec<(String, String)>,
    /// The host port prefix, held until the project is down.
    ports: PortBase,
    killed: BTreeSet<NodeId>,
    paused: BTreeSet<NodeId>,
    disconnected: BTreeSet<NodeId>,
}

impl ComposeCluster {
    /// Builds the image from the `raftgate` binary in `bin_dir` (no registry needed) and
    /// starts the three containers. `repo` is the repository root.
    pub fn start(repo: &Path, bin_dir: &Path) -> std::io::Result<Self> {
        let image = format!("raftgate:chaos-{}", std::process::id());
        run(Command::new(repo.join("deploy/docker/build-image.sh"))
            .env("BIN_DIR", bin_dir)
            .env("SKIP_BUILD", "1")
            .env("IMAGE", &image))?;
        let ports =
            compose_port_base().ok_or_else(|| std::io::Error::other("no free host port prefix"))?;
        let cluster = Self {
            project: format!("rgchaos{}", std::process::id()),
            image: image.clone(),
            file: repo.join("deploy/compose/docker-compose.yml"),
            env: vec![
                ("RAFTGATE_IMAGE".into(), image),
                ("RAFTGATE_PORT_BASE".into(), ports.base.clone()),
            ],
            ports,
            killed: BTreeSet::new(),
            paused: BTreeSet::new(),
            disconnected: BTreeSet::new(),
        };
        cluster.compose(&["up", "-d"])?;
        Ok(cluster)
    }

    fn compose(&self, args: &[&str]) -> std::io::Result<Output> {
        run(Command::new("docker-compose")
            .arg("-p")
            .arg(&self.project)
            .arg("-f")
            .arg(&self.file)
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str()))))
    }

    fn container(&self, id: NodeId) -> String {
        format!("{}_node{id}_1", self.project)
    }

    fn network(&self) -> String {
        format!("{}_raftgate", self.project)
    }

    fn docker(&self, args: &[&str]) -> std::io::Result<()> {
        run(Command::new("docker").args(args)).map(drop)
    }
}

impl Cluster for ComposeCluster {
    fn ids(&self) -> Vec<NodeId> {
        vec![1, 2, 3]
    }

    fn url(&self, id: NodeId) -> String {
        format!("http://127.0.0.1:{}700{id}", self.ports.base)
    }

    fn web_addrs(&self) -> BTreeMap<NodeId, SocketAddr> {
        self.ids()
            .into_iter()
            .filter_map(|id| {
                let port = format!("{}808{id}", self.ports.base).parse().ok()?;
                Some((id, SocketAddr::from((Ipv4Addr::LOCALHOST, port))))
            })
            .collect()
    }

    fn is_up(&self, id: NodeId) -> bool {
        !self.killed.contains(&id)
    }

    fn kill(&mut self, id: NodeId) -> std::io::Result<()> {
        self.docker(&["kill", &self.container(id)])?;
        self.killed.insert(id);
        Ok(())
    }

    fn restart(&mut self, id: NodeId) -> std::io::Result<()> {
        self.docker(&["start", &self.container(id)])?;
        self.killed.remove(&id);
        Ok(())
    }

    fn pause(&mut self, id: NodeId) -> std::io::Result<()> {
        self.docker(&["pause", &self.container(id)])?;
        self.paused.insert(id);
        Ok(())
    }

    fn resume(&mut self, id: NodeId) -> std::io::Result<()> {
        self.docker(&["unpause", &self.container(id)])?;
        self.paused.remove(&id);
        Ok(())
    }

    /// The largest group stays on the network; every node of the other groups is
    /// disconnected (so those groups must be single nodes).
    fn partition(&mut self, groups: &[&[NodeId]]) -> std::io::Result<()> {
        let largest = groups.iter().map(|g| g.len()).max().unwrap_or(0);
        let mut kept = false;
        for group in groups {
            if group.len() == largest && !kept {
                kept = true;
                continue;
            }
            if group.len() > 1 {
                return Err(std::io::Error::other(
                    "the compose backend can only cut single nodes off",
                ));
            }
            for id in group.iter() {
                self.docker(&[
                    "network",
                    "disconnect",
                    &self.network(),
                    &self.container(*id),
                ])?;
                self.disconnected.insert(*id);
            }
        }
        Ok(())
    }

    fn drop_one_way(&mut self, _from: NodeId, _to: NodeId) -> std::io::Result<bool> {
        Ok(false)
    }

    fn heal(&mut self) -> std::io::Result<()> {
        for id in std::mem::take(&mut self.disconnected) {
            let alias = format!("node{id}");
            self.docker(&[
                "network",
                "connect",
                "--alias",
                &alias,
                &self.network(),
                &self.container(id),
            ])?;
        }
        Ok(())
    }

    fn add_node(&mut self, _id: NodeId, _join: &[NodeId]) -> std::io::Result<bool> {
        Ok(false)
    }

    fn log_tail(&self, id: NodeId, lines: usize) -> String {
        Command::new("docker")
            .args(["logs", "--tail", &lines.to_string(), &self.container(id)])
            .output()
            .map(|o| {
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                )
            })
            .unwrap_or_default()
    }

    /// Each node proxies to its own ops endpoint: the chaos route then depends on no
    /// other node, as the loopback backend does for the process backend.
    fn route_target(&self) -> Option<String> {
        Some("http://127.0.0.1:9000".to_string())
    }

    fn cuts_clients_off(&self) -> bool {
        true
    }
}

impl Drop for ComposeCluster {
    fn drop(&mut self) {
        for id in std::mem::take(&mut self.paused) {
            let _ = self.docker(&["unpause", &self.container(id)]);
        }
        let _ = self.heal();
        if let Err(e) = self.compose(&["down", "-v", "--timeout", "5"]) {
            eprintln!("compose down failed: {e}");
        }
        let _ = self.docker(&["rmi", "-f", &self.image]);
    }
}
