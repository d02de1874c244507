//! The register model of one key, and the preparation of a key's raw operations for the search:
//! dropping operations that cannot matter, interning values into small integers, and the pure
//! `step` function that applies one operation to the register.

use std::collections::{HashMap, HashSet};
use std::fmt;

use super::{OpKind, Operation, Outcome};

/// A register value: `ABSENT`, or `i + 1` for the `i`-th interned string.
pub(super) type Value = u32;

pub(super) const ABSENT: Value = 0;

/// What an operation does to the register, with values interned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    /// Must observe this value.
    Read(Value),
    /// Sets the register (`ABSENT` deletes).
    Write(Value),
    /// Sets the register, only if it is absent.
    Create(Value),
}

/// Applies `action` to a register holding `state`; `None` if the action cannot happen there.
pub(super) fn step(state: Value, action: Action) -> Option<Value> {
    match action {
        Action::Read(seen) => (seen == state).then_some(state),
        Action::Write(value) => Some(value),
        Action::Create(value) => (state == ABSENT).then_some(value),
    }
}

/// One operation kept for the search.
#[derive(Debug, Clone)]
pub(super) struct KeyOp<'a> {
    pub source: &'a Operation,
    pub action: Action,
    pub invoke: u64,
    /// For required ops, the return (`None` = +infinity). For optional ops, the deadline after
    /// which taking it can no longer matter (`None` = never).
    pub complete: Option<u64>,
    /// `false` for unknown outcomes: the search may leave the operation out.
    pub required: bool,
}

/// The operations of one key, ready to search.
#[derive(Debug)]
pub(super) struct KeyHistory<'a> {
    pub ops: Vec<KeyOp<'a>>,
    values: Vec<&'a str>,
}

impl<'a> KeyHistory<'a> {
    /// Keeps the operations that can constrain the search (see the module docs of
    /// `linearizability` for what is dropped and why) and interns their values.
    pub fn prepare(raw: &[&'a Operation]) -> Self {
        let observed: HashSet<Option<&str>> = raw
            .iter()
            .filter_map(|op| match (&op.kind, &op.outcome) {
                (OpKind::Read, Outcome::Ok(seen)) => Some(seen.as_deref()),
                _ => None,
            })
            .collect();
        let has_create = raw.iter().any(|op| matches!(op.kind, OpKind::Create(_)));

        let mut ops = Vec::with_capacity(raw.len());
        let mut values: Vec<&'a str> = Vec::new();
        let mut ids: HashMap<&'a str, Value> = HashMap::new();
        let mut intern = |value: Option<&'a str>| -> Value {
            let Some(value) = value else { return ABSENT };
            *ids.entry(value).or_insert_with(|| {
                values.push(value);
                Value::try_from(values.len()).unwrap_or(Value::MAX)
            })
        };

        for &op in raw {
            let required = match op.outcome {
                Outcome::Ok(_) => true,
                Outcome::Unknown => false,
                Outcome::Fail => continue,
            };
            let action = match (&op.kind, &op.outcome) {
                (OpKind::Read, Outcome::Ok(seen)) => Action::Read(intern(seen.as_deref())),
                (OpKind::Read, _) => continue,
                (OpKind::Write(Some(value)), _)
                    if !required && !observed.contains(&Some(value)) =>
                {
                    continue
                }
                (OpKind::Write(None), _)
                    if !required && !observed.contains(&None) && !has_create =>
                {
                    continue
                }
                (OpKind::Write(value), _) => Action::Write(intern(value.as_deref())),
                (OpKind::Create(value), _) if !required && !observed.contains(&Some(value)) => {
                    continue
                }
                (OpKind::Create(value), _) => Action::Create(intern(Some(value))),
            };
            let complete = if required {
                op.complete.map(|complete| complete.max(op.invoke))
            } else {
                None
            };
            ops.push(KeyOp {
                source: op,
                action,
                invoke: op.invoke,
                complete,
                required,
            });
        }
        tighten_unknown_writes(&mut ops);
        ops.sort_by_key(|op| op.invoke);
        KeyHistory { ops, values }
    }

    /// Renders a value for explanations.
    pub fn value(&self, value: Value) -> ValueDisplay<'_> {
        let index = usize::try_from(value).unwrap_or(usize::MAX);
        ValueDisplay(
            index
                .checked_sub(1)
                .and_then(|i| self.values.get(i).copied()),
        )
    }

    /// Renders an operation for explanations.
    pub fn describe(&self, op: &KeyOp<'_>) -> String {
        let what = match op.action {
            Action::Read(seen) => format!("read -> {}", self.value(seen)),
            Action::Write(ABSENT) => "delete".to_owned(),
            Action::Write(value) => format!("write {}", self.value(value)),
            Action::Create(value) => format!("create {}", self.value(value)),
        };
        let complete = match (&op.source.outcome, op.complete) {
            (Outcome::Unknown, Some(by)) if op.required => format!("unknown, seen by {by}"),
            (Outcome::Unknown, Some(by)) => format!("unknown, moot after {by}"),
            (Outcome::Unknown, None) => "unknown".to_owned(),
            (_, Some(complete)) => complete.to_string(),
            (_, None) => "inf".to_owned(),
        };
        format!(
            "client {} {what} [{}, {complete}]",
            op.source.client, op.invoke
        )
    }
}

