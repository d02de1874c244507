//! Durable state of a node on sled: the Raft log, the replicated config state machine and
//! the node's identity. The pure apply logic lives in the `raftgate-state` crate (re-exported
//! here as [`command`], [`error`] and [`state`]); sled only persists.

pub use raftgate_state::{command, error, state};
pub mod db;
pub mod log_store;
pub mod state_machine;
