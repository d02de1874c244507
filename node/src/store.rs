//! Durable state of a node on sled: the Raft log, the replicated config state machine and
//! the node's identity. The pure apply logic lives in [`state`]; sled only persists.

pub mod command;
pub mod db;
pub mod error;
pub mod log_store;
pub mod state;
pub mod state_machine;
