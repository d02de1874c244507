//! `raftgatectl`: the command-line client of a raftgate cluster. It parses the command line,
//! runs the command against the cluster's gRPC admin API, and turns a failure into one line on
//! stderr and an exit code (see `error`): 1 refused by the server, 2 usage, 3 unreachable,
//! 4 timed out with an unknown outcome.

#![forbid(unsafe_code)]

mod cli;
mod commands;
mod conn;
mod error;
mod manifest;
mod output;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Usage errors print clap's help and exit with 2.
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(error::EXIT_REFUSED);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        // `raftgatectl watch | head`: the reader left, nothing to report.
        Err(err) if error::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            let (message, code) = error::report(&err);
            for line in message.lines() {
                eprintln!("error: {line}");
            }
            ExitCode::from(code)
        }
    }
}
