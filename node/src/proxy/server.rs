//! Entrypoints: listeners that speak HTTP/1.1 and HTTP/2 (h2c, by prior knowledge) with
//! header-read timeouts, pass upgrades through, and drain in-flight requests on shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::drain::Drain;
use super::handler::{handle, Downstream, EntryPointContext};

/// Connection limits of an entrypoint.
#[derive(Debug, Clone)]
pub struct EntryPointTimeouts {
    /// Time allowed to read a request's headers (also bounds idle keep-alive waits).
    pub header_read: Duration,
    /// Time given to in-flight requests on shutdown.
    pub grace: Duration,
}

/// Serves an entrypoint until `stop` turns true, then drains for at most `grace`.
pub async fn serve(
    listener: TcpListener,
    ctx: Arc<EntryPointContext>,
    timeouts: EntryPointTimeouts,
    mut stop: watch::Receiver<bool>,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header_read)
        .keep_alive(true);
    builder.http2().timer(TokioTimer::new());
    let drain = Drain::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!(entrypoint = %ctx.name, error = %e, "accept failed");
                    continue;
                }
            },
            _ = stop.wait_for(|s| *s) => break,
        };
        let _ = stream.set_nodelay(true);
        let downstream = Arc::new(Downstream::new(ctx.clone(), peer));
        let service = service_fn(move |req| {
            let downstream = downstream.clone();
            async move { Ok::<_, std::convert::Infallible>(handle(downstream, req).await) }
        });
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let mut watch = drain.watch();
        tokio::spawn(async move {
            let mut conn = std::pin::pin!(conn);
            let served = std::future::poll_fn(|cx| {
                if watch.poll_drain(cx) {
                    conn.as_mut().graceful_shutdown();
                }
                conn.as_mut().poll(cx)
            });
            if let Err(e) = served.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(timeouts.grace, drain.drain())
        .await
        .is_err()
    {
        tracing::warn!(entrypoint = %ctx.name, "grace period over; closing remaining connections");
    }
}

/// Parses `name=addr`.
pub fn parse_entrypoint(s: &str) -> Result<(String, SocketAddr), String> {
    let (name, addr) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected NAME=ADDRESS, e.g. web=0.0.0.0:8080"))?;
    let name = name.trim();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "{s:?}: entrypoint names are letters, digits, '-' and '_'"
        ));
    }
    let addr = addr.trim().parse().map_err(|e| format!("{s:?}: {e}"))?;
    Ok((name.to_string(), addr))
}
