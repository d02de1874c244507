//! The replicated config state and its pure, deterministic `apply`.
//!
//! [`ConfigState::apply`] takes a [`Command`] and either produces the list of changes at a
//! new revision or refuses with a [`StateError`] leaving the state untouched. It does no IO,
//! reads no clock and draws no random number, so the same log yields the same state on
//! every node; [`ConfigState::hash`] makes that checkable. Objects live in persistent maps
//! (`imbl`), so cloning a state to publish it or to validate a write is O(1).

use std::collections::BTreeSet;

use imbl::OrdMap;
use raftgate_model::{validate_name, Kind, ModelError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::command::{Command, ObjectKey, ObjectSpec, Op};
use crate::error::StateError;
use crate::graph;
use crate::limits::MAX_TXN_OPS;

/// A stored object: its body and bookkeeping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredObject {
    /// The typed body.
    pub spec: ObjectSpec,
    /// Revision that created the object.
    pub create_revision: u64,
    /// Revision that last changed the object.
    pub mod_revision: u64,
    /// Who manages the object (`cli`, `apply`).
    pub managed_by: String,
}

/// One committed change, as streamed by `watch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Revision the change committed at.
    pub revision: u64,
    /// The object changed.
    pub key: ObjectKey,
    /// The new object, or `None` for a delete.
    pub object: Option<StoredObject>,
}

/// The replicated config: every router, service and middleware, at a revision.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConfigState {
    /// Incremented by every command that changes objects; never reused.
    pub revision: u64,
    /// The cluster's id, set once by the first leader.
    pub cluster_id: Option<String>,
    /// The objects, by kind and name (serialized as a list: JSON map keys must be strings).
    #[serde(with = "objects_as_list")]
    pub objects: OrdMap<ObjectKey, StoredObject>,
    /// Every node id that was ever a member (so removed ids are never reused).
    pub ever_members: BTreeSet<u64>,
}

impl ConfigState {
    /// Applies `cmd`. On success returns the changes made (empty for no-op commands); on
    /// failure the state is unchanged.
    pub fn apply(&mut self, cmd: &Command) -> Result<Vec<Change>, StateError> {
        match cmd {
            Command::SetClusterId { cluster_id } => {
                if self.cluster_id.is_none() {
                    self.cluster_id = Some(cluster_id.clone());
                }
                Ok(Vec::new())
            }
            Command::Txn {
                ops,
                expected_revision,
            } => self.apply_txn(ops, *expected_revision),
        }
    }

    fn apply_txn(
        &mut self,
        ops: &[Op],
        expected_revision: Option<u64>,
    ) -> Result<Vec<Change>, StateError> {
        if let Some(expected) = expected_revision {
            if expected != self.revision {
                return Err(StateError::RevisionConflict {
                    expected,
                    actual: self.revision,
                });
            }
        }
        if ops.len() > MAX_TXN_OPS {
            return Err(StateError::TooManyOps {
                ops: ops.len(),
                limit: MAX_TXN_OPS,
            });
        }
        let revision = self.revision + 1;
        let mut next = self.objects.clone();
        let mut changes = Vec::with_capacity(ops.len());
        let mut touched = BTreeSet::new();
        let mut problems = Vec::new();
        for op in ops {
            let key = op.key();
            if !touched.insert(key.clone()) {
                return Err(StateError::Duplicate(key));
            }
            let object = apply_op(&mut next, op, &key, revision)?;
            if let Some(object) = &object {
                problems.extend(validate(&key, &object.spec).err());
            }
            changes.push(Change {
                revision,
                key,
                object,
            });
        }
        for change in changes.iter().filter(|c| c.object.is_none()) {
            check_unreferenced(&next, &change.key)?;
        }
        let written: Vec<&ObjectKey> = changes
            .iter()
            .filter(|c| c.object.is_some())
            .map(|c| &c.key)
            .collect();
        problems.extend(graph::problems(&next, &written));
        if !problems.is_empty() {
            return Err(StateError::invalid_all(problems));
        }
        if !changes.is_empty() {
            self.objects = next;
            self.revision = revision;
        }
        Ok(changes)
    }

    /// A state holding `objects` as given, unchecked, at `revision`: a copy of a live config,
    /// which was checked when it was written (the CLI dry-runs its writes on one).
    pub fn with_objects(
        revision: u64,
        objects: impl IntoIterator<Item = (ObjectKey, StoredObject)>,
    ) -> Self {
        ConfigState {
            revision,
            objects: objects.into_iter().collect(),
            ..ConfigState::default()
        }
    }

    /// Records a membership: every id in it joins `ever_members`.
    pub fn note_members(&mut self, ids: impl IntoIterator<Item = u64>) {
        self.ever_members.extend(ids);
    }

    /// Objects of one kind, in name order.
    pub fn list(&self, kind: Kind) -> impl Iterator<Item = (&ObjectKey, &StoredObject)> {
        let start = ObjectKey {
            kind,
            name: String::new(),
        };
        self.objects
            .range(start..)
            .take_while(move |(k, _)| k.kind == kind)
    }

