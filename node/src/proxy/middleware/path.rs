//! Path rewriting: `addPrefix`, `stripPrefix`, `stripPrefixRegex`, `replacePath` and
//! `replacePathRegex`, with Traefik v3's semantics (`X-Forwarded-Prefix` for what was
//! stripped, `X-Replaced-Path` for what was replaced).

use futures::future::BoxFuture;
use http::{HeaderName, HeaderValue, Request, Uri};
use regex::Regex;

use super::{Middleware, Next, ProxyResult};
use crate::proxy::body::ProxyBody;
use crate::proxy::error::ProxyError;

const X_FORWARDED_PREFIX: HeaderName = HeaderName::from_static("x-forwarded-prefix");
const X_REPLACED_PATH: HeaderName = HeaderName::from_static("x-replaced-path");

/// Replaces the path of `req`'s URI, keeping its query.
pub(crate) fn set_path(req: &mut Request<ProxyBody>, path: &str) -> Result<(), ProxyError> {
    let path = if path.is_empty() { "/" } else { path };
    let pq = match req.uri().query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    let mut parts = req.uri().clone().into_parts();
    parts.path_and_query = Some(
        pq.parse()
            .map_err(|e: http::uri::InvalidUri| ProxyError::BadRequest(e.to_string()))?,
    );
    *req.uri_mut() = Uri::from_parts(parts).map_err(|e| ProxyError::BadRequest(e.to_string()))?;
    Ok(())
}

fn ensure_leading_slash(path: &str) -> String {
    if path.is_empty() || path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    }
}

fn header_value(value: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(value).ok()
}

/// Sets the path left after stripping `prefix`, and reports the prefix in
/// `X-Forwarded-Prefix`.
fn strip_to(req: &mut Request<ProxyBody>, path: &str, prefix: &str) -> Result<(), ProxyError> {
    set_path(req, path)?;
    if let Some(v) = header_value(prefix) {
        req.headers_mut().append(X_FORWARDED_PREFIX, v);
    }
    Ok(())
}

/// `addPrefix`.
pub struct AddPrefix {
    prefix: String,
}

impl AddPrefix {
    /// Compiles the config.
    pub fn new(config: &raftgate_model::AddPrefix) -> Self {
        Self {
            prefix: ensure_leading_slash(&config.prefix),
        }
    }
}

impl Middleware for AddPrefix {
    fn handle<'a>(&'a self, req: Request<ProxyBody>, next: Next<'a>) -> BoxFuture<'a, ProxyResult> {
        next.run_edited(req, |req| {
            let path = format!("{}{}", self.prefix, req.uri().path());
            set_path(req, &path)
        })
    }
}

/// `stripPrefix`: the first listed prefix the path starts with is removed.
pub struct StripPrefix {
    prefixes: Vec<String>,
    force_slash: bool,
}

impl StripPrefix {
    /// Compiles the config (`forceSlash` defaults to false, as in Traefik v3).
    pub fn new(config: &raftgate_model::StripPrefix) -> Self {
        Self {
            prefixes: config
                .prefixes
                .iter()
                .map(|p| p.trim().to_string())
                .collect(),
            force_slash: config.force_slash.unwrap_or(false),
        }
    }

    fn strip(&self, path: &str) -> Option<(String, &str)> {
        let prefix = self
            .prefixes
            .iter()
            .find(|p| path.starts_with(p.as_str()))?;
        let rest = &path[prefix.len()..];
        let stripped = if self.force_slash {
            format!("/{}", rest.trim_start_matches('/'))
        } else {
            ensure_leading_slash(rest)
        };
        Some((stripped, prefix))
    }
}

impl Middleware for StripPrefix {
    fn handle<'a>(&'a self, req: Request<ProxyBody>, next: Next<'a>) -> BoxFuture<'a, ProxyResult> {
        next.run_edited(req, |req| match self.strip(req.uri().path()) {
            Some((path, prefix)) => strip_to(req, &path, prefix),
            None => Ok(()),
        })
    }
}

