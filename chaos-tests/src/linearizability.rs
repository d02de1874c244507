//! Linearizability checker for the histories that chaos workloads record against raftgate's
//! replicated config store.
//!
//! A history is a list of client [`Operation`]s on keys (`kind/name` of a config object), each with
//! an invoke time and, when the client saw an answer, a completion time. Every key is an independent
//! register that starts absent, so [`check`] splits the history by key and checks each one on its
//! own (linearizability is compositional over objects).
//!
//! Per key the checker runs a Wing & Gong / Lowe style depth-first search over the invoke/return
//! events, memoizing every (set of linearized operations, register value) pair it has already
//! explored so that no configuration is searched twice.
//!
//! How outcomes are modelled:
//! - `Ok` operations must take effect exactly once, between their invoke and their completion.
//!   Real-time order is strict: `a` must precede `b` only when `a.complete < b.invoke`; equal
//!   timestamps count as concurrent.
//! - `Fail` operations definitely had no effect. They are dropped before the search. This is sound
//!   (a no-op can always be left out) but means a failed `Create` is not used as evidence that the
//!   key was present.
//! - `Unknown` operations may take effect at any point after their invoke, or never: they have no
//!   return event and the search may leave them out. An unknown read constrains nothing and is
//!   dropped; an unknown write or create whose value no read ever returned is dropped as well,
//!   since it can always be left out of a linearization (this keeps timeouts cheap to check).
//! - Malformed timing is tolerated rather than rejected: an `Ok`/`Fail` without a completion time is
//!   treated as completing at +infinity, and a completion before the invoke is clamped to the invoke.

mod model;
mod search;

#[cfg(test)]
mod generated;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What a client asked the store to do with one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OpKind {
    /// Read the current value.
    Read,
    /// Put a value (`Some`) or delete the key (`None`).
    Write(Option<String>),
    /// Put a value only if the key is absent.
    Create(String),
}

/// What the client learned about its operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// It took effect. For reads, the value seen (`None` = absent); writes carry `None`.
    Ok(Option<String>),
    /// It definitely did not take effect.
    Fail,
    /// The client timed out: it may have taken effect at any time after invoke, or never.
    Unknown,
}

/// One client operation as recorded by a workload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    pub client: u64,
    pub key: String,
    pub kind: OpKind,
    /// Monotonic nanoseconds when the request was sent.
    pub invoke: u64,
    /// Monotonic nanoseconds when the answer arrived; `None` when the outcome is unknown.
    pub complete: Option<u64>,
    pub outcome: Outcome,
}

/// The verdict on a whole history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    pub linearizable: bool,
    /// Keys checked, in key order; checking stops at the first key that is not linearizable.
    pub keys_checked: usize,
    /// Operations (of any outcome) on the keys checked.
    pub operations_checked: usize,
    /// The first key (in key order) whose history is not linearizable.
    pub failing_key: Option<String>,
    /// Why `failing_key` is not linearizable: the longest linearizable prefix found and the
    /// operations that could not be ordered after it.
    pub explanation: Option<String>,
}

/// Checks a history, key by key, and reports the first key that is not linearizable.
pub fn check(history: &[Operation]) -> CheckResult {
    let mut by_key: BTreeMap<&str, Vec<&Operation>> = BTreeMap::new();
    for op in history {
        by_key.entry(op.key.as_str()).or_default().push(op);
    }

    let mut result = CheckResult {
        linearizable: true,
        keys_checked: 0,
        operations_checked: 0,
        failing_key: None,
        explanation: None,
    };
    for (key, ops) in by_key {
        result.keys_checked += 1;
        result.operations_checked += ops.len();
        let prepared = model::KeyHistory::prepare(&ops);
        if let Err(failure) = search::linearize(&prepared) {
            tracing::debug!(key, "history is not linearizable");
            result.linearizable = false;
            result.failing_key = Some(key.to_owned());
            result.explanation = Some(format!("key {key:?}: {}", failure.explain(&prepared)));
            break;
        }
    }
    result
}
