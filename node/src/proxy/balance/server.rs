//! The runtime state of one upstream server: its URL, whether it is healthy, and how many
//! requests it is serving right now.
//!
//! A [`ServerState`] is shared (in an `Arc`) by every compiled config that names the same
//! server of the same service, so health and in-flight counts carry over config swaps. All of
//! its mutable state is atomic: the request path reads and updates it without a lock.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use thiserror::Error;

/// A server URL that does not parse as an absolute `http::Uri`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("server URL {url:?} is invalid: {reason}")]
pub struct ServerUrlError {
    /// The URL as given.
    pub url: String,
    /// Why it was refused.
    pub reason: String,
}

/// Runtime state of one upstream server, shared across config swaps (kept while the service
/// and the URL are unchanged).
#[derive(Debug)]
pub struct ServerState {
    /// The server's URL (scheme, authority and an optional base path).
    pub url: http::Uri,
    /// Hex of the first 8 bytes of SHA-256 of `url`'s text: the sticky-cookie value.
    sticky_id: String,
    healthy: AtomicBool,
    inflight: AtomicUsize,
}

impl ServerState {
    /// A healthy server with no request in flight.
    pub fn new(url: http::Uri) -> Arc<Self> {
        let sticky_id = hex::encode(&Sha256::digest(url.to_string().as_bytes())[..8]);
        Arc::new(ServerState {
            url,
            sticky_id,
            healthy: AtomicBool::new(true),
            inflight: AtomicUsize::new(0),
        })
    }

    /// Parses `url`, which must be absolute (a scheme and an authority).
    pub fn parse(url: &str) -> Result<Arc<Self>, ServerUrlError> {
        let err = |reason: String| ServerUrlError {
            url: url.to_string(),
            reason,
        };
        let uri: http::Uri = url
            .parse()
            .map_err(|e: http::uri::InvalidUri| err(e.to_string()))?;
        if uri.scheme().is_none() || uri.authority().is_none() {
            return Err(err("a scheme and a host are required".into()));
        }
        Ok(Self::new(uri))
    }

    /// The value a sticky cookie holds to name this server: the hex of the first 8 bytes of
    /// the SHA-256 of the URL's text. The same on every node and across restarts.
    pub fn sticky_id(&self) -> &str {
        &self.sticky_id
    }

    /// Whether the last health check (if any) passed. Starts `true`.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Acquire)
    }

    /// Records a health-check result; returns whether the state changed.
    pub fn set_healthy(&self, healthy: bool) -> bool {
        self.healthy.swap(healthy, Ordering::AcqRel) != healthy
    }

    /// Number of requests being served by this server now.
    pub fn inflight(&self) -> usize {
        self.inflight.load(Ordering::Relaxed)
    }

    /// Counts one request in flight until the returned guard is dropped.
    pub fn begin(self: &Arc<Self>) -> InflightGuard {
        self.inflight.fetch_add(1, Ordering::Relaxed);
        InflightGuard {
            server: Arc::clone(self),
        }
    }
}

/// One request in flight on a server; dropping it ends the request.
#[derive(Debug)]
pub struct InflightGuard {
    server: Arc<ServerState>,
}

impl InflightGuard {
    /// The server the request is on.
    pub fn server(&self) -> &Arc<ServerState> {
        &self.server
    }
}

impl Drop for InflightGuard {
    fn drop(&mut self) {
        self.server.inflight.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_healthy_and_reports_changes() {
        let s = ServerState::parse("http://10.0.0.1:8080").expect("valid url");
        assert!(s.is_healthy());
        assert!(!s.set_healthy(true));
        assert!(s.set_healthy(false));
        assert!(!s.is_healthy());
        assert!(!s.set_healthy(false));
        assert!(s.set_healthy(true));
    }

    #[test]
    fn guards_count_inflight_requests() {
        let s = ServerState::parse("http://a").expect("valid url");
        let g1 = s.begin();
        let g2 = s.begin();
        assert_eq!(s.inflight(), 2);
        assert!(Arc::ptr_eq(g1.server(), &s));
        drop(g1);
        assert_eq!(s.inflight(), 1);
        drop(g2);
        assert_eq!(s.inflight(), 0);
    }

    #[test]
    fn sticky_id_is_stable_and_distinct() {
        let a = ServerState::parse("http://a:80").expect("valid url");
        let a2 = ServerState::parse("http://a:80").expect("valid url");
        let b = ServerState::parse("http://b:80").expect("valid url");
        assert_eq!(a.sticky_id(), a2.sticky_id());
        assert_ne!(a.sticky_id(), b.sticky_id());
        assert_eq!(a.sticky_id().len(), 16);
        assert!(a.sticky_id().bytes().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn relative_or_garbage_urls_are_refused() {
        assert!(ServerState::parse("/only/a/path").is_err());
        assert!(ServerState::parse("http://bad host").is_err());
        let err = ServerState::parse("").expect_err("empty");
        assert!(err.to_string().starts_with("server URL \"\" is invalid"));
    }
}