/// `stripPrefixRegex`: the first regex whose leftmost match is a prefix of the path has
/// that match removed.
pub struct StripPrefixRegex {
    regexes: Vec<Regex>,
}

impl StripPrefixRegex {
    /// Compiles the config.
    pub fn new(config: &raftgate_model::StripPrefixRegex) -> Result<Self, String> {
        let regexes = config
            .regex
            .iter()
            .map(|r| raftgate_model::regex::compile(r).map_err(|e| format!("regex {r:?}: {e}")))
            .collect::<Result<_, _>>()?;
        Ok(Self { regexes })
    }

    fn strip(&self, path: &str) -> Option<(String, String)> {
        self.regexes.iter().find_map(|re| {
            let m = re.find(path).filter(|m| m.start() == 0 && !m.is_empty())?;
            Some((
                ensure_leading_slash(&path[m.end()..]),
                m.as_str().to_string(),
            ))
        })
    }
}

impl Middleware for StripPrefixRegex {
    fn handle<'a>(&'a self, req: Request<ProxyBody>, next: Next<'a>) -> BoxFuture<'a, ProxyResult> {
        next.run_edited(req, |req| match self.strip(req.uri().path()) {
            Some((path, prefix)) => strip_to(req, &path, &prefix),
            None => Ok(()),
        })
    }
}

/// `replacePath`: the path becomes a fixed one; the original goes in `X-Replaced-Path`.
pub struct ReplacePath {
    path: String,
}

impl ReplacePath {
    /// Compiles the config.
    pub fn new(config: &raftgate_model::ReplacePath) -> Self {
        Self {
            path: config.path.clone(),
        }
    }
}

fn replace(req: &mut Request<ProxyBody>, path: &str) -> Result<(), ProxyError> {
    if let Some(v) = header_value(req.uri().path()) {
        req.headers_mut().insert(X_REPLACED_PATH, v);
    }
    set_path(req, path)
}

impl Middleware for ReplacePath {
    fn handle<'a>(&'a self, req: Request<ProxyBody>, next: Next<'a>) -> BoxFuture<'a, ProxyResult> {
        next.run_edited(req, |req| replace(req, &self.path))
    }
}

/// `replacePathRegex`: a matching path is rewritten with the replacement (`$1`, `${name}`).
pub struct ReplacePathRegex {
    regex: Regex,
    replacement: String,
}

impl ReplacePathRegex {
    /// Compiles the config.
    pub fn new(config: &raftgate_model::ReplacePathRegex) -> Result<Self, String> {
        Ok(Self {
            regex: raftgate_model::regex::compile(&config.regex)
                .map_err(|e| format!("regex: {e}"))?,
            replacement: config.replacement.clone(),
        })
    }
}

