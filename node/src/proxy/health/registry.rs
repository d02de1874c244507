//! One checker per (service, server URL, check spec), kept across config swaps.
//!
//! Compiling a new config calls [`HealthRegistry::reconcile`] with every server it wants; the
//! registry hands back the same [`ServerState`] (health flag and in-flight count included)
//! for every entry that did not change, starts checkers for new entries and aborts those of
//! entries no longer wanted. Its mutex is taken on config swaps only, never per request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::task::JoinHandle;
use tracing::error;

use super::probe::Prober;
use super::spec::HealthCheckSpec;
use crate::proxy::balance::{ServerState, ServerUrlError};

/// One wanted server: service name, server URL, and its health check if the service has one.
pub type Wanted = (String, String, Option<HealthCheckSpec>);

/// A checker task, aborted when dropped.
#[derive(Debug)]
struct Checker(JoinHandle<()>);

impl Drop for Checker {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A server known to the registry.
#[derive(Debug)]
struct Entry {
    spec: Option<HealthCheckSpec>,
    state: Arc<ServerState>,
    /// `None` without a spec, or when no Tokio runtime was there to run it.
    checker: Option<Checker>,
}

/// Keeps one checker per (service name, server URL, spec) across config swaps.
#[derive(Debug, Default)]
pub struct HealthRegistry {
    prober: Prober,
    entries: Mutex<HashMap<(String, String), Entry>>,
}

impl HealthRegistry {
    /// An empty registry with its own HTTP clients.
    pub fn new() -> Self {
        Self::default()
    }

    /// Returns the [`ServerState`] to use for each wanted entry, in order: the previous one
    /// when service, URL and spec are unchanged, a new (healthy) one otherwise. Checkers of
    /// new entries start (from within the current Tokio runtime), those of entries no longer
    /// wanted, or whose spec changed, are aborted. Servers without a spec are never checked
    /// and stay healthy. Fails, changing nothing, if a URL does not parse.
    pub fn reconcile(&self, wanted: Vec<Wanted>) -> Result<Vec<Arc<ServerState>>, ServerUrlError> {
        let parsed = wanted
            .iter()
            .map(|(_, url, _)| ServerState::parse(url))
            .collect::<Result<Vec<_>, _>>()?;
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let mut old = std::mem::take(&mut *entries);
        let mut out = Vec::with_capacity(wanted.len());
        for ((service, url, spec), fresh) in wanted.into_iter().zip(parsed) {
            let key = (service, url);
            if let Some(entry) = entries.get(&key) {
                // Listed twice: the same server, the same state.
                out.push(Arc::clone(&entry.state));
                continue;
            }
            let entry = match old.remove(&key) {
                Some(entry) if entry.spec == spec => entry,
                _ => self.start(&key.0, spec, fresh),
            };
            out.push(Arc::clone(&entry.state));
            entries.insert(key, entry);
        }
        drop(entries);
        // Entries left in `old` are no longer wanted: dropping them aborts their checkers.
        drop(old);
        Ok(out)
    }

    /// Number of servers known.
    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Number of checker tasks still running (https servers' checkers end at once).
    pub fn running_checkers(&self) -> usize {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .values()
            .filter_map(|e| e.checker.as_ref())
            .filter(|c| !c.0.is_finished())
            .count()
    }

    /// Whether no server is known.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn start(
        &self,
        service: &str,
        spec: Option<HealthCheckSpec>,
        state: Arc<ServerState>,
    ) -> Entry {
        let checker = spec.clone().and_then(|spec| {
            if tokio::runtime::Handle::try_current().is_err() {
                error!(service, server = %state.url, "no Tokio runtime: health check not started");
                return None;
            }
            let span = tracing::info_span!("health_check", service, server = %state.url);
            let task = self.prober.spawn_in(spec, Arc::clone(&state), span);
            Some(Checker(task))
        });
        Entry {
            spec,
            state,
            checker,
        }
    }

    /// The abort handle of the checker of (service, url), for tests.
    #[cfg(test)]
    fn checker(&self, service: &str, url: &str) -> Option<tokio::task::AbortHandle> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = entries.get(&(service.to_string(), url.to_string()))?;
        entry.checker.as_ref().map(|c| c.0.abort_handle())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::health::test_server::{wait_for, TestServer};
    use std::time::Duration;

    const LIMIT: Duration = Duration::from_secs(5);

    fn fast_spec(path: &str) -> HealthCheckSpec {
        HealthCheckSpec {
            path: path.parse().expect("path"),
            interval: Duration::from_millis(50),
            unhealthy_interval: Duration::from_millis(50),
            timeout: Duration::from_millis(500),
            ..HealthCheckSpec::default()
        }
    }

    fn want(service: &str, url: &str, spec: Option<HealthCheckSpec>) -> Wanted {
        (service.to_string(), url.to_string(), spec)
    }

