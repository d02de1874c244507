//! A whole dynamic configuration (routers, services, middlewares by name) and the checks that
//! span objects: references that must resolve, reference cycles, and who refers to whom.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{strip_provider, Kind, Middleware, ModelError, Router, ServersTransport, Service};

/// Routers, services and middlewares by name, as in Traefik's `http` dynamic configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DynamicConfig {
    /// Routers by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub routers: BTreeMap<String, Router>,
    /// Services by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub services: BTreeMap<String, Service>,
    /// Middlewares by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub middlewares: BTreeMap<String, Middleware>,
    /// Servers transports by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub servers_transports: BTreeMap<String, ServersTransport>,
}

impl DynamicConfig {
    /// Whether an object `(kind, name)` exists; `name` may carry an `@provider` suffix.
    pub fn contains(&self, kind: Kind, name: &str) -> bool {
        let name = strip_provider(name);
        match kind {
            Kind::Router => self.routers.contains_key(name),
            Kind::Service => self.services.contains_key(name),
            Kind::Middleware => self.middlewares.contains_key(name),
            Kind::ServersTransport => self.servers_transports.contains_key(name),
        }
    }

    /// The references made by `(kind, name)`, or `None` if it does not exist.
    pub fn references(&self, kind: Kind, name: &str) -> Option<Vec<(Kind, &str)>> {
        match kind {
            Kind::Router => self.routers.get(name).map(Router::references),
            Kind::Service => self.services.get(name).map(Service::references),
            Kind::Middleware => self.middlewares.get(name).map(Middleware::references),
            Kind::ServersTransport => self.servers_transports.get(name).map(|_| Vec::new()),
        }
    }

    /// Every reference made by the object `(kind, name)` points to an existing object
    /// (router → service and middlewares, weighted/mirroring/failover → services,
    /// chain → middlewares, errors → service), and no chain of references leads back to it.
    pub fn check_references(&self, kind: Kind, name: &str) -> Result<(), ModelError> {
        let refs = self
            .references(kind, name)
            .ok_or_else(|| ModelError::NotFound {
                kind,
                name: name.to_string(),
            })?;
        for (to_kind, to_name) in refs {
            if !self.contains(to_kind, to_name) {
                return Err(ModelError::MissingReference {
                    from_kind: kind,
                    from_name: name.to_string(),
                    to_kind,
                    to_name: to_name.to_string(),
                });
            }
        }
        if let Some(path) = self.find_cycle(kind, name) {
            return Err(ModelError::Cycle {
                kind,
                name: name.to_string(),
                path,
            });
        }
        Ok(())
    }

    /// The objects that refer to `(kind, name)`, each once, in kind then name order; used to
    /// refuse deleting an object still in use.
    pub fn referrers(&self, kind: Kind, name: &str) -> Vec<(Kind, String)> {
        let name = strip_provider(name);
        let refers = |refs: Vec<(Kind, &str)>| {
            refs.into_iter()
                .any(|(k, r)| k == kind && strip_provider(r) == name)
        };
        let mut out = Vec::new();
        let mut collect = |from: Kind, from_name: &String, refs| {
            if refers(refs) && !(from == kind && from_name == name) {
                out.push((from, from_name.clone()));
            }
        };
        for (n, r) in &self.routers {
            collect(Kind::Router, n, r.references());
        }
        for (n, s) in &self.services {
            collect(Kind::Service, n, s.references());
        }
        for (n, m) in &self.middlewares {
            collect(Kind::Middleware, n, m.references());
        }
        for n in self.servers_transports.keys() {
            collect(Kind::ServersTransport, n, Vec::new());
        }
        out
    }

    /// Validates every object, then checks every object's references.
    pub fn validate(&self) -> Result<(), ModelError> {
        for (name, r) in &self.routers {
            r.validate(name)?;
        }
        for (name, s) in &self.services {
            s.validate(name)?;
        }
        for (name, m) in &self.middlewares {
            m.validate(name)?;
        }
        for (name, t) in &self.servers_transports {
            t.validate(name)?;
        }
        for kind in Kind::ALL {
            for name in self.names(kind) {
                self.check_references(kind, name)?;
            }
        }
        Ok(())
    }

    /// Names of the objects of `kind`, in order.
    fn names(&self, kind: Kind) -> Vec<&str> {
        match kind {
            Kind::Router => self.routers.keys().map(String::as_str).collect(),
            Kind::Service => self.services.keys().map(String::as_str).collect(),
            Kind::Middleware => self.middlewares.keys().map(String::as_str).collect(),
            Kind::ServersTransport => self.servers_transports.keys().map(String::as_str).collect(),
        }
    }

    /// Names of the objects of `kind` that `(kind, name)` refers to, providers stripped.
    fn same_kind_refs(&self, kind: Kind, name: &str) -> Vec<&str> {
        self.references(kind, name)
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, r)| strip_provider(r))
            .collect()
    }

    /// A chain of same-kind references from `start` back to itself, as names from `start` to
    /// `start`.
    fn find_cycle(&self, kind: Kind, start: &str) -> Option<Vec<String>> {
        crate::graph::find_cycle(start, |n| {
            if self.contains(kind, n) {
                self.same_kind_refs(kind, n)
            } else {
                Vec::new()
            }
        })
    }
}

#[cfg(test)]
mod tests;
