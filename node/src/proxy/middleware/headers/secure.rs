//! The security half of `headers` (Traefik delegates it to `unrolled/secure`):
//!
//! - `allowedHosts` (unless `isDevelopment`): the request's host, as sent (port included),
//!   or the first non-empty header of `hostsProxyHeaders`, must equal one of them ignoring
//!   case, else the proxy answers `500 Bad Host`;
//! - `Strict-Transport-Security: max-age=N[; includeSubDomains][; preload]` when
//!   `stsSeconds` is not 0 and the request came over HTTPS (the entrypoint's scheme, or a
//!   header of `sslProxyHeaders` with exactly its configured value) or `forceSTSHeader`,
//!   never with `isDevelopment`;
//! - `Public-Key-Pins` (`publicKey`) under the same HTTPS condition, never with
//!   `isDevelopment`;
//! - always: `X-Frame-Options` (`customFrameOptionsValue`, else `DENY` with `frameDeny`),
//!   `X-Content-Type-Options: nosniff`, `X-XSS-Protection` (`customBrowserXSSValue`, else
//!   `1; mode=block` with `browserXssFilter`), `Content-Security-Policy`(`-Report-Only`),
//!   `Referrer-Policy` and `Permissions-Policy`.
//!
//! These replace whatever the backend sent under the same names. Traefik v3 no longer
//! redirects to HTTPS here (that is `redirectScheme`), so neither do we.

use bytes::Bytes;
use http::{header, HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};

use super::{name, value};
use crate::proxy::body::{full, ProxyBody};
use crate::proxy::middleware::RequestCtx;

const PUBLIC_KEY_PINS: HeaderName = HeaderName::from_static("public-key-pins");
const PERMISSIONS_POLICY: HeaderName = HeaderName::from_static("permissions-policy");
const X_XSS_PROTECTION: HeaderName = HeaderName::from_static("x-xss-protection");

/// The compiled security options.
pub(super) struct Secure {
    allowed_hosts: Vec<String>,
    hosts_proxy_headers: Vec<HeaderName>,
    ssl_proxy_headers: Vec<(HeaderName, HeaderValue)>,
    /// `Strict-Transport-Security`, when `stsSeconds` is set (and not in development).
    sts: Option<HeaderValue>,
    force_sts: bool,
    /// `Public-Key-Pins`, HTTPS only (and not in development).
    public_key: Option<HeaderValue>,
    /// Headers added to every response.
    always: Vec<(HeaderName, HeaderValue)>,
}

/// A request whose host `allowedHosts` refuses.
pub(super) struct BadHost;

impl BadHost {
    /// Traefik's answer: `500` with `Bad Host`.
    pub(super) fn into_response(self) -> Response<ProxyBody> {
        let mut resp = Response::new(full(Bytes::from_static(b"Bad Host\n")));
        *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        resp
    }
}

/// What to add to one response.
pub(super) struct Plan<'a> {
    secure: &'a Secure,
    https: bool,
}

impl Plan<'_> {
    /// Sets the security headers on a response's headers.
    pub(super) fn apply(&self, headers: &mut HeaderMap) {
        for (name, value) in &self.secure.always {
            headers.insert(name.clone(), value.clone());
        }
        if self.https || self.secure.force_sts {
            if let Some(sts) = &self.secure.sts {
                headers.insert(header::STRICT_TRANSPORT_SECURITY, sts.clone());
            }
        }
        if self.https {
            if let Some(pins) = &self.secure.public_key {
                headers.insert(PUBLIC_KEY_PINS, pins.clone());
            }
        }
    }
}

fn non_empty(key: &str, v: &str) -> Result<Option<HeaderValue>, String> {
    if v.is_empty() {
        Ok(None)
    } else {
        value(key, v).map(Some)
    }
}

