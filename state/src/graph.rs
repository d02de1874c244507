//! The checks of a transaction that span objects, run on the state it would leave: references
//! that resolve, reference cycles, nesting depth, and the middlewares a router runs once its
//! chains are flattened. Each problem becomes one [`ModelError`] naming the object.

use std::collections::{BTreeMap, BTreeSet};

use imbl::OrdMap;
use raftgate_model::graph::{find_cycle, fold_down, reversed};
use raftgate_model::{Kind, Middleware, ModelError};

use crate::command::{ObjectKey, ObjectSpec};
use crate::limits::{MAX_REFERENCE_DEPTH, MAX_ROUTER_MIDDLEWARES};
use crate::state::StoredObject;

type Objects = OrdMap<ObjectKey, StoredObject>;

/// Every problem the objects written (`written`, all present in `objects`) make: missing
/// references, cycles through them, references nested too deep through them, and routers
/// running too many middlewares.
pub(crate) fn problems(objects: &Objects, written: &[&ObjectKey]) -> Vec<ModelError> {
    let mut out = Vec::new();
    for key in written {
        if let Some(object) = objects.get(*key) {
            out.extend(missing_references(objects, key, &object.spec));
        }
    }
    // The middleware graph, built once when both checks below need it.
    let mut middleware_edges = None;
    for kind in [Kind::Service, Kind::Middleware] {
        let names: Vec<&str> = written
            .iter()
            .filter(|k| k.kind == kind)
            .map(|k| k.name.as_str())
            .collect();
        if !names.is_empty() {
            let edges = same_kind_edges(objects, kind);
            out.extend(nesting_problems(kind, &edges, &names));
            if kind == Kind::Middleware {
                middleware_edges = Some(edges);
            }
        }
    }
    out.extend(middleware_count_problems(
        objects,
        written,
        middleware_edges,
    ));
    out
}

/// A reference `spec` makes to an object that does not exist.
fn missing_references(objects: &Objects, key: &ObjectKey, spec: &ObjectSpec) -> Vec<ModelError> {
    spec.references()
        .into_iter()
        .filter(|target| !objects.contains_key(target))
        .map(|target| ModelError::MissingReference {
            from_kind: key.kind,
            from_name: key.name.clone(),
            to_kind: target.kind,
            to_name: target.name,
        })
        .collect()
}

/// The objects of `kind`, in name order.
fn of_kind(objects: &Objects, kind: Kind) -> impl Iterator<Item = (&ObjectKey, &StoredObject)> {
    let start = ObjectKey {
        kind,
        name: String::new(),
    };
    objects
        .range(start..)
        .take_while(move |(k, _)| k.kind == kind)
}

/// The references between objects of `kind` (existing targets only, provider suffixes
/// stripped).
fn same_kind_edges(objects: &Objects, kind: Kind) -> BTreeMap<&str, Vec<&str>> {
    let mut edges = BTreeMap::new();
    for (key, object) in of_kind(objects, kind) {
        let refs = object
            .spec
            .references()
            .into_iter()
            .filter(|r| r.kind == kind)
            .filter_map(|r| objects.get_key_value(&r).map(|(k, _)| k.name.as_str()))
            .collect();
        edges.insert(key.name.as_str(), refs);
    }
    edges
}

/// Cycles through the written objects `names` of `kind`, then (when there is none) paths of
/// references through them longer than [`MAX_REFERENCE_DEPTH`] objects.
fn nesting_problems(
    kind: Kind,
    edges: &BTreeMap<&str, Vec<&str>>,
    names: &[&str],
) -> Vec<ModelError> {
    let refs = |n: &str| edges.get(n).cloned().unwrap_or_default();
    let cycles: Vec<ModelError> = names
        .iter()
        .filter_map(|name| {
            find_cycle(name, refs).map(|path| ModelError::Cycle {
                kind,
                name: name.to_string(),
                path,
            })
        })
        .collect();
    if !cycles.is_empty() {
        return cycles;
    }
    let depth = |_: &str, below: &[usize]| 1 + below.iter().max().copied().unwrap_or(0);
    let down = fold_down(edges, 1, depth);
    let up = fold_down(&reversed(edges), 1, depth);
    // One path too deep goes through every object on it: name the first one written.
    let mut out = Vec::new();
    for name in names {
        let through = down.get(name).copied().unwrap_or(1) + up.get(name).copied().unwrap_or(1) - 1;
        if through > MAX_REFERENCE_DEPTH {
            out.push(ModelError::Invalid {
                kind,
                name: name.to_string(),
                field: String::new(),
                reason: format!(
                    "{kind}s referring to {kind}s nest {through} deep through this one, more than \
                     the limit of {MAX_REFERENCE_DEPTH}"
                ),
            });
            break;
        }
    }
    out
}

/// Routers that would run more than [`MAX_ROUTER_MIDDLEWARES`] middlewares once chains are
/// flattened: the written routers, or every router when a middleware was written.
fn middleware_count_problems<'a>(
    objects: &'a Objects,
    written: &[&ObjectKey],
    middleware_edges: Option<BTreeMap<&'a str, Vec<&'a str>>>,
) -> Vec<ModelError> {
    let any_middleware = written.iter().any(|k| k.kind == Kind::Middleware);
    let written_routers: BTreeSet<&str> = written
        .iter()
        .filter(|k| k.kind == Kind::Router)
        .map(|k| k.name.as_str())
        .collect();
    if !any_middleware && written_routers.is_empty() {
        return Vec::new();
    }
    let edges = middleware_edges.unwrap_or_else(|| same_kind_edges(objects, Kind::Middleware));
    let flat = flattened_counts(objects, &edges);
    let mut out = Vec::new();
    for (key, object) in of_kind(objects, Kind::Router) {
        if !any_middleware && !written_routers.contains(key.name.as_str()) {
            continue;
        }
        let ObjectSpec::Router(router) = &object.spec else {
            continue;
        };
        let total = router
            .middlewares
            .iter()
            .map(|m| {
                flat.get(raftgate_model::strip_provider(m))
                    .copied()
                    .unwrap_or(1)
            })
            .fold(0usize, usize::saturating_add);
        if total > MAX_ROUTER_MIDDLEWARES {
            out.push(ModelError::Invalid {
                kind: Kind::Router,
                name: key.name.clone(),
                field: "middlewares".into(),
                reason: format!(
                    "runs {total} middlewares once chains are flattened, more than the limit of \
                     {MAX_ROUTER_MIDDLEWARES}"
                ),
            });
        }
    }
    out
}

/// How many middlewares each middleware stands for once flattened: a `chain` the sum of its
/// members, any other 1.
fn flattened_counts<'a>(
    objects: &'a Objects,
    edges: &BTreeMap<&'a str, Vec<&'a str>>,
) -> BTreeMap<&'a str, usize> {
    let chains: BTreeSet<&str> = of_kind(objects, Kind::Middleware)
        .filter(|(_, o)| matches!(&o.spec, ObjectSpec::Middleware(Middleware::Chain(_))))
        .map(|(k, _)| k.name.as_str())
        .collect();
    fold_down(edges, 1, |name, below: &[usize]| {
        if chains.contains(name) {
            below.iter().copied().fold(0, usize::saturating_add)
        } else {
            1
        }
    })
}

#[cfg(test)]
mod tests;
