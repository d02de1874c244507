//! Redirects: `redirectScheme` and `redirectRegex`, with Traefik v3's semantics.
//!
//! Both compute the URL the client asked for, `scheme://host[:port]/path?query` (the scheme
//! of the entrypoint; the host and port as the `Host` header carries them), and its rewrite.
//! When the rewrite differs, the proxy answers with `Location: <rewrite>` and the status
//! Traefik v3 uses: `302 Found` (`301 Moved Permanently` with `permanent`) for `GET`,
//! `307 Temporary Redirect` (`308 Permanent Redirect`) for every other method, so that the
//! method and body are kept. The body is the status text. When the rewrite is the same URL
//! (already on the target scheme and port), the request goes on to the service.
//!
//! `redirectScheme` also honours `X-Forwarded-Proto` (`http`/`ws` or `https`/`wss`; the
//! proxy sets it to the entrypoint's scheme, so only a middleware earlier in the chain can
//! change it), drops the scheme's default port from the compared URL, and keeps the host
//! while replacing the port with the configured one (none for `http` on 80 or `https` on
//! 443, or when no port is configured).
//!
//! Non-ASCII bytes of a rewrite are percent-encoded in `Location` (as Go's URL printing
//! does); a rewrite with control characters answers `500`, as Traefik does for a rewrite it
//! cannot parse (the model refuses such replacements when they are written).

use bytes::Bytes;
use futures::future::BoxFuture;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use regex::Regex;

use super::{answer, Middleware, Next, ProxyResult};
use crate::proxy::body::{full, ProxyBody};

const X_FORWARDED_PROTO: &str = "x-forwarded-proto";

/// The redirect answer for `method`, or a 500 if `location` cannot be a header value.
fn redirect(method: &Method, location: &str, permanent: bool) -> Response<ProxyBody> {
    let get = method == Method::GET;
    let status = match (permanent, get) {
        (false, true) => StatusCode::FOUND,
        (false, false) => StatusCode::TEMPORARY_REDIRECT,
        (true, true) => StatusCode::MOVED_PERMANENTLY,
        (true, false) => StatusCode::PERMANENT_REDIRECT,
    };
    let Ok(location) = HeaderValue::from_str(&encode_non_ascii(location)) else {
        tracing::debug!(location, "redirect target is not a valid header value");
        return plain(StatusCode::INTERNAL_SERVER_ERROR);
    };
    let mut resp = plain(status);
    resp.headers_mut().insert(header::LOCATION, location);
    resp
}

