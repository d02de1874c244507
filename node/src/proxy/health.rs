//! Active health checks of upstream servers. Their results are per node and never
//! replicated: each node probes the servers itself and flips the [`ServerState`] health flags
//! its load balancers read.
//!
//! - [`spec`]: what a probe sends and expects, compiled from the model's `healthCheck`;
//! - [`probe`]: one probe (HTTP/1.1 or h2c; https is not probed yet);
//! - [`checker`]: the per-server task that probes on an interval;
//! - [`registry`]: one checker per (service, URL, spec), kept across config swaps.
//!
//! [`ServerState`]: crate::proxy::balance::ServerState

mod checker;
mod probe;
mod registry;
mod spec;
#[cfg(test)]
mod test_server;

pub use checker::spawn_checker;
pub use probe::{ProbeError, Prober};
pub use registry::{HealthRegistry, Wanted};
pub use spec::{
    HealthCheckSpec, HealthCheckSpecError, ProbeScheme, DEFAULT_INTERVAL, DEFAULT_TIMEOUT,
};
