//! The `contentType` middleware, with Traefik v3's semantics.
//!
//! Traefik v3 never invents a `Content-Type` by default: a response without one reaches the
//! client without one. Our proxy behaves the same way everywhere (hyper adds none), with or
//! without this middleware. Adding the middleware turns detection on for its routers:
//! when the backend sent no `Content-Type`, the media type is sniffed from the first bytes
//! of the body ([`sniff`], Go's `http.DetectContentType`) and set. `autoDetect: false`
//! (deprecated in Traefik v3) keeps detection off, so the middleware does nothing;
//! `autoDetect: true` or no option turns it on.
//!
//! Only the first data frame of the body is awaited and inspected (Go sniffs the first
//! write, up to 512 bytes); it is then replayed in front of the rest, which streams on.
//! Choices where Go differs: a body with no data at all (an empty `200`, a `HEAD`) gets no
//! type, where Go would say `text/plain`; like Go, responses with a `Content-Encoding` or
//! a status that has no body (1xx, 204, 304) are not sniffed.

mod replay;
pub mod sniff;

use futures::future::BoxFuture;
use http::{header, HeaderValue, Request, Response, StatusCode};
use http_body_util::BodyExt;

use super::{Middleware, Next, ProxyResult};
use crate::proxy::body::ProxyBody;
use replay::Replay;

/// `contentType`.
pub struct ContentType {
    detect: bool,
}

impl ContentType {
    /// Compiles the config: detection unless `autoDetect` is `false`.
    pub fn new(config: &raftgate_model::ContentType) -> Self {
        Self {
            detect: config.auto_detect.unwrap_or(true),
        }
    }
}

fn body_allowed(status: StatusCode) -> bool {
    !(status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED)
}

/// Sets a sniffed `Content-Type` on `resp` if it has none, awaiting its first data frame.
async fn detect(resp: Response<ProxyBody>) -> Response<ProxyBody> {
    let headers = resp.headers();
    if headers.contains_key(header::CONTENT_TYPE)
        || headers
            .get(header::CONTENT_ENCODING)
            .is_some_and(|v| !v.is_empty())
        || !body_allowed(resp.status())
    {
        return resp;
    }
    let (mut parts, mut body) = resp.into_parts();
    let first = loop {
        match body.frame().await {
            Some(Ok(frame)) if frame.data_ref().is_some_and(|d| d.is_empty()) => continue,
            other => break other,
        }
    };
    if let Some(data) = first
        .as_ref()
        .and_then(|f| f.as_ref().ok())
        .and_then(|f| f.data_ref())
    {
        let media_type = sniff::detect(data);
        tracing::trace!(media_type, "content type detected");
        parts
            .headers
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    }
    Response::from_parts(parts, Replay::new(first, body).boxed())
}

impl Middleware for ContentType {
    fn handle<'a>(&'a self, req: Request<ProxyBody>, next: Next<'a>) -> BoxFuture<'a, ProxyResult> {
        Box::pin(async move {
            let resp = next.run(req).await?;
            if !self.detect {
                return Ok(resp);
            }
            Ok(detect(resp).await)
        })
    }
}

#[cfg(test)]
mod tests;
