//! Why the proxy could not serve a request, and the one place where that becomes a response.

use bytes::Bytes;
use http::{Response, StatusCode};

use super::body::{full, ProxyBody};

/// A request the proxy answers itself.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// No router matched.
    #[error("no router matches the request")]
    NotFound,
    /// The request is malformed or ambiguous.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The service has no healthy server.
    #[error("service {0:?} has no available server")]
    NoServer(String),
    /// The router cannot serve (its middlewares could not be compiled).
    #[error("{0}")]
    Unavailable(String),
    /// The upstream could not be reached.
    #[error("upstream {upstream}: {reason}")]
    Connect {
        /// The server URL.
        upstream: String,
        /// Why.
        reason: String,
    },
    /// The upstream did not answer in time.
    #[error("upstream {0} timed out")]
    Timeout(String),
    /// The request uses something the proxy does not implement (a transfer coding).
    #[error("not implemented: {0}")]
    NotImplemented(String),
}

impl ProxyError {
    /// The status code the client gets.
    pub fn status(&self) -> StatusCode {
        match self {
            ProxyError::NotFound => StatusCode::NOT_FOUND,
            ProxyError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ProxyError::NoServer(_) | ProxyError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ProxyError::Connect { .. } => StatusCode::BAD_GATEWAY,
            ProxyError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            ProxyError::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
        }
    }

    /// The response the client gets (Traefik's bodies: short plain text).
    pub fn into_response(self) -> Response<ProxyBody> {
        let status = self.status();
        let body: Bytes = match &self {
            ProxyError::NotFound => Bytes::from_static(b"404 page not found\n"),
            ProxyError::BadRequest(reason) => Bytes::from(format!("400 Bad Request: {reason}\n")),
            other => Bytes::from(format!(
                "{}\n",
                other.status().canonical_reason().unwrap_or("")
            )),
        };
        let mut resp = Response::new(full(body));
        *resp.status_mut() = status;
        resp.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        resp
    }
}

/// An error and its causes on one line (hyper's top-level messages say little).
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
