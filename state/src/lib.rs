//! The replicated config state of a raftgate cluster, as a pure value.
//!
//! [`command`] holds what the Raft log carries; [`state::ConfigState::apply`] applies it
//! deterministically (no IO, no clock, no randomness), checking every object, every reference,
//! reference cycles and the documented limits ([`limits`]) before anything changes; [`error`]
//! says why a command was refused. The node persists this state on sled and compiles it into
//! its data plane; `raftgatectl apply --dry-run` runs the very same apply locally.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod command;
pub mod error;
mod graph;
pub mod limits;
pub mod state;

pub use command::{Command, CommandResponse, ObjectKey, ObjectSpec, Op};
pub use error::StateError;
pub use state::{Change, ConfigState, StoredObject};
