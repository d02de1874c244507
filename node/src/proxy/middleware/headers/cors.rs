//! The CORS half of `headers`, as current Traefik v3 does it:
//!
//! - a preflight (`OPTIONS` with both `Origin` and `Access-Control-Request-Method`) is
//!   answered `200` with an empty body by the proxy: `Access-Control-Allow-Credentials:
//!   true` (if set), `-Allow-Headers` and `-Allow-Methods` (the lists joined by `,`),
//!   `-Allow-Origin` (if the origin is allowed), `-Max-Age` (if configured, even `0`) and
//!   `-Expose-Headers` (if configured);
//! - other responses get `Access-Control-Allow-Origin` when the request's origin is
//!   allowed, and `-Allow-Credentials` / `-Expose-Headers` when configured, plus
//!   `Vary: Origin` (appended to the backend's `Vary`) with `addVaryHeader`.
//!
//! An origin is allowed when `accessControlAllowOriginList` holds it (sent back as is) or
//! `*` (sent back as `*`, or as the request's origin with credentials, since browsers refuse
//! a wildcard on credentialed requests), or when one of `accessControlAllowOriginListRegex`
//! matches it (the origin is sent back). Likewise with credentials, a `*` in the allowed
//! headers or methods answers the preflight's `Access-Control-Request-Headers` / `-Method`,
//! and a `*` in the exposed headers sends none. Where Traefik would send an empty
//! `Access-Control-Allow-Origin` (a `*` with credentials and no `Origin`), we send none.

use http::{header, HeaderMap, HeaderValue, Method, Request, Response};
use regex::Regex;

use super::value;
use crate::proxy::body::{empty, ProxyBody};

/// A configured list sent as one header, with whether it holds the wildcard `*`.
struct List {
    joined: HeaderValue,
    wildcard: bool,
}

/// The compiled CORS options.
pub(super) struct Cors {
    allow_credentials: bool,
    allow_headers: Option<List>,
    allow_methods: Option<List>,
    origins: Vec<String>,
    origin_regexes: Vec<Regex>,
    expose_headers: Option<List>,
    max_age: Option<HeaderValue>,
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

fn list(key: &str, items: &[String]) -> Result<Option<List>, String> {
    if items.is_empty() {
        return Ok(None);
    }
    Ok(Some(List {
        joined: value(key, &items.join(","))?,
        wildcard: items.iter().any(|i| i == "*"),
    }))
}

impl Cors {
    /// Compiles the CORS options, or `None` when none is set.
    pub(super) fn new(c: &raftgate_model::Headers) -> Result<Option<Self>, String> {
        let defined = c.access_control_allow_credentials
            || !c.access_control_allow_headers.is_empty()
            || !c.access_control_allow_methods.is_empty()
            || !c.access_control_allow_origin_list.is_empty()
            || !c.access_control_allow_origin_list_regex.is_empty()
            || !c.access_control_expose_headers.is_empty()
            || c.access_control_max_age.is_some()
            || c.add_vary_header;
        if !defined {
            return Ok(None);
        }
        Ok(Some(Self {
            allow_credentials: c.access_control_allow_credentials,
            allow_headers: list("accessControlAllowHeaders", &c.access_control_allow_headers)?,
            allow_methods: list("accessControlAllowMethods", &c.access_control_allow_methods)?,
            origins: c.access_control_allow_origin_list.clone(),
            origin_regexes: c
                .access_control_allow_origin_list_regex
                .iter()
                .map(|r| {
                    raftgate_model::regex::compile(r)
                        .map_err(|e| format!("accessControlAllowOriginListRegex {r:?}: {e}"))
                })
                .collect::<Result<_, _>>()?,
            expose_headers: list(
                "accessControlExposeHeaders",
                &c.access_control_expose_headers,
            )?,
            max_age: c.access_control_max_age.map(HeaderValue::from),
            add_vary: c.add_vary_header,
        }))
    }

    /// The `Access-Control-Allow-Origin` value for a request from `origin`, if allowed.
    fn allowed_origin(&self, origin: Option<&HeaderValue>) -> Option<HeaderValue> {
        let origin = origin.filter(|o| !o.is_empty());
        let bytes = origin.map(HeaderValue::as_bytes).unwrap_or_default();
        if let Some(item) = self
            .origins
            .iter()
            .find(|o| *o == "*" || o.as_bytes() == bytes)
        {
            if item == "*" && self.allow_credentials {
                return origin.cloned();
            }
            return HeaderValue::from_str(item).ok();
        }
        let text = std::str::from_utf8(bytes).ok()?;
        if self.origin_regexes.iter().any(|re| re.is_match(text)) {
            return origin.cloned();
        }
        None
    }

    /// The `Access-Control-Expose-Headers` to send, if any.
    fn exposed(&self) -> Option<&HeaderValue> {
        self.expose_headers
            .as_ref()
            .filter(|l| !(l.wildcard && self.allow_credentials))
            .map(|l| &l.joined)
    }

    /// What to answer for `list`: the list, or with credentials and a `*`, what was asked.
    fn echo<'a>(
        &self,
        list: &'a Option<List>,
        asked: Option<&'a HeaderValue>,
    ) -> Option<&'a HeaderValue> {
        let list = list.as_ref()?;
        if list.wildcard && self.allow_credentials {
            asked.filter(|v| !v.is_empty())
        } else {
            Some(&list.joined)
        }
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
        let asked_headers = request.get(header::ACCESS_CONTROL_REQUEST_HEADERS);
        if let Some(v) = self.echo(&self.allow_headers, asked_headers) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v.clone());
        }
        let asked_method = request.get(header::ACCESS_CONTROL_REQUEST_METHOD);
        if let Some(v) = self.echo(&self.allow_methods, asked_method) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, v.clone());
        }
        if let Some(v) = self.allowed_origin(request.get(header::ORIGIN)) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        }
        if let Some(v) = &self.max_age {
            headers.insert(header::ACCESS_CONTROL_MAX_AGE, v.clone());
        }
        if let Some(v) = self.exposed() {
            headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, v.clone());
        }
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
        if let Some(v) = self.exposed() {
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
