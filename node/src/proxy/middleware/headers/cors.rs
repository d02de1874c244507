//! The CORS half of `headers`, as Traefik v3 does it:
//!
//! - a preflight (`OPTIONS` with both `Origin` and `Access-Control-Request-Method`) is
//!   answered `200` with an empty body by the proxy: `Access-Control-Allow-Credentials:
//!   true` (if set), `-Allow-Headers` and `-Allow-Methods` (the lists joined by `,`),
//!   `-Allow-Origin` (if the origin is allowed) and `-Max-Age` (always; `0` by default);
//! - other responses get `Access-Control-Allow-Origin` when the request's origin is
//!   allowed, and `-Allow-Credentials` / `-Expose-Headers` when configured, plus
//!   `Vary: Origin` (appended to the backend's `Vary`) with `addVaryHeader`.
//!
//! An origin is allowed when `accessControlAllowOriginList` holds `*` or the origin itself
//! (the list entry is sent back, so `*` answers `*`), or when one of
//! `accessControlAllowOriginListRegex` matches it (the origin is sent back). Like Traefik, a
//! `*` entry also allows requests that carry no `Origin`.

use http::{header, HeaderMap, HeaderValue, Method, Request, Response};
use regex::Regex;

use super::value;
use crate::proxy::body::{empty, ProxyBody};

/// The compiled CORS options.
pub(super) struct Cors {
    allow_credentials: bool,
    allow_headers: Option<HeaderValue>,
    allow_methods: Option<HeaderValue>,
    origins: Vec<String>,
    origin_regexes: Vec<Regex>,
    expose_headers: Option<HeaderValue>,
    max_age: HeaderValue,
    add_vary: bool,
}

/// Whether `req` is a CORS preflight.
pub(super) fn is_preflight<B>(req: &Request<B>) -> bool {
    req.method() == Method::OPTIONS
        && req
            .headers()
            .get(header::ORIGIN)
            .is_some_and(|v| !v.is_empty())
        && req
            .headers()
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)
            .is_some_and(|v| !v.is_empty())
}

fn joined(key: &str, list: &[String]) -> Result<Option<HeaderValue>, String> {
    if list.is_empty() {
        Ok(None)
    } else {
        value(key, &list.join(",")).map(Some)
    }
}

impl Cors {
    /// Compiles the CORS options, or `None` when none is set.
    pub(super) fn new(c: &raftgate_model::Headers) -> Result<Option<Self>, String> {
        let max_age = c.access_control_max_age.unwrap_or(0);
        let defined = c.access_control_allow_credentials
            || !c.access_control_allow_headers.is_empty()
            || !c.access_control_allow_methods.is_empty()
            || !c.access_control_allow_origin_list.is_empty()
            || !c.access_control_allow_origin_list_regex.is_empty()
            || !c.access_control_expose_headers.is_empty()
            || max_age != 0
            || c.add_vary_header;
        if !defined {
            return Ok(None);
        }
        Ok(Some(Self {
            allow_credentials: c.access_control_allow_credentials,
            allow_headers: joined("accessControlAllowHeaders", &c.access_control_allow_headers)?,
            allow_methods: joined("accessControlAllowMethods", &c.access_control_allow_methods)?,
            origins: c.access_control_allow_origin_list.clone(),
            origin_regexes: c
                .access_control_allow_origin_list_regex
                .iter()
                .map(|r| {
                    Regex::new(r)
                        .map_err(|e| format!("accessControlAllowOriginListRegex {r:?}: {e}"))
                })
                .collect::<Result<_, _>>()?,
            expose_headers: joined(
                "accessControlExposeHeaders",
                &c.access_control_expose_headers,
            )?,
            max_age: HeaderValue::from(max_age),
            add_vary: c.add_vary_header,
        }))
    }

    /// The `Access-Control-Allow-Origin` value for a request from `origin` (absent: empty).
    fn allowed_origin(&self, origin: Option<&HeaderValue>) -> Option<HeaderValue> {
        let origin = origin.map(HeaderValue::as_bytes).unwrap_or_default();
        if let Some(item) = self
            .origins
            .iter()
            .find(|o| *o == "*" || o.as_bytes() == origin)
        {
            return HeaderValue::from_str(item).ok();
        }
        let text = std::str::from_utf8(origin).ok()?;
        self.origin_regexes
            .iter()
            .any(|re| re.is_match(text))
            .then(|| HeaderValue::from_bytes(origin).ok())
            .flatten()
    }

    /// The proxy's answer to a preflight with these request headers.
    pub(super) fn preflight(&self, request: &HeaderMap) -> Response<ProxyBody> {
        let mut resp = Response::new(empty());
        let headers = resp.headers_mut();
        if self.allow_credentials {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        if let Some(v) = &self.allow_headers {
            headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v.clone());
        }
        if let Some(v) = &self.allow_methods {
            headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, v.clone());
        }
        if let Some(v) = self.allowed_origin(request.get(header::ORIGIN)) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        }
        headers.insert(header::ACCESS_CONTROL_MAX_AGE, self.max_age.clone());
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
        resp
    }

    /// Adds the CORS headers to a response to a request from `origin`.
    pub(super) fn response(&self, origin: Option<&HeaderValue>, headers: &mut HeaderMap) {
        if let Some(v) = self.allowed_origin(origin) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        }
        if self.allow_credentials {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        if let Some(v) = &self.expose_headers {
            headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, v.clone());
        }
        if self.add_vary {
            add_vary_origin(headers);
        }
    }
}

/// Appends `Origin` to `Vary` (Traefik: unless `Vary` is exactly `Origin` already).
pub(super) fn add_vary_origin(headers: &mut HeaderMap) {
    let vary = match headers.get(header::VARY) {
        None => HeaderValue::from_static("Origin"),
        Some(v) if v.as_bytes().is_empty() => HeaderValue::from_static("Origin"),
        Some(v) if v.as_bytes() == b"Origin" => return,
        Some(v) => {
            let mut joined = v.as_bytes().to_vec();
            joined.extend_from_slice(b",Origin");
            match HeaderValue::from_bytes(&joined) {
                Ok(v) => v,
                Err(_) => return,
            }
        }
    };
    headers.insert(header::VARY, vary);
}
