//! Generated gRPC types of raftgate: the Raft transport between members and the admin API
//! used by `raftgatectl`. See `proto/raftgate.proto` for the contract.

#![allow(clippy::all, missing_docs)]

/// Version 1 of the raftgate API.
pub mod v1 {
    tonic::include_proto!("raftgate.v1");
}

pub use v1::*;
