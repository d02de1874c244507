//! What applying a manifest changes: each object created, configured (its spec differs),
//! unchanged, or pruned; and the reference checks of the config that would result, so a
//! file whose router names a missing service is refused with the file's path.

use raftgate_model::{DynamicConfig, Kind, Middleware, Router, ServersTransport, Service};
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
        let before =
            current.map(|o| normalize(o.kind, &o.name, o.spec.clone()).unwrap_or(o.spec.clone()));
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
    check_references(manifest, live, &changes)?;
    Ok(Plan { changes })
}

/// The config after the plan, checked: every file object's references resolve, and no
/// pruned object is still used.
fn check_references(
    manifest: &Manifest,
    live: &[LiveObject],
    changes: &[Change],
) -> Result<(), UsageError> {
    let mut config = DynamicConfig::default();
    for o in live {
        insert(&mut config, o.kind, &o.name, &o.spec);
    }
    for c in changes {
        match &c.after {
            Some(spec) => insert(&mut config, c.kind, &c.name, spec),
            None => remove(&mut config, c.kind, &c.name),
        }
    }
    for entry in &manifest.entries {
        config
            .check_references(entry.kind, &entry.name)
            .map_err(|e| UsageError(format!("{}: {e}", entry.origin)))?;
    }
    for c in changes.iter().filter(|c| c.action == Action::Pruned) {
        let users = config.referrers(c.kind, &c.name);
        if !users.is_empty() {
            let users: Vec<String> = users.iter().map(|(k, n)| format!("{k} {n:?}")).collect();
            return Err(UsageError(format!(
                "--prune would delete {} {:?}, which is still used by {}",
                c.kind,
                c.name,
                users.join(", ")
            )));
        }
    }
    Ok(())
}

fn insert(config: &mut DynamicConfig, kind: Kind, name: &str, spec: &Value) {
    let name = name.to_string();
    // Live objects were validated by the server; one this client cannot parse (a newer
    // server) is left out of the local check, and the server checks again anyway.
    let _ = match kind {
        Kind::Router => serde_json::from_value::<Router>(spec.clone())
            .map(|r| config.routers.insert(name, r))
            .map(drop),
        Kind::Service => serde_json::from_value::<Service>(spec.clone())
            .map(|s| config.services.insert(name, s))
            .map(drop),
        Kind::Middleware => serde_json::from_value::<Middleware>(spec.clone())
            .map(|m| config.middlewares.insert(name, m))
            .map(drop),
        Kind::ServersTransport => serde_json::from_value::<ServersTransport>(spec.clone())
            .map(|t| config.servers_transports.insert(name, t))
            .map(drop),
    };
}

fn remove(config: &mut DynamicConfig, kind: Kind, name: &str) {
    match kind {
        Kind::Router => drop(config.routers.remove(name)),
        Kind::Service => drop(config.services.remove(name)),
        Kind::Middleware => drop(config.middlewares.remove(name)),
        Kind::ServersTransport => drop(config.servers_transports.remove(name)),
    }
}
