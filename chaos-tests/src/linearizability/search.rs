//! The depth-first search for a linearization of one key's history.
//!
//! Invoke and return events sit in a doubly linked list in time order. The search walks the list
//! from the front: at an invoke it tries to take that operation effect now (it must be allowed by the
//! register and lead to a configuration not seen before), removing the operation's events from the
//! list and starting over; at a return of an operation not yet taken it is stuck, and undoes its
//! most recent choice. A configuration is the set of operations taken (a bitset) plus the register
//! value; each is explored at most once. The history is linearizable when every required
//! operation has been taken.

use std::collections::HashSet;

use super::model::{step, Action, KeyHistory, Value, ABSENT};

const HEAD: usize = 0;
const TAIL: usize = 1;
/// How many pending operations and prefix operations an explanation lists.
const EXPLAIN_LIMIT: usize = 6;

/// An event in the list: the invoke or the return of one operation.
#[derive(Debug, Clone, Copy)]
struct Event {
    op: usize,
    /// For an invoke, its return or expiry event (if any); for those, their invoke.
    partner: Option<usize>,
    kind: EventKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum EventKind {
    Invoke,
    /// A required operation's return.
    Return,
    /// An optional operation's deadline (see `model::set_deadlines`).
    Expiry,
}

/// The invoke/return events of a key, as a doubly linked list that supports removing an operation
/// and putting it back (in LIFO order).
#[derive(Debug)]
struct EventList {
    events: Vec<Event>,
    prev: Vec<usize>,
    next: Vec<usize>,
}

impl EventList {
    fn new(history: &KeyHistory<'_>) -> Self {
        // (time is +infinity, time, kind, op): invokes before returns before expiries at equal times.
        let mut order: Vec<(bool, u64, EventKind, usize)> =
            Vec::with_capacity(history.ops.len() * 2);
        for (i, op) in history.ops.iter().enumerate() {
            order.push((false, op.invoke, EventKind::Invoke, i));
            let end = if op.required {
                EventKind::Return
            } else if op.complete.is_some() {
                EventKind::Expiry
            } else {
                continue;
            };
            let time = op.complete.unwrap_or(u64::MAX);
            order.push((op.complete.is_none(), time, end, i));
        }
        order.sort_unstable();

        let sentinel = Event {
            op: usize::MAX,
            partner: None,
            kind: EventKind::Return,
        };
        let mut events = vec![sentinel, sentinel];
        let mut end_of: Vec<Option<usize>> = vec![None; history.ops.len()];
        for &(_, _, kind, op) in order.iter().rev() {
            // Walking backwards, every return/expiry is placed before its invoke is seen.
            let node = events.len();
            let partner = if kind == EventKind::Invoke {
                let end = end_of[op];
                if let Some(end) = end {
                    events[end].partner = Some(node);
                }
                end
            } else {
                end_of[op] = Some(node);
                None
            };
            events.push(Event { op, partner, kind });
        }
        // `events[2..]` is in reverse time order; link it front to back.
        let len = events.len();
        let mut prev = vec![HEAD; len];
        let mut next = vec![TAIL; len];
        let mut last = HEAD;
        for node in (2..len).rev() {
            next[last] = node;
            prev[node] = last;
            last = node;
        }
        next[last] = TAIL;
        prev[TAIL] = last;
        EventList { events, prev, next }
    }

    fn unlink(&mut self, node: usize) {
        let (prev, next) = (self.prev[node], self.next[node]);
        self.next[prev] = next;
        self.prev[next] = prev;
    }

    fn relink(&mut self, node: usize) {
        let (prev, next) = (self.prev[node], self.next[node]);
        self.next[prev] = node;
        self.prev[next] = node;
    }

    /// Removes an operation (its invoke node and its return/expiry node, if any).
    fn lift(&mut self, invoke: usize) {
        self.unlink(invoke);
        if let Some(ret) = self.events[invoke].partner {
            self.unlink(ret);
        }
    }

