//! One relayed connection: dial the upstream, then pump bytes both ways through the fault.
//!
//! Each direction is a reader that decides per chunk (forward now, forward at a deadline, or
//! discard) and a writer that sleeps until each chunk's deadline before writing it; a bounded
//! queue between them keeps back-pressure while letting [`Fault::Delay`] add latency without
//! capping throughput. The connection ends when both directions reached EOF, one of them
//! failed, the relay was reset, or the fault became [`Fault::Refuse`].

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::{close_with_reset, Direction, Fault, Shared};

/// Largest chunk read (and judged by the fault) at once.
const CHUNK_SIZE: usize = 16 * 1024;
/// Chunks in flight per direction between reader and writer (matters under `Fault::Delay`).
const QUEUE_CHUNKS: usize = 64;

/// Why a relayed connection ended.
enum End {
    /// Both directions reached EOF and were shut down in order.
    Finished,
    /// A read or write failed.
    Failed(std::io::Error),
    /// `Relay::reset_connections` was called.
    Reset,
    /// The fault became `Fault::Refuse`.
    Refused,
}

/// Relays one accepted client to the upstream until the connection ends.
pub(super) async fn relay_connection(
    mut client: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    mut reset: watch::Receiver<u64>,
) {
    let _open = OpenGuard::new(&shared.counters.connections_open);
    let mut upstream = match TcpStream::connect(shared.upstream).await {
        Ok(upstream) => upstream,
        Err(error) => {
            tracing::debug!(%peer, upstream = %shared.upstream, %error, "relay could not dial upstream");
            shared
                .counters
                .upstream_connect_failures
                .fetch_add(1, Ordering::Relaxed);
            close_with_reset(client);
            return;
        }
    };
    // Small Raft messages should not wait for Nagle on top of any injected delay.
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);

    let mut fault = shared.fault.subscribe();
    let end = {
        let (client_read, client_write) = client.split();
        let (upstream_read, upstream_write) = upstream.split();
        let to_upstream = pump(client_read, upstream_write, Direction::ToUpstream, &shared);
        let to_client = pump(upstream_read, client_write, Direction::ToClient, &shared);
        tokio::select! {
            result = async { tokio::try_join!(to_upstream, to_client) } => match result {
                Ok(_) => End::Finished,
                Err(error) => End::Failed(error),
            },
            _ = reset.changed() => End::Reset,
            _ = fault.wait_for(|fault| *fault == Fault::Refuse) => End::Refused,
        }
    };
    match end {
        End::Finished => tracing::trace!(%peer, "relayed connection closed"),
        End::Failed(error) => {
            tracing::debug!(%peer, %error, "relayed connection failed; resetting both sides");
            close_with_reset(client);
            close_with_reset(upstream);
        }
        End::Reset | End::Refused => {
            close_with_reset(client);
            close_with_reset(upstream);
        }
    }
}

/// Copies `reader` to `writer` chunk by chunk, applying the fault in force when each chunk is
/// read. Returns after EOF has been forwarded as a shutdown of `writer`.
async fn pump<R, W>(
    mut reader: R,
    mut writer: W,
    direction: Direction,
    shared: &Shared,
) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let (queue, mut queued) = mpsc::channel::<(Instant, Vec<u8>)>(QUEUE_CHUNKS);
    let forwarded = match direction {
        Direction::ToUpstream => &shared.counters.bytes_to_upstream,
        Direction::ToClient => &shared.counters.bytes_to_client,
    };

    let read_side = async move {
        let mut fault = shared.fault.subscribe();
        let mut buf = vec![0u8; CHUNK_SIZE];
        loop {
            let n = reader.read(&mut buf).await?;
            if n == 0 {
                // A FIN is a packet too: hold it while this direction is silenced.
                let _ = fault.wait_for(|fault| !fault.silences(direction)).await;
                return Ok(()); // dropping `queue` makes the writer shut down after draining
            }
            let now = Instant::now();
            let deadline = match *fault.borrow_and_update() {
                Fault::None => Some(now),
                Fault::Delay { ms } => Some(now + Duration::from_millis(ms)),
                Fault::Drop { percent } if !shared.roll_drop(percent) => Some(now),
                Fault::OneWay(allowed) if allowed == direction => Some(now),
                Fault::Drop { .. } | Fault::OneWay(_) | Fault::Blackhole | Fault::Refuse => None,
            };
            match deadline {
                Some(deadline) => {
                    if queue.send((deadline, buf[..n].to_vec())).await.is_err() {
                        return Ok(()); // the writer failed and reports why
                    }
                }
                None => {
                    shared
                        .counters
                        .bytes_dropped
                        .fetch_add(n as u64, Ordering::Relaxed);
                }
            }
        }
    };
    let write_side = async move {
        while let Some((deadline, chunk)) = queued.recv().await {
            tokio::time::sleep_until(deadline).await;
            writer.write_all(&chunk).await?;
            forwarded.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        }
        writer.shutdown().await
    };
    tokio::try_join!(read_side, write_side).map(|_| ())
}

/// Counts a connection as open for as long as it lives (also when its task is aborted).
struct OpenGuard<'a>(&'a AtomicU64);

impl<'a> OpenGuard<'a> {
    fn new(open: &'a AtomicU64) -> Self {
        open.fetch_add(1, Ordering::Relaxed);
        OpenGuard(open)
    }
}

impl Drop for OpenGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
