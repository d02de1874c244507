//! One chaos run: a three-node cluster, config clients and proxy traffic running, one fault
//! injected and healed, then the checks — every acknowledged write is there, the history is
//! linearizable, every node reaches the same state hash, nodes that stayed up kept proxying.

mod checks;
mod fault;

pub use fault::Scenario;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use raftgate_proto as pb;
use serde::Serialize;
use tokio::sync::watch;

use crate::backend::Backend;
use crate::cluster::{admin, wait_converged, wait_leader, Cluster, NodeId, ProcessCluster};
use crate::linearizability::{self, OpKind, Outcome};
use crate::workload::{self, ClientConfig, Clock, ProxyCounts};

/// How long the final reads may take, retries included.
const FINAL_READS: Duration = Duration::from_secs(15);

/// The `Host` the proxy traffic asks for.
const HOST: &str = "chaos.test";

/// How long each phase lasts, and the workload's shape.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Workload before the fault.
    pub warmup: Duration,
    /// How long the fault lasts.
    pub fault: Duration,
    /// Workload after healing.
    pub settle: Duration,
    /// Config clients.
    pub clients: usize,
    /// Keys they share.
    pub keys: usize,
    /// Seed of the workload (and of the relays).
    pub seed: u64,
}

impl RunConfig {
    /// The short run used in CI.
    pub fn quick(seed: u64) -> Self {
        Self {
            warmup: Duration::from_millis(800),
            fault: Duration::from_secs(3),
            settle: Duration::from_millis(1500),
            clients: 6,
            keys: 4,
            seed,
        }
    }
}

/// What one run measured and concluded.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The scenario.
    pub scenario: String,
    /// The seed.
    pub seed: u64,
    /// Time from the fault to a new leader, for faults that take the leader away.
    pub new_leader_ms: Option<u64>,
    /// Longest time after the fault with no write acknowledged.
    pub write_unavailable_ms: u64,
    /// Operations recorded, by outcome.
    pub ops_ok: usize,
    pub ops_failed: usize,
    pub ops_unknown: usize,
    /// Operations the linearizability checker examined.
    pub ops_checked: usize,
    /// Whether the history is linearizable.
    pub linearizable: bool,
    /// Acknowledged writes missing from the final state.
    pub lost_writes: usize,
    /// Whether every node ended at the same revision and state hash.
    pub converged: bool,
    /// Proxy requests per node, and which nodes the fault hit (killed or paused).
    pub proxy: BTreeMap<NodeId, ProxyCounts>,
    pub faulted_nodes: Vec<NodeId>,
    /// What went wrong; empty when the run passed.
    pub failures: Vec<String>,
}

impl Report {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    /// One line per figure.
    pub fn text(&self) -> String {
        let proxy: Vec<String> = self
            .proxy
            .iter()
            .map(|(id, c)| {
                let total = c.ok + c.errors;
                let rate = if total == 0 {
                    0.0
                } else {
                    c.errors as f64 * 100.0 / total as f64
                };
                let mark = if self.faulted_nodes.contains(id) {
                    "*"
                } else {
                    ""
                };
                format!("node{id}{mark} {}/{total} errors ({rate:.1}%)", c.errors)
            })
            .collect();
        format!(
            "{} (seed {}): {}\n  new leader: {}  write unavailability: {} ms\n  ops: {} ok, {} failed, {} unknown; {} checked, linearizable: {}, lost writes: {}, converged: {}\n  proxy: {}{}\n",
            self.scenario,
            self.seed,
            if self.passed() { "PASS" } else { "FAIL" },
            self.new_leader_ms
                .map_or("-".to_string(), |ms| format!("{ms} ms")),
            self.write_unavailable_ms,
            self.ops_ok,
            self.ops_failed,
            self.ops_unknown,
            self.ops_checked,
            self.linearizable,
            self.lost_writes,
            self.converged,
            proxy.join(", "),
            if self.failures.is_empty() {
                String::new()
            } else {
                format!("\n  failures: {}", self.failures.join("; "))
            }
        )
    }
}

