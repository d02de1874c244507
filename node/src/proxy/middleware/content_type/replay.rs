//! A body whose first frame was already read: that frame, then the rest as it streams.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};

use crate::proxy::body::{BoxError, ProxyBody};

/// A frame (or error) taken from a body, put back in front of what is left of it.
pub struct Replay {
    first: Option<Result<Frame<Bytes>, BoxError>>,
    rest: ProxyBody,
}

impl Replay {
    /// `first` (as `frame()` returned it; `None` at the end), then `rest`.
    pub fn new(first: Option<Result<Frame<Bytes>, BoxError>>, rest: ProxyBody) -> Self {
        Self { first, rest }
    }

    fn first_len(&self) -> u64 {
        match &self.first {
            Some(Ok(frame)) => frame.data_ref().map_or(0, |d| d.len() as u64),
            _ => 0,
        }
    }
}

impl Body for Replay {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.first.take() {
            Some(first) => Poll::Ready(Some(first)),
            None => Pin::new(&mut self.rest).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.first.is_none() && self.rest.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let rest = self.rest.size_hint();
        let first = self.first_len();
        let mut hint = SizeHint::new();
        hint.set_lower(rest.lower() + first);
        if let Some(upper) = rest.upper() {
            hint.set_upper(upper + first);
        }
        hint
    }
}