    /// One object.
    pub fn get(&self, key: &ObjectKey) -> Option<&StoredObject> {
        self.objects.get(key)
    }

    /// Hex SHA-256 over the revision, the cluster id and every object in key order: equal on
    /// two nodes exactly when their configs are equal.
    pub fn hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.revision.to_be_bytes());
        h.update(self.cluster_id.as_deref().unwrap_or("").as_bytes());
        h.update([0]);
        for (key, object) in &self.objects {
            h.update(key.kind.to_string().as_bytes());
            h.update([0]);
            h.update(key.name.as_bytes());
            h.update([0]);
            h.update(object.spec.to_json());
            h.update([0]);
            h.update(object.create_revision.to_be_bytes());
            h.update(object.mod_revision.to_be_bytes());
            h.update(object.managed_by.as_bytes());
            h.update([0]);
        }
        hex::encode(h.finalize())
    }
}

mod objects_as_list {
    use imbl::OrdMap;
    use serde::{Deserialize, Deserializer, Serializer};

    use super::{ObjectKey, StoredObject};

    pub fn serialize<S: Serializer>(
        map: &OrdMap<ObjectKey, StoredObject>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(map.iter())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<OrdMap<ObjectKey, StoredObject>, D::Error> {
        Ok(Vec::<(ObjectKey, StoredObject)>::deserialize(d)?
            .into_iter()
            .collect())
    }
}

/// Applies one operation to `objects`, returning the object it leaves (None when deleted).
fn apply_op(
    objects: &mut OrdMap<ObjectKey, StoredObject>,
    op: &Op,
    key: &ObjectKey,
    revision: u64,
) -> Result<Option<StoredObject>, StateError> {
    let existing = objects.get(key);
    let (spec, managed_by, create_revision) = match op {
        Op::Create {
            spec, managed_by, ..
        } => {
            if existing.is_some() {
                return Err(StateError::AlreadyExists {
                    kind: key.kind,
                    name: key.name.clone(),
                });
            }
            (spec, managed_by, revision)
        }
        Op::Update {
            spec,
            managed_by,
            expected_mod_revision,
            ..
        } => {
            let current = existing.ok_or_else(|| not_found(key))?;
            check_mod_revision(key, current, *expected_mod_revision)?;
            (spec, managed_by, current.create_revision)
        }
        Op::Put {
            spec, managed_by, ..
        } => (
            spec,
            managed_by,
            existing.map_or(revision, |o| o.create_revision),
        ),
        Op::Delete {
            expected_mod_revision,
            ..
        } => {
            let current = existing.ok_or_else(|| not_found(key))?;
            check_mod_revision(key, current, *expected_mod_revision)?;
            objects.remove(key);
            return Ok(None);
        }
    };
    let object = StoredObject {
        spec: spec.clone(),
        create_revision,
        mod_revision: revision,
        managed_by: managed_by.clone(),
    };
    objects.insert(key.clone(), object.clone());
    Ok(Some(object))
}

fn not_found(key: &ObjectKey) -> StateError {
    StateError::NotFound {
        kind: key.kind,
        name: key.name.clone(),
    }
}

fn check_mod_revision(
    key: &ObjectKey,
    current: &StoredObject,
    expected: Option<u64>,
) -> Result<(), StateError> {
    match expected {
        Some(expected) if expected != current.mod_revision => Err(StateError::ObjectConflict {
            kind: key.kind,
            name: key.name.clone(),
            expected,
            actual: current.mod_revision,
        }),
        _ => Ok(()),
    }
}

/// Checks the name and the body of one object on its own (references are checked on the
/// whole transaction's result).
pub fn validate(key: &ObjectKey, spec: &ObjectSpec) -> Result<(), ModelError> {
    validate_name(key.kind, &key.name)?;
    match spec {
        ObjectSpec::Router(r) => r.validate(&key.name),
        ObjectSpec::Service(s) => s.validate(&key.name),
        ObjectSpec::Middleware(m) => m.validate(&key.name),
        ObjectSpec::ServersTransport(t) => t.validate(&key.name),
    }
}

/// No object may still reference the deleted `key`.
fn check_unreferenced(
    objects: &OrdMap<ObjectKey, StoredObject>,
    key: &ObjectKey,
) -> Result<(), StateError> {
    let users: Vec<String> = objects
        .iter()
        .filter(|(_, o)| o.spec.references().contains(key))
        .map(|(k, _)| k.to_string())
        .collect();
    if users.is_empty() {
        Ok(())
    } else {
        Err(StateError::InUse {
            kind: key.kind,
            name: key.name.clone(),
            used_by: users.join(", "),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: Kind, json: serde_json::Value) -> ObjectSpec {
        ObjectSpec::from_json(kind, "x", &serde_json::to_vec(&json).unwrap()).unwrap()
    }

    fn service() -> ObjectSpec {
        spec(
            Kind::Service,
            serde_json::json!({"loadBalancer": {"servers": [{"url": "http://127.0.0.1:9101"}]}}),
        )
    }

    fn router(service: &str) -> ObjectSpec {
        spec(
            Kind::Router,
            serde_json::json!({"rule": "PathPrefix(`/api`)", "service": service}),
        )
    }

    fn create(name: &str, spec: ObjectSpec) -> Command {
        Command::Txn {
            ops: vec![Op::Create {
                name: name.into(),
                spec,
                managed_by: "cli".into(),
            }],
            expected_revision: None,
        }
    }

    fn key(kind: Kind, name: &str) -> ObjectKey {
        ObjectKey {
            kind,
            name: name.into(),
        }
    }

    #[test]
    fn writes_move_the_revision_and_refusals_change_nothing() {
        let mut s = ConfigState::default();
        let changes = s.apply(&create("api", service())).unwrap();
        assert_eq!((s.revision, changes.len()), (1, 1));
        s.apply(&create("api", router("api"))).unwrap();
        assert_eq!(s.revision, 2);
        let before = s.clone();
        for bad in [
            create("api", service()),      // duplicate
            create("web", router("nope")), // missing service
        ] {
            assert!(s.apply(&bad).is_err());
            assert_eq!(s, before);
        }
        let delete_used = Command::Txn {
            ops: vec![Op::Delete {
                key: key(Kind::Service, "api"),
                expected_mod_revision: None,
            }],
            expected_revision: None,
        };
        let err = s.apply(&delete_used).unwrap_err();
        assert!(matches!(err, StateError::InUse { .. }), "{err}");
        assert_eq!(s, before);
    }

    #[test]
    fn a_transaction_is_all_or_nothing_and_takes_one_revision() {
        let mut s = ConfigState::default();
        let txn = |ops| Command::Txn {
            ops,
            expected_revision: None,
        };
        let put = |name: &str, spec| Op::Put {
            name: name.into(),
            spec,
            managed_by: "apply".into(),
        };
        let bad = txn(vec![put("a", service()), put("r", router("missing"))]);
        assert!(s.apply(&bad).is_err());
        assert_eq!(s, ConfigState::default());
        let good = txn(vec![put("a", service()), put("r", router("a"))]);
        assert_eq!(s.apply(&good).unwrap().len(), 2);
        assert_eq!(s.revision, 1);
        assert_eq!(s.get(&key(Kind::Router, "r")).unwrap().mod_revision, 1);
        let stale = Command::Txn {
            ops: vec![put("b", service())],
            expected_revision: Some(0),
        };
        assert!(matches!(
            s.apply(&stale),
            Err(StateError::RevisionConflict {
                expected: 0,
                actual: 1
            })
        ));
    }

    #[test]
    fn updates_check_the_object_revision_and_keep_the_creation_revision() {
        let mut s = ConfigState::default();
        s.apply(&create("a", service())).unwrap();
        s.apply(&create("b", service())).unwrap();
        let update = |expected| Command::Txn {
            ops: vec![Op::Update {
                name: "a".into(),
                spec: service(),
                managed_by: "cli".into(),
                expected_mod_revision: expected,
            }],
            expected_revision: None,
        };
        assert!(matches!(
            s.apply(&update(Some(2))),
            Err(StateError::ObjectConflict { .. })
        ));
        s.apply(&update(Some(1))).unwrap();
        let a = s.get(&key(Kind::Service, "a")).unwrap();
        assert_eq!((a.create_revision, a.mod_revision), (1, 3));
    }

    #[test]
    fn equal_states_hash_equal_and_any_difference_shows() {
        let mut a = ConfigState::default();
        let mut b = ConfigState::default();
        for s in [&mut a, &mut b] {
            s.apply(&create("api", service())).unwrap();
        }
        assert_eq!(a.hash(), b.hash());
        b.apply(&create("api", router("api"))).unwrap();
        assert_ne!(a.hash(), b.hash());
        let listed: Vec<_> = b.list(Kind::Router).map(|(k, _)| k.name.clone()).collect();
        assert_eq!(listed, ["api"]);
    }

    #[test]
    fn a_state_round_trips_through_json() {
        let mut s = ConfigState::default();
        s.apply(&create("api", service())).unwrap();
        s.apply(&create("api", router("api"))).unwrap();
        let back: ConfigState = serde_json::from_slice(&serde_json::to_vec(&s).unwrap()).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.hash(), s.hash());
    }

    #[test]
    fn the_cluster_id_is_set_once() {
        let mut s = ConfigState::default();
        let set = |id: &str| Command::SetClusterId {
            cluster_id: id.into(),
        };
        s.apply(&set("one")).unwrap();
        s.apply(&set("two")).unwrap();
        assert_eq!(s.cluster_id.as_deref(), Some("one"));
        assert_eq!(s.revision, 0);
    }
}
