//! Large seeded histories from a simulated atomic store: every operation takes effect at a random
//! instant inside its interval, so the history is linearizable by construction; corrupting one
//! observation must then be caught.

use std::collections::HashMap;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{check, OpKind, Operation, Outcome};

const SEED: u64 = 0x5eed_2024;
const TIMEOUT_RATE: f64 = 0.03;

/// Simulates `clients` clients each running `ops_per_client` operations, one at a time, on
/// `keys` keys. About 3% of puts time out (half of those still take effect, possibly late).
fn simulate(seed: u64, clients: u64, ops_per_client: usize, keys: usize) -> Vec<Operation> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut history = Vec::new();
    // (instant the op takes effect, index into history); ops that never take effect are absent.
    let mut effects: Vec<(u64, usize)> = Vec::new();
    for client in 0..clients {
        let mut now = rng.random_range(0..1_000u64);
        for i in 0..ops_per_client {
            let key = format!("routers/r{}", rng.random_range(0..keys));
            let roll = rng.random_range(0..100);
            let kind = match roll {
                0..50 => OpKind::Read,
                50..85 => OpKind::Write(Some(format!("w{client}-{i}"))),
                85..92 => OpKind::Write(None),
                _ => OpKind::Create(format!("c{client}-{i}")),
            };
            let invoke = now;
            let complete = invoke + rng.random_range(1..2_000u64);
            // Only puts time out: an unknown delete stays optional to the end of the history (every
            // later absent read could observe it), and each one doubles the search space of a
            // history that is not linearizable (see `model::set_deadlines`).
            let times_out = matches!(kind, OpKind::Write(Some(_))) && rng.random_bool(TIMEOUT_RATE);
            let effect = if !times_out {
                Some(rng.random_range(invoke..=complete))
            } else if rng.random_bool(0.5) {
                Some(invoke + rng.random_range(0..20_000u64))
            } else {
                None
            };
            if let Some(at) = effect {
                effects.push((at, history.len()));
            }
            history.push(Operation {
                client,
                key,
                kind,
                invoke,
                complete: (!times_out).then_some(complete),
                outcome: if times_out {
                    Outcome::Unknown
                } else {
                    Outcome::Ok(None)
                },
            });
            now = complete + rng.random_range(0..300u64);
        }
    }

    // Apply the effects in order to an atomic store to learn what each op observed.
    effects.sort_unstable();
    let mut store: HashMap<String, String> = HashMap::new();
    for (_, index) in effects {
        let op = &mut history[index];
        match &op.kind {
            OpKind::Read => op.outcome = Outcome::Ok(store.get(&op.key).cloned()),
            OpKind::Write(Some(value)) => {
                store.insert(op.key.clone(), value.clone());
            }
            OpKind::Write(None) => {
                store.remove(&op.key);
            }
            OpKind::Create(value) => {
                if store.contains_key(&op.key) {
                    op.outcome = Outcome::Fail;
                } else {
                    store.insert(op.key.clone(), value.clone());
                }
            }
        }
    }
    history
}

fn is_read(op: &Operation) -> bool {
    op.kind == OpKind::Read && matches!(op.outcome, Outcome::Ok(_))
}

#[test]
fn generated_single_key_history_is_linearizable() {
    let history = simulate(SEED, 10, 300, 1);
    let result = check(&history);
    assert!(result.linearizable, "seed {SEED:#x}: {result:?}");
    assert_eq!((result.keys_checked, result.operations_checked), (1, 3_000));
}

#[test]
fn generated_multi_key_history_is_linearizable() {
    let history = simulate(SEED + 1, 10, 300, 4);
    let result = check(&history);
    assert!(result.linearizable, "seed {:#x}: {result:?}", SEED + 1);
    assert_eq!(result.keys_checked, 4);
}

#[test]
fn corrupted_read_value_is_caught() {
    let mut history = simulate(SEED, 10, 300, 1);
    let victim = history
        .iter()
        .rposition(is_read)
        .unwrap_or_else(|| panic!("seed {SEED:#x}: no reads generated"));
    history[victim].outcome = Outcome::Ok(Some("never-written".into()));
    let result = check(&history);
    assert!(!result.linearizable, "seed {SEED:#x}: corruption missed");
    assert_eq!(result.failing_key.as_deref(), Some("routers/r0"));
}

#[test]
fn stale_read_in_a_generated_history_is_caught() {
    let mut history = simulate(SEED, 10, 300, 1);
    // Find a read R and two successful writes W1 < W2 < R in real time; make R return W1's value.
    let writes: Vec<(u64, u64, String)> = history
        .iter()
        .filter_map(|op| match (&op.kind, &op.outcome, op.complete) {
            (OpKind::Write(Some(value)), Outcome::Ok(_), Some(complete)) => {
                Some((op.invoke, complete, value.clone()))
            }
            _ => None,
        })
        .collect();
    let stale = history.iter().enumerate().rev().find_map(|(index, read)| {
        if !is_read(read) {
            return None;
        }
        writes
            .iter()
            .filter(|w2| w2.1 < read.invoke)
            .find_map(|w2| writes.iter().find(|w1| w1.1 < w2.0))
            .map(|w1| (index, w1.2.clone()))
    });
    let Some((index, value)) = stale else {
        panic!("seed {SEED:#x}: no stale-read candidate");
    };
    history[index].outcome = Outcome::Ok(Some(value));
    let result = check(&history);
    assert!(!result.linearizable, "seed {SEED:#x}: stale read missed");
}

/// Run with `cargo test -p raftgate-chaos --release --lib linearizability -- --ignored --nocapture`.
#[test]
#[ignore = "timing check; run explicitly"]
fn bench_generated_history() {
    for (clients, ops, keys) in [(10, 300, 1), (10, 1_000, 1), (10, 3_000, 8)] {
        let history = simulate(SEED, clients, ops, keys);
        let started = Instant::now();
        let result = check(&history);
        let elapsed = started.elapsed();
        println!(
            "{clients} clients x {ops} ops on {keys} key(s): linearizable={} in {elapsed:?}",
            result.linearizable
        );
        assert!(result.linearizable);
        assert!(elapsed.as_secs() < 5, "took {elapsed:?}");
    }
}
