//! The one error type of the model: every message is a single line that names the object, the
//! field path and what is wrong with it.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::rule::RuleError;
use crate::Kind;

/// Why a config object, a name or a reference was refused. Serializable: refusals travel in
/// the Raft log's responses and keep their structure up to the admin API's status mapping.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
pub enum ModelError {
    /// An object name breaks the naming rule.
    #[error("{kind} name {name:?}: {reason}")]
    InvalidName {
        /// Kind of the object being named.
        kind: Kind,
        /// The offending name, as given.
        name: String,
        /// The rule it breaks.
        reason: String,
    },
    /// A field of an object holds an invalid value.
    #[error("{kind} {name:?}: {}", with_field(field, reason))]
    Invalid {
        /// Kind of the object.
        kind: Kind,
        /// Name of the object.
        name: String,
        /// Path of the field inside the object, e.g. `loadBalancer.servers[0].url`; empty when
        /// the problem concerns the object as a whole.
        field: String,
        /// What is wrong with the value.
        reason: String,
    },
    /// A router's rule does not parse; `source` carries the 1-based column.
    #[error("router {router:?}: rule: {source}")]
    Rule {
        /// Name of the router.
        router: String,
        /// The parse error, with its column.
        #[source]
        source: RuleError,
    },
    /// A middleware type that parses but that raftgate does not implement yet.
    #[error("middleware {name:?}: {middleware_type} is not yet supported")]
    Unsupported {
        /// Name of the middleware.
        name: String,
        /// Traefik type key of the middleware, e.g. `rateLimit`.
        middleware_type: String,
    },
    /// An object refers to another object that does not exist.
    #[error("{from_kind} {from_name:?}: {to_kind} {to_name:?} does not exist")]
    MissingReference {
        /// Kind of the referring object.
        from_kind: Kind,
        /// Name of the referring object.
        from_name: String,
        /// Kind of the missing object.
        to_kind: Kind,
        /// The reference as written (it may carry an `@provider` suffix).
        to_name: String,
    },
    /// References between objects of one kind form a cycle through this object.
    #[error("{kind} {name:?}: reference cycle {}", path.join(" -> "))]
    Cycle {
        /// Kind of the objects in the cycle.
        kind: Kind,
        /// Name of the object the cycle was found from.
        name: String,
        /// The names along the cycle, starting and ending with `name`.
        path: Vec<String>,
    },
    /// A kind name that is none of router, service or middleware.
    #[error("unknown kind {0:?} (expected router, service or middleware)")]
    UnknownKind(String),
}

impl ModelError {
    /// The object the error is about, when there is one: its kind and name.
    pub fn object(&self) -> Option<(Kind, &str)> {
        match self {
            ModelError::InvalidName { kind, name, .. }
            | ModelError::Invalid { kind, name, .. }
            | ModelError::Cycle { kind, name, .. } => Some((*kind, name)),
            ModelError::Rule { router, .. } => Some((Kind::Router, router)),
            ModelError::Unsupported { name, .. } => Some((Kind::Middleware, name)),
            ModelError::MissingReference {
                from_kind,
                from_name,
                ..
            } => Some((*from_kind, from_name)),
            ModelError::UnknownKind(_) => None,
        }
    }
}

/// `field: reason`, or just `reason` when no field is named.
fn with_field(field: &str, reason: &str) -> String {
    if field.is_empty() {
        reason.to_string()
    } else {
        format!("{field}: {reason}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_object_field_and_reason() {
        let err = ModelError::Invalid {
            kind: Kind::Service,
            name: "api".into(),
            field: "loadBalancer.servers[0].url".into(),
            reason: "scheme must be http, https or h2c".into(),
        };
        assert_eq!(
            err.to_string(),
            "service \"api\": loadBalancer.servers[0].url: scheme must be http, https or h2c"
        );
        let err = ModelError::MissingReference {
            from_kind: Kind::Router,
            from_name: "web".into(),
            to_kind: Kind::Service,
            to_name: "api".into(),
        };
        assert_eq!(
            err.to_string(),
            "router \"web\": service \"api\" does not exist"
        );
    }

    #[test]
    fn rule_error_carries_column() {
        let err = ModelError::Rule {
            router: "web".into(),
            source: RuleError {
                column: 12,
                message: "expected `)` after matcher arguments".into(),
            },
        };
        assert_eq!(
            err.to_string(),
            "router \"web\": rule: column 12: expected `)` after matcher arguments"
        );
    }

    #[test]
    fn cycle_lists_path() {
        let err = ModelError::Cycle {
            kind: Kind::Middleware,
            name: "a".into(),
            path: vec!["a".into(), "b".into(), "a".into()],
        };
        assert_eq!(
            err.to_string(),
            "middleware \"a\": reference cycle a -> b -> a"
        );
    }
}
