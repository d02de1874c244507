//! `grpcWeb`: serves gRPC-Web clients (browsers) from a gRPC backend, following Traefik v3
//! (which wraps improbable-eng's grpc-web handler):
//!
//! - a `POST` whose `Content-Type` starts with `application/grpc-web` is translated: the
//!   type becomes `application/grpc[+codec]`, `TE: trailers` is set and `Content-Length`
//!   dropped, and a `grpc-web-text` body is decoded from base64 as it streams. The router's
//!   service must speak gRPC, i.e. be an `h2c://` server; the request then goes out as
//!   HTTP/2;
//! - the answer's type becomes `application/grpc-web[-text][+codec]`, its messages pass
//!   through as they come (base64 for `-text`), and its HTTP/2 trailers are appended as a
//!   final frame flagged `0x80`. A trailers-only answer (status in the headers) also gets
//!   that frame, built from its `grpc-status`/`grpc-message` headers;
//! - CORS: an `OPTIONS` preflight asking for the `x-grpc-web` header is answered here (204).
//!   For an origin in `allowOrigins` (or any origin with `*`) the preflight allows `POST`,
//!   the requested headers, credentials, for 10 minutes; calls from such an origin get
//!   `Access-Control-Allow-Origin` (the origin itself, since credentials are allowed) and
//!   expose `grpc-status` and `grpc-message`. Other origins get no CORS headers;
//! - anything else passes through untouched.
//!
//! Not supported: the improbable websocket transport (Traefik does not enable it either).

mod frames;

use futures::future::BoxFuture;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;

use self::frames::{TextRequest, WebResponse};
use super::{Middleware, Next, ProxyResult};
use crate::proxy::body::{empty, ProxyBody};

const GRPC_WEB: &str = "application/grpc-web";
const GRPC_WEB_TEXT: &str = "application/grpc-web-text";
const GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");
const GRPC_MESSAGE: HeaderName = HeaderName::from_static("grpc-message");

/// Which origins may call.
#[derive(Debug, Clone)]
enum Origins {
    Any,
    Listed(Vec<String>),
}

/// The compiled `grpcWeb` middleware.
pub struct GrpcWeb {
    origins: Origins,
}

impl GrpcWeb {
    /// Compiles the config.
    pub fn new(config: &raftgate_model::GrpcWeb) -> Self {
        let origins = if config.allow_origins.iter().any(|o| o == "*") {
            Origins::Any
        } else {
            Origins::Listed(config.allow_origins.clone())
        };
        Self { origins }
    }

    /// The request's `Origin`, if it is allowed.
    fn allowed_origin<'r>(&self, headers: &'r HeaderMap) -> Option<&'r HeaderValue> {
        let origin = headers.get(header::ORIGIN)?;
        let ok = match &self.origins {
            Origins::Any => true,
            Origins::Listed(list) => list.iter().any(|o| o.as_bytes() == origin.as_bytes()),
        };
        ok.then_some(origin)
    }

    fn preflight(&self, headers: &HeaderMap) -> Response<ProxyBody> {
        let mut resp = Response::new(empty());
        *resp.status_mut() = StatusCode::NO_CONTENT;
        let h = resp.headers_mut();
        h.append(
            header::VARY,
            HeaderValue::from_static(
                "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
            ),
        );
        let method_ok = headers
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)
            .is_some_and(|m| m.as_bytes().eq_ignore_ascii_case(b"POST"));
        if let (Some(origin), true) = (self.allowed_origin(headers), method_ok) {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("POST"),
            );
            if let Some(asked) = headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
                h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
            }
            h.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
            h.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            );
        }
        resp
    }

    async fn call(&self, req: Request<ProxyBody>, web_type: String, next: Next<'_>) -> ProxyResult {
        let origin = self.allowed_origin(req.headers()).cloned();
        let text = web_type.starts_with(GRPC_WEB_TEXT);
        let codec = web_type
            .strip_prefix(if text { GRPC_WEB_TEXT } else { GRPC_WEB })
            .unwrap_or("");
        let (mut parts, body) = req.into_parts();
        let grpc_type = format!("application/grpc{codec}");
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(&grpc_type).map_err(|e| {
                crate::proxy::error::ProxyError::BadRequest(format!("content-type: {e}"))
            })?,
        );
        parts.headers.remove(header::CONTENT_LENGTH);
        parts
            .headers
            .insert(header::TE, HeaderValue::from_static("trailers"));
        let body = if text {
            TextRequest::new(body).boxed()
        } else {
            body
        };
        let resp = next.run(Request::from_parts(parts, body)).await?;
        let (mut parts, body) = resp.into_parts();
        if let Some(origin) = origin {
            let h = &mut parts.headers;
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            h.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
            h.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static("grpc-status, grpc-message"),
            );
            h.append(header::VARY, HeaderValue::from_static("Origin"));
        }
        let answer_codec = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("application/grpc"))
            .map(str::to_string);
        let Some(answer_codec) = answer_codec else {
            // Not a gRPC answer (the proxy's own 502, a misrouted request): as is.
            return Ok(Response::from_parts(parts, body));
        };
        let web = if text { GRPC_WEB_TEXT } else { GRPC_WEB };
        if let Ok(v) = HeaderValue::from_str(&format!("{web}{answer_codec}")) {
            parts.headers.insert(header::CONTENT_TYPE, v);
        }
        parts.headers.remove(header::CONTENT_LENGTH);
        let fallback = parts.headers.contains_key(GRPC_STATUS).then(|| {
            let mut t = HeaderMap::new();
            for name in [GRPC_STATUS, GRPC_MESSAGE] {
                if let Some(v) = parts.headers.get(&name) {
                    t.insert(name, v.clone());
                }
            }
            t
        });
        let body = WebResponse::new(body, text, fallback).boxed();
        Ok(Response::from_parts(parts, body))
    }
}

/// The request's gRPC-Web content type (lower-cased), if it is a gRPC-Web call.
fn grpc_web_type(req: &Request<ProxyBody>) -> Option<String> {
    if req.method() != Method::POST {
        return None;
    }
    let ct = req.headers().get(header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = ct.split(';').next()?.trim().to_ascii_lowercase();
    essence.starts_with(GRPC_WEB).then_some(essence)
}

/// Whether the request is a CORS preflight for a gRPC-Web call.
fn is_preflight(req: &Request<ProxyBody>) -> bool {
    req.method() == Method::OPTIONS
        && req
            .headers()
            .get_all(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.to_ascii_lowercase().contains("x-grpc-web"))
}

impl Middleware for GrpcWeb {
    fn handle<'a>(&'a self, req: Request<ProxyBody>, next: Next<'a>) -> BoxFuture<'a, ProxyResult> {
        Box::pin(async move {
            if let Some(web_type) = grpc_web_type(&req) {
                return self.call(req, web_type, next).await;
            }
            if is_preflight(&req) {
                return Ok(self.preflight(req.headers()));
            }
            next.run(req).await
        })
    }
}

#[cfg(test)]
mod tests;
