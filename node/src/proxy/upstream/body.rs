//! A server's response body. When it came over a pooled HTTP/1.1 connection, the body drives
//! that connection while it is read and puts it back in the pool once it has ended.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::uri::Authority;
use hyper::body::{Body, Frame, Incoming, SizeHint};

use super::conn::Http1Conn;
use super::pool::Pool;

/// The body of a response from a server.
#[derive(Debug)]
pub struct UpstreamBody {
    inner: Incoming,
    lease: Option<Lease>,
    ended: bool,
}

/// A pooled connection on loan to one response.
#[derive(Debug)]
pub(super) struct Lease {
    pub(super) conn: Http1Conn,
    pub(super) pool: Arc<Pool>,
    pub(super) server: Authority,
}

impl UpstreamBody {
    /// A body whose connection is driven elsewhere (its own task, or HTTP/2).
    pub(super) fn detached(inner: Incoming) -> Self {
        Self {
            inner,
            lease: None,
            ended: false,
        }
    }

    /// A body read from `lease`'s connection.
    pub(super) fn leased(inner: Incoming, lease: Lease) -> Self {
        Self {
            inner,
            lease: Some(lease),
            ended: false,
        }
    }
}

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = &mut *self;
        if let Some(lease) = &mut this.lease {
            // Ready means closed: what it read is in `inner` already.
            if lease.conn.poll_closed(cx).is_ready() {
                this.lease = None;
            }
        }
        let frame = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(None) = frame {
            this.ended = true;
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for UpstreamBody {
    fn drop(&mut self) {
        if let Some(lease) = self.lease.take() {
            // A body dropped before its end leaves the connection mid-message: it closes.
            if self.is_end_stream() {
                lease.pool.put(&lease.server, lease.conn);
            }
        }
    }
}
