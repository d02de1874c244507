//! The control plane's Raft wiring: openraft's types, the gRPC transport (both sides),
//! membership bootstrap and join, and the handle other services use.

pub mod bootstrap;
pub mod handle;
pub mod identity;
pub mod network;
pub mod routes;
pub mod transport;
pub mod types;
