//! The data plane: entrypoints, the Traefik rule language compiled into matchers, the
//! route table, services and load balancing, health checks and the upstream client.
//!
//! Requests never wait on Raft: each one reads one immutable, compiled snapshot of the
//! config (swapped atomically when a new revision is applied) and runs to completion on it.

pub mod balance;
pub mod body;
pub mod drain;
pub mod error;
pub mod forward;
pub mod handler;
pub mod health;
pub mod middleware;
pub mod request;
pub mod rule;
pub mod runtime;
pub mod server;
pub mod service;
pub mod status;
pub mod table;
pub mod transport;
pub mod upstream;
