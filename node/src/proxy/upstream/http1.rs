//! HTTP/1.1 to servers over raftgate's own keep-alive pool.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use http::uri::Authority;
use http::{Method, Request, Response};
use hyper::body::Body;
use hyper_util::rt::TokioIo;

use super::body::{Lease, UpstreamBody};
use super::conn::{connect_within, Http1Conn};
use super::pool::Pool;
use super::{connect_error, to_origin_form, within, UpstreamConfig};
use crate::proxy::body::{empty, ProxyBody};
use crate::proxy::error::ProxyError;

/// A request on a connection that had been idle this long is kept for one replay when it
/// is idempotent and bodiless: servers close idle keep-alive connections, and one closed just
/// as it is taken from the pool fails the request without the server having seen it. Below
/// this the copy is not worth its cost (the connection was in use a moment ago). Tests replay
/// always, so the replay path runs whatever the timing.
const REPLAY_AFTER_IDLE: Duration = if cfg!(test) {
    Duration::ZERO
} else {
    Duration::from_secs(1)
};

/// A copy of `req` to send again, if it is safe to: an idempotent method (RFC 9110 9.2.2)
/// and no body.
fn replayable(req: &Request<ProxyBody>) -> Option<Request<ProxyBody>> {
    let idempotent = matches!(
        *req.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    );
    if !idempotent || !req.body().is_end_stream() {
        return None;
    }
    let mut copy = Request::new(empty());
    *copy.method_mut() = req.method().clone();
    *copy.uri_mut() = req.uri().clone();
    *copy.version_mut() = req.version();
    *copy.headers_mut() = req.headers().clone();
    Some(copy)
}

/// The HTTP/1.1 side of an upstream client: its pool and limits. Cheap to clone, so each
/// request's future owns one.
#[derive(Clone)]
pub(super) struct Http1Client {
    pool: Arc<Pool>,
    dial_timeout: Duration,
    response_timeout: Option<Duration>,
}

impl Http1Client {
    pub(super) fn new(config: &UpstreamConfig) -> Self {
        Self {
            pool: Pool::new(config.max_idle_per_host, config.idle_timeout),
            dial_timeout: config.dial_timeout,
            response_timeout: config.response_timeout,
        }
    }

    /// Sends on an idle pooled connection, or a new one. A request the pooled connection
    /// turned out unable to take (closed meanwhile) is sent again on a new connection. The
    /// response timeout runs from when the request is handed to the connection.
    pub(super) async fn send(
        self,
        server: Authority,
        mut req: Request<ProxyBody>,
    ) -> Result<Response<UpstreamBody>, ProxyError> {
        to_origin_form(&mut req, &server);
        loop {
            let (mut conn, replay) = match self.pool.checkout(&server) {
                Some((conn, idle)) => {
                    let replay = (idle >= REPLAY_AFTER_IDLE)
                        .then(|| replayable(&req))
                        .flatten();
                    (conn, Some(replay))
                }
                None => (Box::pin(self.dial(&server)).await?, None),
            };
            let mut sent = pin!(conn.sender.try_send_request(req));
            let mut deadline = pin!(self.response_timeout.map(tokio::time::sleep));
            let answered = std::future::poll_fn(|cx| {
                // The response arrives through the connection: drive it while waiting.
                let _ = conn.poll_closed(cx);
                if let Poll::Ready(result) = sent.as_mut().poll(cx) {
                    return Poll::Ready(Some(result));
                }
                match deadline.as_mut().as_pin_mut() {
                    Some(deadline) => deadline.poll(cx).map(|()| None),
                    None => Poll::Pending,
                }
            })
            .await;
            let Some(result) = answered else {
                return Err(ProxyError::Timeout(server.to_string()));
            };
            match result {
                Ok(resp) => {
                    let lease = Lease {
                        conn,
                        pool: self.pool,
                        server,
                    };
                    return Ok(resp.map(|body| UpstreamBody::leased(body, lease)));
                }
                // A reused connection can have been closed by the server an instant before
                // it was taken: a request it never wrote goes again, and so does an
                // idempotent one without a body whose connection had been idle a while.
                Err(mut e) => match (e.take_message(), replay) {
                    (Some(unsent), Some(_)) => req = unsent,
                    (None, Some(Some(again))) => {
                        tracing::debug!(%server, error = %e.error(), "retrying on a new connection");
                        req = again;
                    }
                    _ => return Err(connect_error(&server, e.error())),
                },
            }
        }
    }

    /// Sends a protocol switch on a connection of its own, driven by its own task until the
    /// switch hands the socket over.
    pub(super) async fn send_upgrade(
        self,
        server: Authority,
        mut req: Request<ProxyBody>,
    ) -> Result<Response<UpstreamBody>, ProxyError> {
        to_origin_form(&mut req, &server);
        let stream = connect_within(&server, self.dial_timeout)
            .await
            .map_err(|e| connect_error(&server, &e))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| connect_error(&server, &e))?;
        tokio::spawn(async move {
            if let Err(e) = conn.with_upgrades().await {
                tracing::debug!(error = %e, "upgraded upstream connection failed");
            }
        });
        let resp = within(self.response_timeout, &server, sender.send_request(req))
            .await?
            .map_err(|e| connect_error(&server, &e))?;
        Ok(resp.map(UpstreamBody::detached))
    }

    async fn dial(&self, server: &Authority) -> Result<Http1Conn, ProxyError> {
        Http1Conn::dial(server, self.dial_timeout)
            .await
            .map_err(|e| connect_error(server, &e))
    }

    #[cfg(test)]
    pub(super) fn idle_connections(&self, server: &Authority) -> usize {
        self.pool.idle_count(server)
    }
}