/// Runs `scenario` on a fresh three-node cluster of processes.
pub async fn run(scenario: Scenario, config: &RunConfig) -> anyhow::Result<Report> {
    let mut cluster = ProcessCluster::start(3, &[]).await?;
    run_with(&mut cluster, scenario, config).await
}

/// Runs `scenario` on `cluster` (fresh, just started), printing the nodes' logs if it fails.
pub async fn run_with<C: Cluster>(
    cluster: &mut C,
    scenario: Scenario,
    config: &RunConfig,
) -> anyhow::Result<Report> {
    let all = cluster.ids();
    let result = run_on(cluster, scenario, config, &all).await;
    if result.as_ref().map_or(true, |r| !r.passed()) {
        for id in cluster.ids() {
            eprintln!("----- node {id} log -----\n{}", cluster.log_tail(id, 30));
        }
    }
    result
}

async fn run_on<C: Cluster>(
    cluster: &mut C,
    scenario: Scenario,
    config: &RunConfig,
    all: &[NodeId],
) -> anyhow::Result<Report> {
    let (leader, _) = wait_leader(cluster, all, Duration::from_secs(60))
        .await
        .ok_or_else(|| anyhow::anyhow!("no leader after start"))?;
    progress(scenario, &format!("leader is node {leader}"));
    // A loopback backend, kept alive for the run, unless the cluster names its own target.
    let (target, _backend) = match cluster.route_target() {
        Some(url) => (url, None),
        None => {
            let backend = Backend::start().await?;
            (backend.url(), Some(backend))
        }
    };
    route_to(cluster, leader, &target).await?;
    checks::wait_proxying(cluster, all, HOST).await?;

    progress(scenario, "every node proxies; starting the workload");
    let clock = Clock::start();
    let (stop_tx, stop_rx) = watch::channel(false);
    let targets: Vec<(NodeId, String)> = all.iter().map(|id| (*id, cluster.url(*id))).collect();
    let clients = tokio::spawn(workload::run_clients(
        targets,
        ClientConfig {
            clients: config.clients,
            keys: config.keys,
            op_timeout: Duration::from_secs(3),
            seed: config.seed,
            pace: Duration::from_millis(10),
            backoff: Duration::from_millis(50),
        },
        clock,
        stop_rx.clone(),
    ));
    let load = tokio::spawn(workload::run_proxy_load(
        cluster.web_addrs(),
        HOST,
        Duration::from_millis(10),
        stop_rx,
    ));

    tokio::time::sleep(config.warmup).await;
    let fault_at = clock.now();
    let injected = fault::inject(cluster, scenario, leader).await?;
    progress(scenario, &format!("fault injected: {injected:?}"));
    let new_leader_ms = match injected.watch_leader {
        Some(ref survivors) => wait_leader(cluster, survivors, Duration::from_secs(10))
            .await
            .filter(|(l, _)| *l != leader)
            .map(|_| (clock.now() - fault_at) / 1_000_000),
        None => None,
    };
    let elapsed = Duration::from_nanos(clock.now() - fault_at);
    tokio::time::sleep(config.fault.saturating_sub(elapsed)).await;
    fault::heal(cluster, scenario, &injected).await?;
    progress(scenario, "healed");
    tokio::time::sleep(config.settle).await;
    let _ = stop_tx.send(true);
    let mut history = clients.await?;
    let proxy = load.await?;
    progress(
        scenario,
        &format!("workload stopped: {} operations", history.len()),
    );

    let members = injected.members_after.clone();
    let mut failures = Vec::new();
    let (leader_after, _) = wait_leader(cluster, &members, Duration::from_secs(30))
        .await
        .ok_or_else(|| anyhow::anyhow!("no leader after healing"))?;
    let converged = wait_converged(cluster, &members, Duration::from_secs(30)).await;
    if let Err(e) = &converged {
        failures.push(e.clone());
    }
    // Final linearizable reads of every key close the history. A read changes nothing, so
    // like any client the harness tries again (on the leader of the moment) when one fails,
    // say as a loaded machine times out a leadership confirmation; every attempt goes into
    // the history.
    let read_config = ClientConfig {
        clients: 1,
        keys: config.keys,
        op_timeout: Duration::from_secs(5),
        seed: 0,
        pace: Duration::ZERO,
        backoff: Duration::ZERO,
    };
    let mut finals = BTreeMap::new();
    let reads_until = Instant::now() + FINAL_READS;
    for key in 0..config.keys {
        let mut leader = leader_after;
        loop {
            let op = workload::one_op(
                &cluster.url(leader),
                u64::MAX,
                key,
                OpKind::Read,
                &read_config,
                clock,
            )
            .await;
            let outcome = op.outcome.clone();
            let name = op.key.clone();
            history.push(op);
            match outcome {
                Outcome::Ok(value) => {
                    finals.insert(name, value);
                    break;
                }
                other if Instant::now() > reads_until => {
                    failures.push(format!("final read of {name} was {other:?}"));
                    break;
                }
                _ => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    let left = reads_until.saturating_duration_since(Instant::now());
                    if let Some((now, _)) = wait_leader(cluster, &members, left).await {
                        leader = now;
                    }
                }
            }
        }
    }

    let verdict = linearizability::check(&history);
    if !verdict.linearizable {
        failures.push(format!(
            "history not linearizable: {}",
            verdict.explanation.clone().unwrap_or_default()
        ));
    }
    let lost = checks::lost_writes(&history, &finals);
    if lost > 0 {
        failures.push(format!("{lost} acknowledged write(s) lost"));
    }
    for (id, counts) in &proxy {
        if !injected.faulted.contains(id) && counts.errors > 0 {
            failures.push(format!(
                "node {id} was not faulted but its proxy failed {} request(s)",
                counts.errors
            ));
        }
    }
    let count = |f: fn(&Outcome) -> bool| history.iter().filter(|o| f(&o.outcome)).count();
    Ok(Report {
        scenario: scenario.name().to_string(),
        seed: config.seed,
        new_leader_ms,
        write_unavailable_ms: checks::write_gap_ms(&history, fault_at, clock.now()),
        ops_ok: count(|o| matches!(o, Outcome::Ok(_))),
        ops_failed: count(|o| matches!(o, Outcome::Fail)),
        ops_unknown: count(|o| matches!(o, Outcome::Unknown)),
        ops_checked: verdict.operations_checked,
        linearizable: verdict.linearizable,
        lost_writes: lost,
        converged: converged.is_ok(),
        proxy,
        faulted_nodes: injected.faulted.clone(),
        failures,
    })
}

fn progress(scenario: Scenario, what: &str) {
    eprintln!("[chaos {}] {what}", scenario.name());
}

/// Creates the service and router the proxy traffic uses, through `leader`.
async fn route_to<C: Cluster>(cluster: &C, leader: NodeId, backend: &str) -> anyhow::Result<()> {
    let object = |kind: pb::Kind, name: &str, spec: serde_json::Value| pb::Object {
        kind: kind as i32,
        name: name.to_string(),
        spec_json: serde_json::to_vec(&spec).unwrap_or_default(),
        managed_by: "chaos".into(),
        ..Default::default()
    };
    let req = pb::ApplyRequest {
        puts: vec![
            object(
                pb::Kind::Service,
                "chaos",
                serde_json::json!({"loadBalancer": {"servers": [{"url": backend}]}}),
            ),
            object(
                pb::Kind::Router,
                "chaos",
                serde_json::json!({"rule": format!("Host(`{HOST}`)"), "service": "chaos"}),
            ),
        ],
        ..Default::default()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match admin(&cluster.url(leader))?.apply(req.clone()).await {
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() > deadline => anyhow::bail!("creating the route: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}
