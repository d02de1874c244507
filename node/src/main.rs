//! `raftgate`: starts one node and runs it until SIGINT or SIGTERM.

use anyhow::Context;
use clap::Parser;
use raftgate::config::{NodeArgs, NodeConfig};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                EnvFilter::new("info,openraft=warn,sled=warn,h2=warn,tower=warn")
            }),
        )
        .with_writer(std::io::stderr)
        .init();

    let config = NodeConfig::try_from(NodeArgs::parse())?;
    let node = raftgate::node::start(config)
        .await
        .context("cannot start node")?;
    wait_for_signal().await?;
    tracing::info!("shutting down");
    node.shutdown().await;
    Ok(())
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
