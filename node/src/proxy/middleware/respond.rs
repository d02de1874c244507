//! Answers a middleware gives by itself.

use http::{header, HeaderValue, Response, StatusCode};

use crate::proxy::body::{full, ProxyBody};

/// A response with `status` and its reason phrase as a plain-text body (what Traefik's
/// middlewares answer when they refuse a request).
pub fn status_response(status: StatusCode) -> Response<ProxyBody> {
    let mut resp = Response::new(full(status.canonical_reason().unwrap_or("")));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}
