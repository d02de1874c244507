//! The checker task of one server: probe, record the result in the server's health flag,
//! wait `interval` (or `unhealthy_interval` while down), again, until aborted.

use std::sync::Arc;

use tokio::task::JoinHandle;
use tracing::{debug, error, info, Instrument, Span};

use super::probe::{ProbeError, Prober};
use super::spec::HealthCheckSpec;
use crate::proxy::balance::ServerState;

/// Runs checks for one server until the returned task is aborted: every interval
/// (`unhealthy_interval` while down) it sends one probe with a timeout and sets the server's
/// healthy flag, logging transitions. The first probe goes out at once. Must be called from
/// within a Tokio runtime; builds its own [`Prober`] (use [`Prober::spawn`] to share one).
pub fn spawn_checker(spec: HealthCheckSpec, server: Arc<ServerState>) -> JoinHandle<()> {
    Prober::new().spawn(spec, server)
}

impl Prober {
    /// [`spawn_checker`] with this prober's clients.
    pub fn spawn(&self, spec: HealthCheckSpec, server: Arc<ServerState>) -> JoinHandle<()> {
        self.spawn_in(spec, server, Span::current())
    }

    /// [`Prober::spawn`], logging within `span`.
    pub(super) fn spawn_in(
        &self,
        spec: HealthCheckSpec,
        server: Arc<ServerState>,
        span: Span,
    ) -> JoinHandle<()> {
        tokio::spawn(self.clone().run(spec, server).instrument(span))
    }

    async fn run(self, spec: HealthCheckSpec, server: Arc<ServerState>) {
        loop {
            match self.probe(&spec, &server).await {
                Ok(()) => {
                    if server.set_healthy(true) {
                        info!(server = %server.url, "server {} is up", server.url);
                    }
                }
                Err(ProbeError::TlsUnsupported) => {
                    // TODO(tls): probe https servers once the upstream TLS client exists.
                    error!(
                        server = %server.url,
                        "TODO: https health checks are not implemented yet; server {} is not \
                         checked and stays healthy",
                        server.url
                    );
                    return;
                }
                Err(e) => {
                    if server.set_healthy(false) {
                        info!(server = %server.url, error = %e, "server {} is down: {e}", server.url);
                    } else {
                        debug!(server = %server.url, error = %e, "server still down");
                    }
                }
            }
            let wait = if server.is_healthy() {
                spec.interval
            } else {
                spec.unhealthy_interval
            };
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::health::test_server::{closed_port, wait_for, TestServer};
    use std::time::Duration;

    fn fast_spec() -> HealthCheckSpec {
        HealthCheckSpec {
            interval: Duration::from_millis(50),
            unhealthy_interval: Duration::from_millis(50),
            timeout: Duration::from_millis(500),
            ..HealthCheckSpec::default()
        }
    }

    const LIMIT: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn follows_the_server_down_and_up() {
        let srv = TestServer::start().await;
        let server = ServerState::parse(&format!("http://{}", srv.addr)).expect("valid url");
        let task = spawn_checker(fast_spec(), Arc::clone(&server));
        assert!(wait_for(LIMIT, || srv.hits() >= 3).await);
        assert!(server.is_healthy());
        srv.set_status(500);
        assert!(wait_for(LIMIT, || !server.is_healthy()).await, "goes down");
        srv.set_status(200);
        assert!(wait_for(LIMIT, || server.is_healthy()).await, "comes back");
        task.abort();
        assert!(task.await.is_err_and(|e| e.is_cancelled()));
    }

    #[tokio::test]
    async fn closed_port_is_unhealthy() {
        let port = closed_port().await;
        let server = ServerState::parse(&format!("http://127.0.0.1:{port}")).expect("valid url");
        let task = spawn_checker(fast_spec(), Arc::clone(&server));
        assert!(wait_for(LIMIT, || !server.is_healthy()).await);
        task.abort();
    }

    #[tokio::test]
    async fn https_servers_are_left_healthy_and_unchecked() {
        let server = ServerState::parse("https://127.0.0.1:1").expect("valid url");
        let task = spawn_checker(fast_spec(), Arc::clone(&server));
        assert!(tokio::time::timeout(LIMIT, task)
            .await
            .is_ok_and(|r| r.is_ok()));
        assert!(server.is_healthy());
    }
}
