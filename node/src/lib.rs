//! raftgate node: a member of one Raft group that replicates the gateway's config, and
//! (in later layers) the reverse proxy serving it.
//!
//! - [`store`]: the sled-backed Raft log and config state machine;
//! - [`cluster`]: openraft wiring, transport, bootstrap and join;
//! - [`admin`]: the gRPC admin API used by `raftgatectl`;
//! - [`ops`]: `/ping`, `/metrics`, `/api/cluster`;
//! - [`node`]: starting and stopping all of it.

pub mod admin;
pub mod cluster;
pub mod config;
pub mod node;
pub mod ops;
pub mod proxy;
pub mod store;