impl Middleware for ReplacePathRegex {
    fn handle<'a>(&'a self, req: Request<ProxyBody>, next: Next<'a>) -> BoxFuture<'a, ProxyResult> {
        next.run_edited(req, |req| {
            if !self.regex.is_match(req.uri().path()) {
                return Ok(());
            }
            let path = self
                .regex
                .replace_all(req.uri().path(), self.replacement.as_str())
                .into_owned();
            replace(req, &path)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::testing::{body_string, get, run, Recorder};
    use super::*;

    async fn forwarded(mw: Arc<dyn Middleware>, uri: &str) -> (String, http::HeaderMap) {
        let backend = Recorder::ok().await;
        let resp = run(mw, &backend.service(), get(uri)).await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(body_string(resp).await, "ok");
        let seen = backend.requests();
        let req = &seen[0];
        (req.uri().to_string(), req.headers().clone())
    }

    #[tokio::test]
    async fn add_prefix_prepends_and_keeps_the_query() {
        let mw = AddPrefix::new(&raftgate_model::AddPrefix {
            prefix: "/v1".into(),
        });
        let (uri, _) = forwarded(Arc::new(mw), "/users?id=3").await;
        assert_eq!(uri, "/v1/users?id=3");
        // Without a leading slash, as Traefik does: `/` + prefix + path.
        let mw = AddPrefix::new(&raftgate_model::AddPrefix {
            prefix: "api".into(),
        });
        let (uri, _) = forwarded(Arc::new(mw), "/users").await;
        assert_eq!(uri, "/api/users");
    }

    #[tokio::test]
    async fn strip_prefix_uses_the_first_matching_prefix_and_reports_it() {
        let config = raftgate_model::StripPrefix {
            prefixes: vec!["/foo".into(), "/api".into()],
            force_slash: None,
        };
        let (uri, headers) = forwarded(Arc::new(StripPrefix::new(&config)), "/api/users?x=1").await;
        assert_eq!(uri, "/users?x=1");
        assert_eq!(headers["x-forwarded-prefix"], "/api");

        let (uri, headers) = forwarded(Arc::new(StripPrefix::new(&config)), "/other").await;
        assert_eq!(uri, "/other");
        assert!(headers.get("x-forwarded-prefix").is_none());
    }

    #[test]
    fn strip_prefix_slash_semantics() {
        let plain = StripPrefix::new(&raftgate_model::StripPrefix {
            prefixes: vec!["/api".into()],
            force_slash: None,
        });
        assert_eq!(plain.strip("/api").unwrap().0, "");
        assert_eq!(plain.strip("/apifoo").unwrap().0, "/foo");
        assert_eq!(plain.strip("/api/").unwrap().0, "/");
        let forced = StripPrefix::new(&raftgate_model::StripPrefix {
            prefixes: vec!["/api".into()],
            force_slash: Some(true),
        });
        assert_eq!(forced.strip("/api").unwrap().0, "/");
        assert_eq!(forced.strip("/api//x").unwrap().0, "/x");
    }

    #[tokio::test]
    async fn strip_prefix_regex_removes_a_leading_match_only() {
        let mw = StripPrefixRegex::new(&raftgate_model::StripPrefixRegex {
            regex: vec!["/users/[0-9]+".into()],
        })
        .unwrap();
        assert_eq!(
            mw.strip("/users/42/profile").unwrap(),
            ("/profile".into(), "/users/42".into())
        );
        assert!(mw.strip("/x/users/42").is_none());
        let (uri, headers) = forwarded(Arc::new(mw), "/users/7/a?b=c").await;
        assert_eq!(uri, "/a?b=c");
        assert_eq!(headers["x-forwarded-prefix"], "/users/7");
    }

    #[tokio::test]
    async fn replace_path_records_the_original() {
        let mw = ReplacePath::new(&raftgate_model::ReplacePath {
            path: "/fixed".into(),
        });
        let (uri, headers) = forwarded(Arc::new(mw), "/any/thing?q=1").await;
        assert_eq!(uri, "/fixed?q=1");
        assert_eq!(headers["x-replaced-path"], "/any/thing");
    }

    #[tokio::test]
    async fn replace_path_regex_rewrites_with_groups() {
        let mw = ReplacePathRegex::new(&raftgate_model::ReplacePathRegex {
            regex: "^/foo/(.*)".into(),
            replacement: "/bar/$1".into(),
        })
        .unwrap();
        let (uri, headers) = forwarded(Arc::new(mw), "/foo/x/y").await;
        assert_eq!(uri, "/bar/x/y");
        assert_eq!(headers["x-replaced-path"], "/foo/x/y");
        let mw = ReplacePathRegex::new(&raftgate_model::ReplacePathRegex {
            regex: "^/foo/(.*)".into(),
            replacement: "/bar/$1".into(),
        })
        .unwrap();
        let (uri, headers) = forwarded(Arc::new(mw), "/nope").await;
        assert_eq!(uri, "/nope");
        assert!(headers.get("x-replaced-path").is_none());
    }
}
