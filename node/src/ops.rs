//! Operations endpoints of a node: Prometheus metrics, health ping and the cluster view.

pub mod metrics;
pub mod probe;
pub mod server;
