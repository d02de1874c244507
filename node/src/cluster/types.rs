//! openraft's type configuration for raftgate: what the log carries and what apply returns.

use std::io::Cursor;

use crate::store::command::{Command, CommandResponse};

openraft::declare_raft_types!(
    /// raftgate's Raft types: [`Command`]s in the log, [`CommandResponse`]s out of apply.
    pub TypeConfig:
        D = Command,
        R = CommandResponse,
        NodeId = u64,
        Node = openraft::BasicNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
);

/// A node id.
pub type NodeId = u64;
/// A member's address record (its gRPC URL in `addr`).
pub type Node = openraft::BasicNode;
/// The raft instance.
pub type Raft = openraft::Raft<TypeConfig>;
/// A log entry.
pub type Entry = openraft::Entry<TypeConfig>;
/// A log id.
pub type LogId = openraft::LogId<NodeId>;
/// A vote.
pub type Vote = openraft::Vote<NodeId>;
/// A membership as stored in the log and the state machine.
pub type StoredMembership = openraft::StoredMembership<NodeId, Node>;
/// Snapshot metadata.
pub type SnapshotMeta = openraft::SnapshotMeta<NodeId, Node>;
/// A storage error.
pub type StorageError = openraft::StorageError<NodeId>;
/// Raft metrics.
pub type RaftMetrics = openraft::RaftMetrics<NodeId, Node>;
