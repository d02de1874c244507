//! The full chaos suite: every scenario (or those named), for several rounds with different
//! seeds, printing each run's figures and writing them all to a JSON report.
//!
//! `cargo build --release -p raftgate -p raftgate-chaos && target/release/chaos --rounds 3 --report chaos-report.json`
//! (`--compose` runs on the docker compose deployment).

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use raftgate_chaos::cluster::{node_binary, ComposeCluster};
use raftgate_chaos::scenario::{self, RunConfig, Scenario};

/// Runs chaos scenarios against real three-node raftgate clusters on loopback.
#[derive(Debug, Parser)]
struct Args {
    /// Scenarios to run (repeatable; default: all).
    #[arg(long = "scenario", value_enum)]
    scenarios: Vec<Scenario>,
    /// Rounds of every scenario, each with its own seed.
    #[arg(long, default_value_t = 3)]
    rounds: u64,
    /// Seed of the first round.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// How long each fault lasts, in milliseconds.
    #[arg(long, default_value_t = 5_000)]
    fault_ms: u64,
    /// Workload before the fault, in milliseconds.
    #[arg(long, default_value_t = 2_000)]
    warmup_ms: u64,
    /// Workload after healing, in milliseconds.
    #[arg(long, default_value_t = 3_000)]
    settle_ms: u64,
    /// Concurrent config clients.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// Keys they share.
    #[arg(long, default_value_t = 6)]
    keys: usize,
    /// Run on the docker compose deployment instead of local processes (asymmetric-link
    /// and join-remove are not available there).
    #[arg(long)]
    compose: bool,
    /// Where to write the JSON report.
    #[arg(long, default_value = "chaos-report.json")]
    report: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let scenarios = if args.scenarios.is_empty() && args.compose {
        Scenario::ALL
            .into_iter()
            .filter(|s| !matches!(s, Scenario::AsymmetricLink | Scenario::JoinRemove))
            .collect()
    } else if args.scenarios.is_empty() {
        Scenario::ALL.to_vec()
    } else {
        args.scenarios.clone()
    };
    let mut reports = Vec::new();
    for round in 0..args.rounds {
        for scenario in &scenarios {
            let config = RunConfig {
                warmup: Duration::from_millis(args.warmup_ms),
                fault: Duration::from_millis(args.fault_ms),
                settle: Duration::from_millis(args.settle_ms),
                clients: args.clients,
                keys: args.keys,
                seed: args.seed + round,
            };
            let report = if args.compose {
                let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .parent()
                    .expect("repository root");
                let binary = node_binary();
                let bin_dir = binary.parent().expect("binary directory");
                let mut cluster = ComposeCluster::start(repo, bin_dir)?;
                scenario::run_with(&mut cluster, *scenario, &config).await?
            } else {
                scenario::run(*scenario, &config).await?
            };
            print!("{}", report.text());
            reports.push(report);
        }
    }
    std::fs::write(&args.report, serde_json::to_vec_pretty(&reports)?)?;
    let failed = reports.iter().filter(|r| !r.passed()).count();
    let leaders: Vec<u64> = reports.iter().filter_map(|r| r.new_leader_ms).collect();
    println!(
        "\n{} runs, {} failed; new leader after {} ms at most; {} operations checked; report in {}",
        reports.len(),
        failed,
        leaders.iter().max().copied().unwrap_or(0),
        reports.iter().map(|r| r.ops_checked).sum::<usize>(),
        args.report.display()
    );
    if failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}
