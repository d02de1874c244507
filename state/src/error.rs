//! Why a command was refused by the state machine.
//!
//! These errors travel through the Raft log's responses (hence serde) with their structure
//! (the model's errors, each naming its object and field) and are mapped to gRPC statuses in
//! exactly one place, the node's `admin::status`.

use raftgate_model::{Kind, ModelError};
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
    /// One or more objects of the write are invalid, or a reference they make is missing,
    /// loops back or nests too deep: every problem found, one per line.
    #[error("{}", lines(errors, *omitted))]
    Invalid {
        /// The problems, in the order of the write's operations, at most
        /// [`MAX_REPORTED_PROBLEMS`].
        errors: Vec<ModelError>,
        /// How many more problems were found and not listed.
        omitted: usize,
    },
    /// The same object appears twice in one transaction.
    #[error("{0} appears more than once in one transaction")]
    Duplicate(crate::ObjectKey),
    /// The transaction holds more operations than [`crate::limits::MAX_TXN_OPS`].
    #[error("a transaction may hold at most {limit} operations, this one holds {ops}")]
    TooManyOps {
        /// Operations in the transaction.
        ops: usize,
        /// The limit.
        limit: usize,
    },
}

/// Problems listed in one refusal; the rest are counted.
pub const MAX_REPORTED_PROBLEMS: usize = 100;

impl StateError {
    /// One invalid-object error.
    pub fn invalid(error: ModelError) -> Self {
        Self::invalid_all(vec![error])
    }

    /// Invalid-object errors, the first [`MAX_REPORTED_PROBLEMS`] of them listed.
    pub fn invalid_all(mut errors: Vec<ModelError>) -> Self {
        let omitted = errors.len().saturating_sub(MAX_REPORTED_PROBLEMS);
        errors.truncate(MAX_REPORTED_PROBLEMS);
        StateError::Invalid { errors, omitted }
    }
}

/// The errors' messages, one per line, then how many were left out.
fn lines(errors: &[ModelError], omitted: usize) -> String {
    let mut lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    if omitted > 0 {
        lines.push(format!("... and {omitted} more problems"));
    }
    lines.join("\n")
}
