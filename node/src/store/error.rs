//! Why a command was refused by the state machine.
//!
//! These errors travel through the Raft log's responses (hence serde) and are mapped to
//! gRPC statuses in exactly one place, `admin::status`.

use raftgate_model::Kind;
use serde::{Deserialize, Serialize};

/// A command that the state machine refused. A refused command changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum StateError {
    /// The object does not exist.
    #[error("{kind} \"{name}\" does not exist")]
    NotFound {
        /// Kind of the missing object.
        kind: Kind,
        /// Name of the missing object.
        name: String,
    },
    /// An object with that name exists already.
    #[error("{kind} \"{name}\" already exists")]
    AlreadyExists {
        /// Kind of the existing object.
        kind: Kind,
        /// Name of the existing object.
        name: String,
    },
    /// The object changed since the writer read it.
    #[error(
        "{kind} \"{name}\" is at revision {actual}, not {expected}: it changed since it was read"
    )]
    ObjectConflict {
        /// Kind of the object.
        kind: Kind,
        /// Name of the object.
        name: String,
        /// Revision the writer expected.
        expected: u64,
        /// Revision the object is at.
        actual: u64,
    },
    /// The config changed since the writer read it.
    #[error("config is at revision {actual}, not {expected}: it changed since it was read")]
    RevisionConflict {
        /// Revision the writer expected.
        expected: u64,
        /// Revision the config is at.
        actual: u64,
    },
    /// The object is still referenced by others.
    #[error("{kind} \"{name}\" is still used by {used_by}")]
    InUse {
        /// Kind of the object.
        kind: Kind,
        /// Name of the object.
        name: String,
        /// The objects that reference it, e.g. `router "web", router "api"`.
        used_by: String,
    },
    /// The object (or a reference it makes) is invalid.
    #[error("{message}")]
    Invalid {
        /// One-line reason naming the object and the field.
        message: String,
    },
}
