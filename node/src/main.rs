//! `raftgate`: starts one node and runs it until SIGINT or SIGTERM.

use anyhow::Context;
use clap::Parser;
use raftgate::config::{NodeArgs, NodeConfig};
use tracing_subscriber::EnvFilter;

/// mimalloc: markedly cheaper than glibc's allocator for the proxy's many small,
/// short-lived allocations (headers, futures, buffers). Its stable v2 line: v3's aligned
/// path (which Rust's `GlobalAlloc` always takes) costs ~300 instructions per 8 KiB read
/// buffer, v2's a few dozen.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    // `raftgate healthcheck URL`: the container image's health probe.
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("healthcheck") {
        let url = argv
            .get(2)
            .map_or("http://127.0.0.1:9000/ping", String::as_str);
        return raftgate::ops::probe::check(url).map_err(anyhow::Error::msg);
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                EnvFilter::new("info,openraft=warn,sled=warn,h2=warn,tower=warn")
            }),
        )
        .with_writer(std::io::stderr)
        .init();

    let args = NodeArgs::parse();
    let runtime = match args.worker_threads {
        Some(1) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        Some(n) => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n.max(1))
            .enable_all()
            .build(),
        None => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
    }
    .context("cannot start the async runtime")?;
    let config = NodeConfig::try_from(args)?;
    runtime.block_on(async {
        let node = raftgate::node::start(config)
            .await
            .context("cannot start node")?;
        wait_for_signal().await?;
        tracing::info!("shutting down");
        node.shutdown().await;
        Ok(())
    })
}

async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    Ok(())
}
