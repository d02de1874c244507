//! The commands carried by the Raft log and the responses their application returns.
//!
//! A [`Command`] is what the admin API proposes; the state machine applies it with
//! [`ConfigState::apply`](crate::state::ConfigState::apply). Commands carry already-parsed,
//! typed objects so that apply never parses user input.

use raftgate_model::{
    strip_provider, Kind, Middleware, ModelError, Router, ServersTransport, Service,
};
use serde::{Deserialize, Serialize};

use crate::error::StateError;

/// The typed body of a config object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "spec", rename_all = "lowercase")]
pub enum ObjectSpec {
    /// A Traefik v3 HTTP router.
    Router(Router),
    /// A Traefik v3 HTTP service (boxed: by far the largest variant).
    Service(Box<Service>),
    /// A Traefik v3 HTTP middleware.
    Middleware(Middleware),
    /// A Traefik v3 servers transport.
    #[serde(rename = "serversTransport")]
    ServersTransport(ServersTransport),
}

impl ObjectSpec {
    /// The kind of object this spec describes.
    pub fn kind(&self) -> Kind {
        match self {
            ObjectSpec::Router(_) => Kind::Router,
            ObjectSpec::Service(_) => Kind::Service,
            ObjectSpec::Middleware(_) => Kind::Middleware,
            ObjectSpec::ServersTransport(_) => Kind::ServersTransport,
        }
    }

    /// Parses the Traefik JSON form of an object of `kind`.
    pub fn from_json(kind: Kind, name: &str, json: &[u8]) -> Result<Self, StateError> {
        let invalid = |e: serde_json::Error| {
            StateError::invalid(ModelError::Invalid {
                kind,
                name: name.to_string(),
                field: String::new(),
                reason: e.to_string(),
            })
        };
        Ok(match kind {
            Kind::Router => ObjectSpec::Router(serde_json::from_slice(json).map_err(invalid)?),
            Kind::Service => {
                ObjectSpec::Service(Box::new(serde_json::from_slice(json).map_err(invalid)?))
            }
            Kind::Middleware => {
                ObjectSpec::Middleware(serde_json::from_slice(json).map_err(invalid)?)
            }
            Kind::ServersTransport => {
                ObjectSpec::ServersTransport(serde_json::from_slice(json).map_err(invalid)?)
            }
        })
    }

    /// The objects this spec refers to (provider suffixes such as `@file` stripped).
    pub fn references(&self) -> Vec<ObjectKey> {
        let refs = match self {
            ObjectSpec::Router(r) => r.references(),
            ObjectSpec::Service(s) => s.references(),
            ObjectSpec::Middleware(m) => m.references(),
            ObjectSpec::ServersTransport(_) => Vec::new(),
        };
        refs.into_iter()
            .map(|(kind, name)| ObjectKey {
                kind,
                name: strip_provider(name).to_string(),
            })
            .collect()
    }

    /// The Traefik JSON form of this spec.
    pub fn to_json(&self) -> Vec<u8> {
        let result = match self {
            ObjectSpec::Router(r) => serde_json::to_vec(r),
            ObjectSpec::Service(s) => serde_json::to_vec(s),
            ObjectSpec::Middleware(m) => serde_json::to_vec(m),
            ObjectSpec::ServersTransport(t) => serde_json::to_vec(t),
        };
        // Serializing plain data structs to JSON cannot fail.
        result.unwrap_or_default()
    }
}

/// Identifies one object: its kind and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ObjectKey {
    /// The object's kind.
    pub kind: Kind,
    /// The object's name, unique per kind.
    pub name: String,
}

impl std::fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} \"{}\"", self.kind, self.name)
    }
}

/// One operation of a transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Create an object; fails if it exists.
    Create {
        /// Object name.
        name: String,
        /// Object body.
        spec: ObjectSpec,
        /// Who manages the object (`cli`, `apply`).
        managed_by: String,
    },
    /// Replace an existing object; fails if it does not exist or its revision differs.
    Update {
        /// Object name.
        name: String,
        /// Object body.
        spec: ObjectSpec,
        /// Who manages the object.
        managed_by: String,
        /// Refuse unless the object's `mod_revision` equals this.
        expected_mod_revision: Option<u64>,
    },
    /// Create or replace an object.
    Put {
        /// Object name.
        name: String,
        /// Object body.
        spec: ObjectSpec,
        /// Who manages the object.
        managed_by: String,
    },
    /// Delete an existing object.
    Delete {
        /// The object.
        key: ObjectKey,
        /// Refuse unless the object's `mod_revision` equals this.
        expected_mod_revision: Option<u64>,
    },
}

impl Op {
    /// The object this operation touches.
    pub fn key(&self) -> ObjectKey {
        match self {
            Op::Create { name, spec, .. }
            | Op::Update { name, spec, .. }
            | Op::Put { name, spec, .. } => ObjectKey {
                kind: spec.kind(),
                name: name.clone(),
            },
            Op::Delete { key, .. } => key.clone(),
        }
    }
}

/// A replicated command: the payload of every application entry in the Raft log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    /// An atomic set of object operations: all apply at one new revision, or none does.
    Txn {
        /// The operations, applied in order.
        ops: Vec<Op>,
        /// Refuse unless the config revision equals this (optimistic concurrency).
        expected_revision: Option<u64>,
    },
    /// Records the cluster's id. Applied only once: later ones are no-ops.
    SetClusterId {
        /// The new id.
        cluster_id: String,
    },
}

impl std::fmt::Display for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Txn { ops, .. } => write!(f, "txn({} ops)", ops.len()),
            Command::SetClusterId { cluster_id } => write!(f, "set_cluster_id({cluster_id})"),
        }
    }
}

/// What applying one log entry produced; returned to the writer through openraft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandResponse {
    /// The config revision after the entry (the new one if it changed the config).
    pub result: Result<u64, StateError>,
}
