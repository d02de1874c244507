//! The body type the proxy passes around: a boxed stream of bytes, so request and response
//! bodies flow through unbuffered whatever produced them (a client, an upstream, the proxy).

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Body, Frame, SizeHint};

/// Any error a body can fail with.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A streamed body.
pub type ProxyBody = BoxBody<Bytes, BoxError>;

/// A body made of one chunk.
pub fn full(bytes: impl Into<Bytes>) -> ProxyBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// An empty body.
pub fn empty() -> ProxyBody {
    Empty::new().map_err(|never| match never {}).boxed()
}

/// A client's request body failed to read (a chunk size that is no number, the connection
/// lost mid-body): the proxy answers 400 rather than blame the server it was sending to.
#[derive(Debug, thiserror::Error)]
#[error("request body: {0}")]
pub struct ClientBodyError(#[source] hyper::Error);

/// A client's request body, its read errors marked as [`ClientBodyError`].
pub fn from_client(body: hyper::body::Incoming) -> ProxyBody {
    body.map_err(|e| BoxError::from(ClientBodyError(e))).boxed()
}

/// Whether `e` or one of its causes is a client body that failed to read.
pub fn client_body_error<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a ClientBodyError> {
    let mut next = Some(e);
    while let Some(e) = next {
        if let Some(found) = e.downcast_ref::<ClientBodyError>() {
            return Some(found);
        }
        next = e.source();
    }
    None
}

/// Boxes any body whose errors can be boxed.
pub fn boxed<B>(body: B) -> ProxyBody
where
    B: Body<Data = Bytes> + Send + Sync + 'static,
    B::Error: Into<BoxError>,
{
    body.map_err(Into::into).boxed()
}

/// A body that holds a value (an in-flight guard) until the body is finished or dropped.
pub struct Guarded<B, G> {
    inner: B,
    _guard: G,
}

impl<B, G> Guarded<B, G> {
    /// Wraps `inner`, keeping `guard` alive as long as it.
    pub fn new(inner: B, guard: G) -> Self {
        Self {
            inner,
            _guard: guard,
        }
    }
}

impl<B: Body + Unpin, G: Unpin> Body for Guarded<B, G> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
