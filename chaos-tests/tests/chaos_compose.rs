//! Chaos on the docker compose deployment: the containers of
//! `deploy/compose/docker-compose.yml`, faults made with `docker kill` / `start`,
//! `docker pause` and `docker network disconnect`, the same workload and checks as the
//! process backend. Skipped, with a message, where no Docker engine runs.

use std::path::Path;

use raftgate_chaos::cluster::{docker_available, node_binary, ComposeCluster};
use raftgate_chaos::scenario::{self, RunConfig, Scenario};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compose_cluster_survives_kills_pauses_and_partitions() {
    if !docker_available() {
        eprintln!("SKIPPED: no Docker engine or docker-compose on this machine");
        return;
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repository root");
    let binary = node_binary();
    let bin_dir = binary.parent().expect("binary directory");
    for (scenario, seed) in [
        (Scenario::KillLeader, 21),
        (Scenario::PauseLeader, 22),
        (Scenario::IsolateLeader, 23),
        (Scenario::SplitTwoOne, 24),
    ] {
        let mut cluster = ComposeCluster::start(repo, bin_dir).expect("compose cluster starts");
        let report = scenario::run_with(&mut cluster, scenario, &RunConfig::quick(seed))
            .await
            .expect("scenario ran");
        eprintln!("compose {}", report.text());
        assert!(report.passed(), "{}", report.text());
        assert!(report.ops_checked > 0, "{}", report.text());
    }
}