impl Secure {
    /// Compiles the security options, or `None` when none is set.
    pub(super) fn new(c: &raftgate_model::Headers) -> Result<Option<Self>, String> {
        let defined = !c.allowed_hosts.is_empty()
            || !c.hosts_proxy_headers.is_empty()
            || !c.ssl_proxy_headers.is_empty()
            || c.sts_seconds.is_some_and(|s| s != 0)
            || c.frame_deny
            || !c.custom_frame_options_value.is_empty()
            || c.content_type_nosniff
            || c.browser_xss_filter
            || !c.custom_browser_xss_value.is_empty()
            || !c.content_security_policy.is_empty()
            || !c.content_security_policy_report_only.is_empty()
            || !c.public_key.is_empty()
            || !c.referrer_policy.is_empty()
            || !c.permissions_policy.is_empty();
        if !defined {
            return Ok(None);
        }
        let dev = c.is_development;
        let sts = match c.sts_seconds {
            Some(secs) if secs != 0 && !dev => {
                let mut v = format!("max-age={secs}");
                if c.sts_include_subdomains {
                    v.push_str("; includeSubDomains");
                }
                if c.sts_preload {
                    v.push_str("; preload");
                }
                Some(value("stsSeconds", &v)?)
            }
            _ => None,
        };
        let mut always = Vec::new();
        let frame = if !c.custom_frame_options_value.is_empty() {
            non_empty("customFrameOptionsValue", &c.custom_frame_options_value)?
        } else {
            c.frame_deny.then(|| HeaderValue::from_static("DENY"))
        };
        let xss = if !c.custom_browser_xss_value.is_empty() {
            non_empty("customBrowserXSSValue", &c.custom_browser_xss_value)?
        } else {
            c.browser_xss_filter
                .then(|| HeaderValue::from_static("1; mode=block"))
        };
        let nosniff = c
            .content_type_nosniff
            .then(|| HeaderValue::from_static("nosniff"));
        for (name, v) in [
            (header::X_FRAME_OPTIONS, frame),
            (header::X_CONTENT_TYPE_OPTIONS, nosniff),
            (X_XSS_PROTECTION, xss),
            (
                header::CONTENT_SECURITY_POLICY,
                non_empty("contentSecurityPolicy", &c.content_security_policy)?,
            ),
            (
                header::CONTENT_SECURITY_POLICY_REPORT_ONLY,
                non_empty(
                    "contentSecurityPolicyReportOnly",
                    &c.content_security_policy_report_only,
                )?,
            ),
            (
                header::REFERRER_POLICY,
                non_empty("referrerPolicy", &c.referrer_policy)?,
            ),
            (
                PERMISSIONS_POLICY,
                non_empty("permissionsPolicy", &c.permissions_policy)?,
            ),
        ] {
            if let Some(v) = v {
                always.push((name, v));
            }
        }
        Ok(Some(Self {
            allowed_hosts: if dev {
                Vec::new()
            } else {
                c.allowed_hosts.clone()
            },
            hosts_proxy_headers: c
                .hosts_proxy_headers
                .iter()
                .map(|h| name("hostsProxyHeaders", h))
                .collect::<Result<_, _>>()?,
            ssl_proxy_headers: c
                .ssl_proxy_headers
                .iter()
                .map(|(n, v)| Ok((name("sslProxyHeaders", n)?, value("sslProxyHeaders", v)?)))
                .collect::<Result<_, String>>()?,
            sts,
            force_sts: c.force_sts_header,
            public_key: if dev {
                None
            } else {
                non_empty("publicKey", &c.public_key)?
            },
            always,
        }))
    }

    /// The host `allowedHosts` is checked against.
    fn host<'r>(&self, req: &'r Request<ProxyBody>) -> &'r [u8] {
        self.hosts_proxy_headers
            .iter()
            .filter_map(|h| req.headers().get(h))
            .map(HeaderValue::as_bytes)
            .find(|v| !v.is_empty())
            .or_else(|| req.headers().get(header::HOST).map(HeaderValue::as_bytes))
            .unwrap_or_default()
    }

    /// Whether the request came over HTTPS, directly or per `sslProxyHeaders`.
    fn is_https(&self, req: &Request<ProxyBody>, ctx: &RequestCtx) -> bool {
        ctx.scheme == "https"
            || self
                .ssl_proxy_headers
                .iter()
                .any(|(name, value)| req.headers().get(name) == Some(value))
    }

    /// Checks the request: the headers to add to its response, or why it is refused.
    pub(super) fn check(
        &self,
        req: &Request<ProxyBody>,
        ctx: &RequestCtx,
    ) -> Result<Plan<'_>, BadHost> {
        if !self.allowed_hosts.is_empty() {
            let host = self.host(req);
            if !self
                .allowed_hosts
                .iter()
                .any(|a| a.as_bytes().eq_ignore_ascii_case(host))
            {
                tracing::debug!(host = %String::from_utf8_lossy(host), "host not allowed");
                return Err(BadHost);
            }
        }
        Ok(Plan {
            secure: self,
            https: self.is_https(req, ctx),
        })
    }
}
