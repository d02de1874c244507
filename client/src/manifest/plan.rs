//! What applying a manifest changes: each object created, configured (its spec differs),
//! unchanged, or pruned; and the reference checks of the config that would result, so a
//! file whose router names a missing service is refused with the file's path.

use raftgate_model::Kind;
use raftgate_state::{Command, ConfigState, ObjectKey, ObjectSpec, Op, StateError, StoredObject};
use serde::Serialize;
use serde_json::Value;

use super::shape::normalize;
use super::Manifest;
use crate::error::UsageError;

/// Who `apply` writes as; `--prune` only ever deletes objects written so.
pub const MANAGED_BY: &str = "apply";

/// An object of the live config.
#[derive(Debug, Clone)]
pub struct LiveObject {
    pub kind: Kind,
    pub name: String,
    pub spec: Value,
    pub managed_by: String,
}

/// What happens to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Created,
    Configured,
    Unchanged,
    Pruned,
}

impl Action {
    /// Whether the object is written.
    pub fn writes(self) -> bool {
        self != Action::Unchanged
    }
}

/// One object's change.
#[derive(Debug, Clone)]
pub struct Change {
    pub kind: Kind,
    pub name: String,
    pub action: Action,
    /// The live spec, if the object exists.
    pub before: Option<Value>,
    /// The spec after applying, unless pruned.
    pub after: Option<Value>,
}

/// Every object's change: the file's objects in file order, then pruned ones.
#[derive(Debug, Default)]
pub struct Plan {
    pub changes: Vec<Change>,
}

impl Plan {
    /// The changes that write something.
    pub fn writes(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.action.writes())
    }
}

/// Compares `manifest` with `live`. With `prune`, objects that `apply` wrote before and the
/// manifest no longer mentions are deleted. Fails, naming the file and path, when the
/// resulting config would hold a dangling reference.
pub fn plan(manifest: &Manifest, live: &[LiveObject], prune: bool) -> Result<Plan, UsageError> {
    let mut changes = Vec::new();
    for entry in &manifest.entries {
        let current = live
            .iter()
            .find(|o| o.kind == entry.kind && o.name == entry.name);
        let before = current.map(|o| normalize(o.kind, o.spec.clone()).unwrap_or(o.spec.clone()));
        let action = match &before {
            None => Action::Created,
            Some(b) if *b == entry.spec => Action::Unchanged,
            Some(_) => Action::Configured,
        };
        changes.push(Change {
            kind: entry.kind,
            name: entry.name.clone(),
            action,
            before,
            after: Some(entry.spec.clone()),
        });
    }
    if prune {
        let mut pruned: Vec<&LiveObject> = live
            .iter()
            .filter(|o| o.managed_by == MANAGED_BY)
            .filter(|o| {
                !manifest
                    .entries
                    .iter()
                    .any(|e| e.kind == o.kind && e.name == o.name)
            })
            .collect();
        pruned.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
        changes.extend(pruned.into_iter().map(|o| Change {
            kind: o.kind,
            name: o.name.clone(),
            action: Action::Pruned,
            before: Some(o.spec.clone()),
            after: None,
        }));
    }
    check(manifest, live, &changes)?;
    Ok(Plan { changes })
}

/// The config after the plan, checked by the replicated state's own apply, run here on a
/// copy of the live config: the same checks the leader makes (every object's values, its
/// references, reference cycles, the limits), every problem listed, each prefixed with where
/// the object was read.
fn check(manifest: &Manifest, live: &[LiveObject], changes: &[Change]) -> Result<(), UsageError> {
    let mut state = ConfigState::with_objects(0, live.iter().filter_map(live_object));
    let mut ops = Vec::new();
    for c in changes.iter().filter(|c| c.action.writes()) {
        let key = ObjectKey {
            kind: c.kind,
            name: c.name.clone(),
        };
        ops.push(match &c.after {
            Some(spec) => Op::Put {
                name: c.name.clone(),
                spec: ObjectSpec::from_json(c.kind, &c.name, spec.to_string().as_bytes())
                    .map_err(|e| UsageError(e.to_string()))?,
                managed_by: MANAGED_BY.to_string(),
            },
            None => Op::Delete {
                key,
                expected_mod_revision: None,
            },
        });
    }
    match state.apply(&txn(ops)) {
        Ok(_) => Ok(()),
        Err(StateError::Invalid { errors, omitted }) => {
            let mut lines: Vec<String> = errors
                .iter()
                .map(
                    |e| match e.object().and_then(|(k, n)| origin(manifest, k, n)) {
                        Some(origin) => format!("{origin}: {e}"),
                        None => e.to_string(),
                    },
                )
                .collect();
            if omitted > 0 {
                lines.push(format!("... and {omitted} more problems"));
            }
            Err(UsageError(lines.join("\n")))
        }
        Err(StateError::InUse {
            kind,
            name,
            used_by,
        }) => Err(UsageError(format!(
            "--prune would delete {kind} {name:?}, which is still used by {used_by}"
        ))),
        Err(other) => Err(UsageError(other.to_string())),
    }
}

/// Where the file object `(kind, name)` was read, if it came from a file.
fn origin<'a>(manifest: &'a Manifest, kind: Kind, name: &str) -> Option<&'a str> {
    manifest
        .entries
        .iter()
        .find(|e| e.kind == kind && e.name == name)
        .map(|e| e.origin.as_str())
}

/// A live object as the state holds it, or `None` if this client cannot parse it (a newer
/// server's): it is left out of the local check, and the server checks again anyway.
fn live_object(o: &LiveObject) -> Option<(ObjectKey, StoredObject)> {
    let key = ObjectKey {
        kind: o.kind,
        name: o.name.clone(),
    };
    let object = StoredObject {
        spec: ObjectSpec::from_json(o.kind, &o.name, o.spec.to_string().as_bytes()).ok()?,
        create_revision: 0,
        mod_revision: 0,
        managed_by: o.managed_by.clone(),
    };
    Some((key, object))
}

fn txn(ops: Vec<Op>) -> Command {
    Command::Txn {
        ops,
        expected_revision: None,
    }
}