/// `s` with its non-ASCII bytes percent-encoded.
fn encode_non_ascii(s: &str) -> std::borrow::Cow<'_, str> {
    if s.is_ascii() {
        return s.into();
    }
    let mut out = String::with_capacity(s.len() + 16);
    for b in s.bytes() {
        if b.is_ascii() {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out.into()
}

/// A response with the status's text as its body.
fn plain(status: StatusCode) -> Response<ProxyBody> {
    let text = status.canonical_reason().unwrap_or_default();
    let mut resp = Response::new(full(Bytes::from(text)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// The request's `Host` header, or its URI's authority.
fn host<B>(req: &Request<B>) -> &str {
    req.headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
        .unwrap_or_default()
}

/// The path and query as the upstream will see them.
fn request_uri<B>(req: &Request<B>) -> &str {
    req.uri()
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/")
}

/// Splits `host[:port]` (`[v6]:port` too) into the host and `:port` (empty if none).
fn split_host_port(host: &str) -> (&str, &str) {
    match host.rfind(':') {
        Some(i)
            if host[i + 1..].bytes().all(|b| b.is_ascii_digit())
                && (!host.starts_with('[') || host[..i].ends_with(']'))
                && (host.starts_with('[') || !host[..i].contains(':')) =>
        {
            (&host[..i], &host[i..])
        }
        _ => (host, ""),
    }
}

/// `redirectScheme`: sends the client to the same URL on another scheme and port.
pub struct RedirectScheme {
    scheme: String,
    /// `:port`, or empty when the port is the scheme's default or unset.
    port: String,
    permanent: bool,
}

impl RedirectScheme {
    /// Compiles the config.
    pub fn new(config: &raftgate_model::RedirectScheme) -> Self {
        let default = matches!(
            (config.scheme.as_str(), config.port.as_str()),
            ("http", "80") | ("https", "443")
        );
        Self {
            scheme: config.scheme.clone(),
            port: if config.port.is_empty() || default {
                String::new()
            } else {
                format!(":{}", config.port)
            },
            permanent: config.permanent,
        }
    }

    /// The URL the client used, per Traefik's rules for this middleware, and its rewrite.
    fn urls<B>(&self, req: &Request<B>, scheme: &str) -> (String, String) {
        let mut scheme = scheme;
        if let Some(proto) = req
            .headers()
            .get(X_FORWARDED_PROTO)
            .and_then(|v| v.to_str().ok())
        {
            if proto.eq_ignore_ascii_case("http") || proto.eq_ignore_ascii_case("ws") {
                scheme = "http";
            } else if proto.eq_ignore_ascii_case("https") || proto.eq_ignore_ascii_case("wss") {
                scheme = "https";
            }
        }
        let (host, mut port) = split_host_port(host(req));
        if (scheme == "http" && port == ":80") || (scheme == "https" && port == ":443") {
            port = "";
        }
        let uri = request_uri(req);
        (
            format!("{scheme}://{host}{port}{uri}"),
            format!("{}://{host}{}{uri}", self.scheme, self.port),
        )
    }
}

impl Middleware for RedirectScheme {
    fn handle<'a>(&'a self, req: Request<ProxyBody>, next: Next<'a>) -> BoxFuture<'a, ProxyResult> {
        let (old, new) = self.urls(&req, next.ctx().scheme);
        if old == new {
            return next.run(req);
        }
        answer(redirect(req.method(), &new, self.permanent))
    }
}

/// `redirectRegex`: sends the client to its URL rewritten by a regex.
pub struct RedirectRegex {
    regex: Regex,
    replacement: String,
    permanent: bool,
}

impl RedirectRegex {
    /// Compiles the config.
    pub fn new(config: &raftgate_model::RedirectRegex) -> Result<Self, String> {
        Ok(Self {
            regex: raftgate_model::regex::compile(&config.regex)
                .map_err(|e| format!("regex: {e}"))?,
            replacement: config.replacement.clone(),
            permanent: config.permanent,
        })
    }

    /// The rewritten URL, if the regex matches `url` and the rewrite differs from it.
    fn rewrite(&self, url: &str) -> Option<String> {
        if !self.regex.is_match(url) {
            return None;
        }
        let new = self.regex.replace_all(url, self.replacement.as_str());
        (new != url).then(|| new.into_owned())
    }
}

impl Middleware for RedirectRegex {
    fn handle<'a>(&'a self, req: Request<ProxyBody>, next: Next<'a>) -> BoxFuture<'a, ProxyResult> {
        let url = format!(
            "{}://{}{}",
            next.ctx().scheme,
            host(&req),
            request_uri(&req)
        );
        match self.rewrite(&url) {
            Some(new) => answer(redirect(req.method(), &new, self.permanent)),
            None => next.run(req),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::testing::{body_string, get, run, Recorder};
    use super::*;

    fn scheme(scheme: &str, port: &str, permanent: bool) -> RedirectScheme {
        RedirectScheme::new(&raftgate_model::RedirectScheme {
            scheme: scheme.into(),
            port: port.into(),
            permanent,
        })
    }

    fn with_host(uri: &str, host: &str) -> Request<ProxyBody> {
        let mut req = get(uri);
        req.headers_mut()
            .insert(header::HOST, HeaderValue::from_str(host).unwrap());
        req
    }

    #[test]
    fn hosts_split_like_go() {
        assert_eq!(split_host_port("a.com:8080"), ("a.com", ":8080"));
        assert_eq!(split_host_port("a.com"), ("a.com", ""));
        assert_eq!(split_host_port("[::1]:80"), ("[::1]", ":80"));
        assert_eq!(split_host_port("[::1]"), ("[::1]", ""));
        assert_eq!(split_host_port("::1"), ("::1", ""));
    }

    #[test]
    fn scheme_rewrites_keep_the_host_and_path_and_set_the_port() {
        let req = with_host("/a/b?c=d", "example.com:8080");
        let (old, new) = scheme("https", "", false).urls(&req, "http");
        assert_eq!(old, "http://example.com:8080/a/b?c=d");
        assert_eq!(new, "https://example.com/a/b?c=d");
        let (_, new) = scheme("https", "8443", false).urls(&req, "http");
        assert_eq!(new, "https://example.com:8443/a/b?c=d");
        let (_, new) = scheme("https", "443", false).urls(&req, "http");
        assert_eq!(new, "https://example.com/a/b?c=d");
        // Already there: the default port does not count, X-Forwarded-Proto does.
        let req = with_host("/", "example.com:443");
        let (old, new) = scheme("https", "443", false).urls(&req, "https");
        assert_eq!(old, new);
        let mut req = with_host("/", "example.com");
        req.headers_mut()
            .insert(X_FORWARDED_PROTO, HeaderValue::from_static("WSS"));
        let (old, new) = scheme("https", "", false).urls(&req, "http");
        assert_eq!(old, new);
    }

    #[tokio::test]
    async fn scheme_redirect_status_codes_follow_the_method() {
        let backend = Recorder::ok().await;
        let service = backend.service();
        for (permanent, method, status) in [
            (false, Method::GET, 302),
            (false, Method::POST, 307),
            (false, Method::HEAD, 307),
            (true, Method::GET, 301),
            (true, Method::PUT, 308),
        ] {
            let mut req = get("/x?y=1");
            *req.method_mut() = method.clone();
            let resp = run(Arc::new(scheme("https", "", permanent)), &service, req)
                .await
                .unwrap();
            assert_eq!(resp.status(), status, "{method} permanent={permanent}");
            assert_eq!(resp.headers()["location"], "https://example.com/x?y=1");
            let reason = resp.status().canonical_reason().unwrap();
            assert_eq!(body_string(resp).await, reason);
        }
        assert!(backend.requests().is_empty());
        // Same scheme and port: served.
        let resp = run(Arc::new(scheme("http", "80", true)), &service, get("/"))
            .await
            .unwrap();
        assert_eq!(
            (resp.status(), body_string(resp).await.as_str()),
            (StatusCode::OK, "ok")
        );
        assert_eq!(backend.requests().len(), 1);
    }

    fn regex(re: &str, replacement: &str, permanent: bool) -> RedirectRegex {
        RedirectRegex::new(&raftgate_model::RedirectRegex {
            regex: re.into(),
            replacement: replacement.into(),
            permanent,
        })
        .unwrap()
    }

    #[tokio::test]
    async fn regex_redirects_rewrite_the_full_url_with_groups() {
        let backend = Recorder::ok().await;
        let service = backend.service();
        let mw = Arc::new(regex(
            r"^http://localhost:8000/(.*)",
            "http://mydomain/${1}",
            false,
        ));
        let resp = run(
            mw.clone(),
            &service,
            with_host("/a/b?q=1", "localhost:8000"),
        )
        .await
        .unwrap();
        assert_eq!(resp.status(), 302);
        assert_eq!(resp.headers()["location"], "http://mydomain/a/b?q=1");
        // No match: served.
        let resp = run(mw, &service, with_host("/a", "other:8000"))
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(backend.requests()[0].uri(), "/a");

        let mut post = with_host("/old/1", "example.com");
        *post.method_mut() = Method::POST;
        let mw = Arc::new(regex(r"/old/(\d+)$", "/new/$1", true));
        let resp = run(mw.clone(), &service, post).await.unwrap();
        assert_eq!(resp.status(), 308);
        assert_eq!(resp.headers()["location"], "http://example.com/new/1");
        // A match whose rewrite is the same URL is served, not looped.
        let same = Arc::new(regex(r"^(http://.*)$", "$1", true));
        let resp = run(same, &service, get("/x")).await.unwrap();
        assert_eq!(resp.status(), 200);
        let accents = Arc::new(regex(r"^.*/x$", "http://a/\u{e9}t\u{e9}", false));
        let resp = run(accents, &service, get("/x")).await.unwrap();
        assert_eq!(resp.headers()["location"], "http://a/%C3%A9t%C3%A9");
        // A rewrite that cannot be a Location header is a 500.
        let bad = Arc::new(regex(r"^.*$", "http://a/\u{7f}", false));
        assert_eq!(run(bad, &service, get("/")).await.unwrap().status(), 500);
    }
}