    /// Undoes the most recent `lift`.
    fn unlift(&mut self, invoke: usize) {
        if let Some(ret) = self.events[invoke].partner {
            self.relink(ret);
        }
        self.relink(invoke);
    }
}

/// Why a key's history could not be linearized: the deepest point the search reached.
#[derive(Debug, Clone)]
pub(super) struct Failure {
    /// The operations taken so far, in order.
    prefix: Vec<usize>,
    state: Value,
    /// The operation whose return the search could not get past.
    blocked: Option<usize>,
    /// Operations invoked before that return but not taken.
    pending: Vec<usize>,
}

impl Failure {
    pub fn explain(&self, history: &KeyHistory<'_>) -> String {
        let required = history.ops.iter().filter(|op| op.required).count();
        let taken = self.prefix.len();
        let skipped = taken.saturating_sub(EXPLAIN_LIMIT);
        let mut tail: Vec<String> = self.prefix[skipped..]
            .iter()
            .map(|&i| history.describe(&history.ops[i]))
            .collect();
        if skipped > 0 {
            tail.insert(0, format!("... {skipped} more"));
        }
        let pending: Vec<String> = self
            .pending
            .iter()
            .map(|&i| history.describe(&history.ops[i]))
            .collect();
        let blocked = self.blocked.map_or_else(
            || "the end of the history".to_owned(),
            |i| history.describe(&history.ops[i]),
        );
        format!(
            "longest linearization takes {taken} ops (of {required} required) \
             [{}] leaving the register {}; then none of the pending ops [{}] can take effect \
             before {blocked} returns",
            tail.join("; "),
            history.value(self.state),
            pending.join("; "),
        )
    }
}

/// One choice the search made: the invoke node it took, and the register value before it.
#[derive(Debug, Clone, Copy)]
struct Choice {
    invoke: usize,
    state: Value,
    /// A read taken as soon as it was possible. Reads do not change the register, and every
    /// operation that must precede a pending read has been taken, so any linearization from the
    /// configuration before it can be reordered to take the read first: if taking it failed, no
    /// alternative at that point can succeed, and backtracking goes one choice further.
    greedy: bool,
    /// An optional op dropped at its deadline rather than taken.
    skipped: bool,
}

/// Searches for a linearization of one key's history.
pub(super) fn linearize(history: &KeyHistory<'_>) -> Result<(), Failure> {
    let mut list = EventList::new(history);
    let mut remaining = history.ops.iter().filter(|op| op.required).count();
    let mut taken = vec![0u64; history.ops.len().div_ceil(64)];
    let mut seen: HashSet<(Box<[u64]>, Value)> = HashSet::new();
    let mut stack: Vec<Choice> = Vec::new();
    let mut state = ABSENT;
    let mut deepest: Option<Failure> = None;

    let mut node = list.next[HEAD];
    while remaining > 0 {
        let event = list.events[node];
        if node != TAIL && event.kind == EventKind::Invoke {
            let op = &history.ops[event.op];
            let is_read = matches!(op.action, Action::Read(_));
            if let Some(after) = step(state, op.action) {
                set_bit(&mut taken, event.op, true);
                if seen.insert((compact(&taken), after)) {
                    stack.push(Choice {
                        invoke: node,
                        state,
                        greedy: is_read,
                        skipped: false,
                    });
                    state = after;
                    list.lift(node);
                    remaining -= usize::from(op.required);
                    node = list.next[HEAD];
                    continue;
                }
                set_bit(&mut taken, event.op, false);
                if !is_read {
                    node = list.next[node];
                    continue;
                }
                // A possible read that was already explored from here: this configuration is
                // dominated by that one (see `Choice::greedy`), so it is a dead end too.
            } else {
                node = list.next[node];
                continue;
            }
        } else if node != TAIL && event.kind == EventKind::Expiry {
            // An optional op past its deadline: leave it out for good (a forced choice).
            let invoke = event.partner.unwrap_or(node);
            set_bit(&mut taken, event.op, true);
            if seen.insert((compact(&taken), state)) {
                stack.push(Choice {
                    invoke,
                    state,
                    greedy: true,
                    skipped: true,
                });
                list.lift(invoke);
                node = list.next[HEAD];
                continue;
            }
            set_bit(&mut taken, event.op, false);
        } else if deepest
            .as_ref()
            .is_none_or(|d| stack.len() > d.prefix.len())
        {
            // A return of an operation not taken yet (or the end): remember the deepest one.
            deepest = Some(failure_at(&list, history, &stack, state, node));
        }

        // Dead end: undo choices until one leaves alternatives to try.
        loop {
            let Some(choice) = stack.pop() else {
                return Err(deepest.unwrap_or_else(|| failure_at(&list, history, &[], state, node)));
            };
            let op = list.events[choice.invoke].op;
            list.unlift(choice.invoke);
            set_bit(&mut taken, op, false);
            remaining += usize::from(history.ops[op].required);
            state = choice.state;
            node = list.next[choice.invoke];
            if !choice.greedy {
                break;
            }
        }
    }
    Ok(())
}

fn failure_at(
    list: &EventList,
    history: &KeyHistory<'_>,
    stack: &[Choice],
    state: Value,
    stuck: usize,
) -> Failure {
    let mut pending = Vec::new();
    let mut node = list.next[HEAD];
    while node != stuck && node != TAIL && pending.len() < EXPLAIN_LIMIT {
        let event = list.events[node];
        if event.kind == EventKind::Invoke {
            pending.push(event.op);
        }
        node = list.next[node];
    }
    let blocked = (stuck != TAIL).then(|| list.events[stuck].op);
    debug_assert!(blocked.is_none_or(|op| op < history.ops.len()));
    Failure {
        prefix: stack
            .iter()
            .filter(|c| !c.skipped)
            .map(|c| list.events[c.invoke].op)
            .collect(),
        state,
        blocked,
        pending,
    }
}

/// An exact, short encoding of the taken set: operations are indexed in invoke order, so the set
/// is almost always "all ops up to some index, plus a few pending ones". Encode the index of the
/// first word that is not all ones, then the words from there to the last non-zero one.
fn compact(bits: &[u64]) -> Box<[u64]> {
    let first = bits
        .iter()
        .position(|&w| w != u64::MAX)
        .unwrap_or(bits.len());
    let last = bits
        .iter()
        .rposition(|&w| w != 0)
        .map_or(0, |i| i + 1)
        .max(first);
    let mut key = Vec::with_capacity(last - first + 1);
    key.push(first as u64);
    key.extend_from_slice(&bits[first..last]);
    key.into_boxed_slice()
}

fn set_bit(bits: &mut [u64], index: usize, on: bool) {
    let (word, bit) = (index / 64, 1u64 << (index % 64));
    if on {
        bits[word] |= bit;
    } else {
        bits[word] &= !bit;
    }
}
