//! One keep-alive HTTP/1.1 connection to a server.
//!
//! The connection has no task of its own: whichever request holds it polls it — while waiting
//! for the response head, then from the response body until the body ends. Idle in the pool,
//! nobody polls it; it is checked once, without blocking, when taken out again.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use http::uri::Authority;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::proxy::body::ProxyBody;

/// TCP keep-alive probes start after this long without traffic.
const TCP_KEEPALIVE: Duration = Duration::from_secs(60);

/// An HTTP/1.1 client connection and the handle that sends requests on it.
pub struct Http1Conn {
    pub(super) sender: http1::SendRequest<ProxyBody>,
    /// Boxed: the connection moves in and out of the pool and bodies on every request.
    conn: Pin<Box<http1::Connection<TokioIo<TcpStream>, ProxyBody>>>,
    closed: bool,
    /// When it was last put back in the pool.
    pub(super) idle_since: Instant,
}

impl std::fmt::Debug for Http1Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http1Conn")
            .field("closed", &self.closed)
            .field("idle_since", &self.idle_since)
            .finish_non_exhaustive()
    }
}

impl Http1Conn {
    /// Connects to `authority` (an IP literal, or a name resolved here) within `timeout`.
    pub async fn dial(authority: &Authority, timeout: Duration) -> io::Result<Self> {
        let stream = connect_within(authority, timeout).await?;
        let (sender, conn) = http1::Builder::new()
            .handshake(TokioIo::new(stream))
            .await
            .map_err(io::Error::other)?;
        Ok(Self {
            sender,
            conn: Box::pin(conn),
            closed: false,
            idle_since: Instant::now(),
        })
    }

    /// Moves the connection along (writes the request, reads the response). `Ready` once it
    /// has closed, for good: the server hung up, an error, or `Connection: close`.
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if !self.closed {
            match self.conn.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(result) => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "upstream connection failed");
                    }
                    self.closed = true;
                }
            }
        }
        Poll::Ready(())
    }

    /// Whether the connection, not closed when last polled, asks for its next request: known
    /// without polling it.
    pub fn is_waiting(&self) -> bool {
        !self.closed && self.sender.is_ready()
    }

    /// Whether a request can be sent right now. Polls without registering for a wake-up, so a
    /// connection that is not both open and idle at once is not worth keeping.
    pub fn is_ready_now(&mut self) -> bool {
        let mut cx = Context::from_waker(Waker::noop());
        self.poll_closed(&mut cx).is_pending()
            && matches!(self.sender.poll_ready(&mut cx), Poll::Ready(Ok(())))
    }
}

/// Opens a TCP connection to `authority` within `timeout`, with `TCP_NODELAY` and keep-alive
/// probes.
pub async fn connect_within(authority: &Authority, timeout: Duration) -> io::Result<TcpStream> {
    let stream = tokio::time::timeout(timeout, connect(authority))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "dial timed out"))??;
    stream.set_nodelay(true)?;
    let keepalive = socket2::TcpKeepalive::new().with_time(TCP_KEEPALIVE);
    socket2::SockRef::from(&stream).set_tcp_keepalive(&keepalive)?;
    Ok(stream)
}

/// Opens a TCP connection to `authority`, trying each resolved address in turn.
async fn connect(authority: &Authority) -> io::Result<TcpStream> {
    let port = authority.port_u16().unwrap_or(80);
    let host = authority.host();
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = literal.parse::<IpAddr>() {
        return TcpStream::connect(SocketAddr::new(ip, port)).await;
    }
    let mut last = io::Error::new(io::ErrorKind::NotFound, format!("{host}: no address"));
    for addr in tokio::net::lookup_host((host, port)).await? {
        match TcpStream::connect(addr).await {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e,
        }
    }
    Err(last)
}