    #[tokio::test]
    async fn unchanged_entries_keep_their_state() {
        let srv = TestServer::start().await;
        let url = format!("http://{}", srv.addr);
        let reg = HealthRegistry::new();
        let first = reg
            .reconcile(vec![
                want("api", &url, Some(fast_spec("/health"))),
                want("api", "http://10.0.0.1", None),
            ])
            .expect("valid urls");
        let _busy = first[1].begin();
        let again = reg
            .reconcile(vec![
                want("api", "http://10.0.0.1", None),
                want("api", &url, Some(fast_spec("/health"))),
            ])
            .expect("valid urls");
        assert!(Arc::ptr_eq(&first[0], &again[1]));
        assert!(Arc::ptr_eq(&first[1], &again[0]));
        assert_eq!(again[0].inflight(), 1);
        assert_eq!(reg.len(), 2);
        assert!(
            wait_for(LIMIT, || srv.hits() >= 2).await,
            "the kept checker still runs"
        );
    }

    #[tokio::test]
    async fn changed_spec_or_url_replaces_the_state_and_stops_the_old_checker() {
        let srv = TestServer::start().await;
        let url = format!("http://{}", srv.addr);
        let reg = HealthRegistry::new();
        let first = reg
            .reconcile(vec![want("api", &url, Some(fast_spec("/a")))])
            .expect("valid url");
        let old_checker = reg.checker("api", &url).expect("a checker");
        let second = reg
            .reconcile(vec![want("api", &url, Some(fast_spec("/b")))])
            .expect("valid url");
        assert!(!Arc::ptr_eq(&first[0], &second[0]));
        assert!(
            wait_for(LIMIT, || old_checker.is_finished()).await,
            "old checker aborted"
        );
        assert!(wait_for(LIMIT, || srv.last_path().as_deref() == Some("/b")).await);

        let checker_b = reg.checker("api", &url).expect("a checker");
        let other = format!("http://localhost:{}", srv.addr.port());
        let third = reg
            .reconcile(vec![want("api", &other, Some(fast_spec("/b")))])
            .expect("valid url");
        assert!(!Arc::ptr_eq(&second[0], &third[0]));
        assert!(wait_for(LIMIT, || checker_b.is_finished()).await);
        assert_eq!(reg.len(), 1);

        let checker_c = reg.checker("api", &other).expect("a checker");
        assert!(reg.reconcile(Vec::new()).expect("nothing").is_empty());
        assert!(reg.is_empty());
        assert!(wait_for(LIMIT, || checker_c.is_finished()).await);
    }

    #[tokio::test]
    async fn health_follows_the_server_through_the_registry() {
        let srv = TestServer::start().await;
        let url = format!("http://{}", srv.addr);
        let reg = HealthRegistry::new();
        let spec = Some(fast_spec("/health"));
        let states = reg
            .reconcile(vec![want("api", &url, spec.clone())])
            .expect("valid url");
        srv.set_status(500);
        assert!(wait_for(LIMIT, || !states[0].is_healthy()).await);
        // A config swap that keeps the entry keeps its (unhealthy) state.
        let kept = reg
            .reconcile(vec![want("api", &url, spec)])
            .expect("valid url");
        assert!(!kept[0].is_healthy());
        srv.set_status(200);
        assert!(wait_for(LIMIT, || kept[0].is_healthy()).await);
    }

    #[tokio::test]
    async fn same_url_in_two_services_is_two_servers() {
        let reg = HealthRegistry::new();
        let s = reg
            .reconcile(vec![
                want("a", "http://10.0.0.1", None),
                want("b", "http://10.0.0.1", None),
                want("a", "http://10.0.0.1", None),
            ])
            .expect("valid urls");
        assert!(!Arc::ptr_eq(&s[0], &s[1]));
        assert!(Arc::ptr_eq(&s[0], &s[2]));
        assert_eq!(reg.len(), 2);
    }

    #[test]
    fn bad_url_changes_nothing() {
        let reg = HealthRegistry::new();
        let first = reg
            .reconcile(vec![want("a", "http://10.0.0.1", None)])
            .expect("valid url");
        let err = reg
            .reconcile(vec![want("a", "not a url", None)])
            .expect_err("invalid url");
        assert!(err.to_string().contains("not a url"));
        let again = reg
            .reconcile(vec![want("a", "http://10.0.0.1", None)])
            .expect("valid url");
        assert!(Arc::ptr_eq(&first[0], &again[0]));
    }

    #[test]
    fn without_a_runtime_servers_stay_healthy_and_unchecked() {
        let reg = HealthRegistry::new();
        let s = reg
            .reconcile(vec![want("a", "http://10.0.0.1", Some(fast_spec("/")))])
            .expect("valid url");
        assert!(s[0].is_healthy());
        assert!(reg.checker("a", "http://10.0.0.1").is_none());
        assert_eq!(reg.running_checkers(), 0);
    }
}
