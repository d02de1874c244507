//! `watch`: prints committed changes as they arrive, until Ctrl-C or the end of the stream.
//! The stream is opened with failover; once open it stays on that node, and an error on it
//! ends the command (run `watch --from <last revision>` to resume).

use anyhow::Result;
use raftgate_proto::WatchRequest;

use super::Ctx;
use crate::cli::{Output, WatchArgs};
use crate::conn::{CallError, Failure, Op};
use crate::output::{self, emit};

pub async fn run(ctx: &Ctx, args: WatchArgs) -> Result<()> {
    let req = WatchRequest {
        from_revision: args.from,
    };
    let (mut stream, endpoint) = ctx
        .conn
        .call(Op::Read, move |mut client| async move {
            client.watch(req).await
        })
        .await?;
    if ctx.output == Output::Table {
        emit(output::WATCH_HEADER)?;
    }
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    loop {
        tokio::select! {
            _ = &mut interrupted => return Ok(()),
            message = stream.message() => match message {
                Ok(Some(event)) => emit(&output::watch_event(ctx.output, &event)?)?,
                Ok(None) => return Ok(()),
                Err(status) => {
                    let failure = Failure::Status(status);
                    return Err(CallError { endpoint, failure, op: Op::Read }.into());
                }
            },
        }
    }
}