/// An unknown write or create whose value no other operation writes, and that some read observed,
/// must have taken effect, and before the earliest completion of a read that observed it. Making
/// it required with that completion keeps the search from trying to leave it out or to place it
/// anywhere later, which is what makes timeouts cheap.
fn tighten_unknown_writes(ops: &mut [KeyOp<'_>]) {
    let mut writers: HashMap<Value, usize> = HashMap::new();
    // Earliest completion of a read of each value; `None` = only reads that never returned.
    let mut first_seen: HashMap<Value, Option<u64>> = HashMap::new();
    for op in ops.iter() {
        match op.action {
            Action::Read(value) => {
                let earliest = first_seen.entry(value).or_insert(op.complete);
                *earliest = match (*earliest, op.complete) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            Action::Write(value) | Action::Create(value) => *writers.entry(value).or_default() += 1,
        }
    }
    for op in ops.iter_mut().filter(|op| !op.required) {
        let (Action::Write(value) | Action::Create(value)) = op.action else {
            continue;
        };
        if value == ABSENT || writers.get(&value) != Some(&1) {
            continue;
        }
        if let Some(&earliest) = first_seen.get(&value) {
            op.required = true;
            op.complete = earliest.map(|complete| complete.max(op.invoke));
        }
    }
    set_deadlines(ops);
}

/// Gives each remaining optional op a deadline: the latest completion of any op that could observe
/// its effect (reads of its value; for deletes, reads of absent and creates). Once every such op has
/// been linearized, taking the optional op can no longer help, so the search drops it for good
/// instead of carrying it along as a candidate. No deadline if some observer never returned.
fn set_deadlines(ops: &mut [KeyOp<'_>]) {
    let observes = |observer: &KeyOp<'_>, effect: Value| match observer.action {
        Action::Read(seen) => seen == effect,
        Action::Create(_) => effect == ABSENT,
        Action::Write(_) => false,
    };
    let deadlines: Vec<Option<u64>> = ops
        .iter()
        .map(|op| {
            let (Action::Write(effect) | Action::Create(effect)) = op.action else {
                return None;
            };
            ops.iter()
                .filter(|observer| observes(observer, effect))
                .try_fold(op.invoke, |latest, observer| {
                    observer.complete.map(|complete| latest.max(complete))
                })
        })
        .collect();
    for (op, deadline) in ops.iter_mut().zip(deadlines) {
        if !op.required {
            op.complete = deadline;
        }
    }
}

/// A register value as text: the string in quotes, or `absent`.
pub(super) struct ValueDisplay<'a>(Option<&'a str>);

impl fmt::Display for ValueDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(value) => write!(f, "{value:?}"),
            None => f.write_str("absent"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_follows_register_semantics() {
        assert_eq!(step(ABSENT, Action::Read(ABSENT)), Some(ABSENT));
        assert_eq!(step(1, Action::Read(2)), None);
        assert_eq!(step(1, Action::Write(ABSENT)), Some(ABSENT));
        assert_eq!(step(ABSENT, Action::Create(3)), Some(3));
        assert_eq!(step(2, Action::Create(3)), None);
    }

    fn op(kind: OpKind, outcome: Outcome) -> Operation {
        Operation {
            client: 0,
            key: "k".into(),
            kind,
            invoke: 5,
            complete: Some(3),
            outcome,
        }
    }

    #[test]
    fn prepare_drops_ops_that_cannot_matter() {
        let raw = [
            op(OpKind::Read, Outcome::Ok(Some("seen".into()))),
            op(OpKind::Write(Some("failed".into())), Outcome::Fail),
            op(OpKind::Read, Outcome::Unknown),
            op(OpKind::Write(Some("never-read".into())), Outcome::Unknown),
            op(OpKind::Create("never-read".into()), Outcome::Unknown),
            op(OpKind::Write(Some("seen".into())), Outcome::Unknown),
            op(OpKind::Write(None), Outcome::Unknown),
        ];
        let refs: Vec<&Operation> = raw.iter().collect();
        let history = KeyHistory::prepare(&refs);
        let actions: Vec<Action> = history.ops.iter().map(|op| op.action).collect();
        assert_eq!(
            actions,
            [Action::Read(1), Action::Write(1), Action::Write(ABSENT)]
        );
        // Completion before invoke is clamped.
        assert_eq!(history.ops[0].complete, Some(5));
        // The observed unknown write must precede its reader; the delete stays optional.
        assert!(history.ops[1].required);
        assert_eq!(history.ops[1].complete, Some(5));
        // The delete stays optional, moot at once: nothing could observe it.
        assert!(!history.ops[2].required);
        assert_eq!(history.ops[2].complete, Some(5));
    }
}
