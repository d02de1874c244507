//! Walks over the references between objects of one kind, shared by the client's file checks
//! and the replicated state's apply. Every walk is iterative with explicit stacks, so a chain
//! of references as long as the config allows cannot exhaust the thread's stack.

use std::collections::{BTreeMap, BTreeSet};

/// A chain of references from `start` back to itself, as names from `start` to `start`, or
/// `None`. `refs(name)` lists the names `name` refers to (unknown names may be listed: they
/// are walked through `refs` like any other and simply have no references).
pub fn find_cycle<'a>(
    start: &'a str,
    refs: impl Fn(&'a str) -> Vec<&'a str>,
) -> Option<Vec<String>> {
    let mut visited: BTreeSet<&str> = BTreeSet::from([start]);
    let mut path: Vec<&str> = vec![start];
    let mut stack: Vec<(Vec<&str>, usize)> = vec![(refs(start), 0)];
    while let Some((neighbours, next)) = stack.last_mut() {
        let Some(&n) = neighbours.get(*next) else {
            stack.pop();
            path.pop();
            continue;
        };
        *next += 1;
        if n == start {
            path.push(start);
            return Some(path.into_iter().map(str::to_string).collect());
        }
        if visited.insert(n) {
            path.push(n);
            stack.push((refs(n), 0));
        }
    }
    None
}

/// For every node of `edges` (node → the nodes it refers to), a value folded bottom-up:
/// `fold(node, values of its referents)`. Referents that are not keys of `edges` count as
/// leaves valued `leaf`. An edge that closes a cycle is ignored (cycles are reported by
/// [`find_cycle`]; this only has to terminate on them).
pub fn fold_down<'a, T: Copy>(
    edges: &BTreeMap<&'a str, Vec<&'a str>>,
    leaf: T,
    fold: impl Fn(&'a str, &[T]) -> T,
) -> BTreeMap<&'a str, T> {
    let mut done: BTreeMap<&str, T> = BTreeMap::new();
    let mut open: BTreeSet<&str> = BTreeSet::new();
    for &root in edges.keys() {
        if done.contains_key(root) {
            continue;
        }
        let mut stack: Vec<(&str, usize)> = vec![(root, 0)];
        open.insert(root);
        while let Some((node, next)) = stack.last_mut() {
            let node = *node;
            let children = edges.get(node).map_or(&[][..], Vec::as_slice);
            if let Some(&child) = children.get(*next) {
                *next += 1;
                if edges.contains_key(child) && !done.contains_key(child) && open.insert(child) {
                    stack.push((child, 0));
                }
                continue;
            }
            let values: Vec<T> = children
                .iter()
                .filter_map(|c| match done.get(c) {
                    Some(v) => Some(*v),
                    None if !edges.contains_key(c) => Some(leaf),
                    None => None, // on the current path: a cycle's closing edge
                })
                .collect();
            done.insert(node, fold(node, &values));
            open.remove(node);
            stack.pop();
        }
    }
    done
}

/// The same edges, reversed: node → the nodes that refer to it. Every node of `edges` is a key.
pub fn reversed<'a>(edges: &BTreeMap<&'a str, Vec<&'a str>>) -> BTreeMap<&'a str, Vec<&'a str>> {
    let mut out: BTreeMap<&str, Vec<&str>> = edges.keys().map(|k| (*k, Vec::new())).collect();
    for (&from, tos) in edges {
        for &to in tos {
            if let Some(list) = out.get_mut(to) {
                list.push(from);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edges<'a>(pairs: &[(&'a str, &[&'a str])]) -> BTreeMap<&'a str, Vec<&'a str>> {
        pairs.iter().map(|(k, v)| (*k, v.to_vec())).collect()
    }

    #[test]
    fn cycles_are_found_with_their_path() {
        let e = edges(&[("a", &["b"]), ("b", &["c"]), ("c", &["a"]), ("d", &["a"])]);
        let refs = |n: &str| e.get(n).cloned().unwrap_or_default();
        assert_eq!(
            find_cycle("a", refs),
            Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
        );
        assert_eq!(find_cycle("d", refs), None);
    }

    #[test]
    fn depth_folds_bottom_up_and_survives_cycles_and_long_chains() {
        let depth = |_: &str, children: &[usize]| 1 + children.iter().max().copied().unwrap_or(0);
        let e = edges(&[("a", &["b", "x"]), ("b", &["c"]), ("c", &[])]);
        let d = fold_down(&e, 1, depth);
        assert_eq!((d["a"], d["b"], d["c"]), (3, 2, 1));
        let up = fold_down(&reversed(&e), 1, depth);
        assert_eq!((up["a"], up["b"], up["c"]), (1, 2, 3));
        let cyclic = edges(&[("a", &["b"]), ("b", &["a"])]);
        assert_eq!(fold_down(&cyclic, 1, depth).len(), 2);
        // A chain far longer than any stack would allow to recurse over.
        let names: Vec<String> = (0..200_000).map(|i| format!("n{i}")).collect();
        let long: BTreeMap<&str, Vec<&str>> = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                (
                    n.as_str(),
                    names
                        .get(i + 1)
                        .map(|m| vec![m.as_str()])
                        .unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(fold_down(&long, 1, depth)["n0"], 200_000);
        assert_eq!(
            find_cycle("n0", |n| long.get(n).cloned().unwrap_or_default()),
            None
        );
    }
}
