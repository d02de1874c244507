//! What the integration tests of every raftgate crate share: loopback ports that neither
//! another test process nor an outgoing connection can take before a node binds them, and
//! whether this machine can run the Docker deployment.

mod docker;
mod ports;

pub use docker::{compose_port_base, docker_available, PortBase};
pub use ports::{free_port, reserve, Reservation};
