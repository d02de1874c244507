//! The docker compose deployment: build the image from the locally built binary, start the
//! three containers, route through every node, stop the leader's container, clean up.
//! Skipped (with a message) where no Docker engine answers.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use raftgate_testkit::{compose_port_base, docker_available};
use support::backend::get;
use support::*;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A compose project that is taken down (with its volumes) when dropped.
struct Project {
    name: String,
    env: Vec<(String, String)>,
}

impl Project {
    fn compose(&self, args: &[&str]) -> std::process::Output {
        let file = repo_root().join("deploy/compose/docker-compose.yml");
        Command::new("docker-compose")
            .arg("-p")
            .arg(&self.name)
            .arg("-f")
            .arg(file)
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .expect("docker-compose runs")
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let out = self.compose(&["down", "-v", "--timeout", "5"]);
        if !out.status.success() {
            eprintln!(
                "compose down failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// Polls `url` until it answers 200; returns the body.
async fn body_when_ok(url: &str, what: &str) -> String {
    wait_for(what, Duration::from_secs(20), || async move {
        get(url, "any")
            .await
            .ok()
            .filter(|r| r.0 == 200)
            .map(|r| r.2)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compose_cluster_serves_routes_and_survives_its_leader_stopping() {
    if !docker_available() {
        eprintln!("SKIPPED: no Docker engine or docker-compose on this machine");
        return;
    }
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_raftgate"))
        .parent()
        .unwrap()
        .to_path_buf();
    let image = format!("raftgate:test-{}", std::process::id());
    let build = Command::new(repo_root().join("deploy/docker/build-image.sh"))
        .env("BIN_DIR", &bin_dir)
        .env("SKIP_BUILD", "1")
        .env("IMAGE", &image)
        .output()
        .unwrap();
    assert!(
        build.status.success(),
        "image build failed: {}",
        String::from_utf8_lossy(&build.stderr)
    );

    let ports = compose_port_base().expect("a free host port prefix");
    let base = ports.base.clone();
    let project = Project {
        name: format!("rgtest{}", std::process::id()),
        env: vec![
            ("RAFTGATE_IMAGE".into(), image.clone()),
            ("RAFTGATE_PORT_BASE".into(), base.clone()),
        ],
    };
    let up = project.compose(&["up", "-d"]);
    assert!(
        up.status.success(),
        "compose up failed: {}",
        String::from_utf8_lossy(&up.stderr)
    );

    let grpc = |n: u64| format!("http://127.0.0.1:{base}700{n}");
    let web = |n: u64| format!("http://127.0.0.1:{base}808{n}");
    let leader = wait_for(
        "a leader in the compose cluster",
        Duration::from_secs(60),
        || {
            let urls: Vec<String> = (1..=3).map(grpc).collect();
            async move {
                let mut leader = None;
                for url in &urls {
                    let info = node_info(url).await?;
                    if info.cluster_id.is_empty() {
                        return None;
                    }
                    leader = Some(info.leader_id?);
                }
                leader
            }
        },
    )
    .await;

    // A route from the host through raftgatectl: each node's web entrypoint forwards to the
    // other nodes' ops endpoints (the only HTTP servers in the image), which answer "OK".
    let ctl = bin_dir.join("raftgatectl");
    let endpoints = (1..=3).map(grpc).collect::<Vec<_>>().join(",");
    let run_ctl = |args: &[&str]| {
        let out = Command::new(&ctl)
            .arg("--endpoints")
            .arg(&endpoints)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "raftgatectl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    if ctl.exists() {
        run_ctl(&[
            "service",
            "create",
            "ops",
            "--server",
            "http://node1:9000",
            "--server",
            "http://node2:9000",
            "--server",
            "http://node3:9000",
        ]);
        run_ctl(&[
            "router",
            "create",
            "ping",
            "--rule",
            "Path(`/ping`)",
            "--service",
            "ops",
        ]);
    } else {
        let ops = object(
            raftgate_proto::Kind::Service,
            "ops",
            serde_json::json!({"loadBalancer": {"servers": [{"url": "http://node1:9000"}, {"url": "http://node2:9000"}, {"url": "http://node3:9000"}]}}),
        );
        create(&grpc(leader), ops).await.unwrap();
        create(&grpc(leader), router("ping", "Path(`/ping`)", "ops"))
            .await
            .unwrap();
    }
    for n in 1..=3 {
        let url = format!("{}/ping", web(n));
        let body = body_when_ok(&url, &format!("node {n} to route /ping")).await;
        assert_eq!(body, "OK");
    }

    // Stop the leader's container: the other two elect a leader and keep routing.
    let stopped = Command::new("docker")
        .args([
            "stop",
            "-t",
            "2",
            &format!("{}_node{leader}_1", project.name),
        ])
        .output()
        .unwrap();
    assert!(
        stopped.status.success(),
        "{}",
        String::from_utf8_lossy(&stopped.stderr)
    );
    let others: Vec<u64> = (1..=3).filter(|n| *n != leader).collect();
    let new_leader = wait_for(
        "a new leader after the leader's container stopped",
        Duration::from_secs(30),
        || {
            let urls: Vec<String> = others.iter().map(|n| grpc(*n)).collect();
            async move {
                let a = node_info(&urls[0]).await?.leader_id?;
                let b = node_info(&urls[1]).await?.leader_id?;
                (a == b && a != leader).then_some(a)
            }
        },
    )
    .await;
    assert!(others.contains(&new_leader));
    for n in &others {
        let url = format!("{}/ping", web(*n));
        // The stopped node's server may still be tried once before it is marked down.
        let body = body_when_ok(&url, &format!("node {n} to keep routing")).await;
        assert_eq!(body, "OK");
    }
    drop(project);
    let _ = Command::new("docker").args(["rmi", "-f", &image]).output();
}
