//! Runs a parsed command line: one module per command group, each printing through `output`.

mod apply;
mod cluster;
mod object;
mod spec;
mod watch;

use anyhow::Result;

use raftgate_proto::Kind;

use crate::cli::{Cli, Command, Output};
use crate::conn::Conn;

/// What every command needs: the cluster and the output format.
#[derive(Debug)]
pub struct Ctx {
    pub conn: Conn,
    pub output: Output,
}

pub async fn run(cli: Cli) -> Result<()> {
    let ctx = Ctx {
        conn: Conn::new(cli.global.endpoints, cli.global.timeout),
        output: cli.global.output,
    };
    match cli.command {
        Command::Cluster(cmd) => cluster::run(&ctx, cmd).await,
        Command::Router(cmd) => object::router(&ctx, cmd).await,
        Command::Service(cmd) => object::service(&ctx, cmd).await,
        Command::Middleware(cmd) => object::from_spec(&ctx, Kind::Middleware, cmd).await,
        Command::ServersTransport(cmd) => {
            object::from_spec(&ctx, Kind::ServersTransport, cmd).await
        }
        Command::Get(args) => object::get(&ctx, args).await,
        Command::Apply(args) => apply::apply(&ctx, args).await,
        Command::Diff(args) => apply::diff(&ctx, args).await,
        Command::Watch(args) => watch::run(&ctx, args).await,
        Command::WaitApplied(args) => cluster::wait_applied(&ctx, args).await,
    }
}
