//! The cross-object checks as a writer meets them: through `ConfigState::apply`.

use raftgate_model::{Kind, ModelError};
use serde_json::json;

use crate::limits::{MAX_REFERENCE_DEPTH, MAX_ROUTER_MIDDLEWARES, MAX_TXN_OPS};
use crate::{Command, ConfigState, ObjectKey, ObjectSpec, Op, StateError};

fn spec(kind: Kind, name: &str, json: serde_json::Value) -> ObjectSpec {
    ObjectSpec::from_json(kind, name, &serde_json::to_vec(&json).unwrap()).unwrap()
}

fn put(kind: Kind, name: &str, json: serde_json::Value) -> Op {
    Op::Put {
        name: name.into(),
        spec: spec(kind, name, json),
        managed_by: "test".into(),
    }
}

fn update(kind: Kind, name: &str, json: serde_json::Value) -> Op {
    Op::Update {
        name: name.into(),
        spec: spec(kind, name, json),
        managed_by: "test".into(),
        expected_mod_revision: None,
    }
}

fn txn(ops: Vec<Op>) -> Command {
    Command::Txn {
        ops,
        expected_revision: None,
    }
}

fn lb() -> serde_json::Value {
    json!({"loadBalancer": {"servers": [{"url": "http://127.0.0.1:1"}]}})
}

fn chain(of: &[&str]) -> serde_json::Value {
    json!({"chain": {"middlewares": of}})
}

fn weighted(of: &[&str]) -> serde_json::Value {
    let services: Vec<_> = of.iter().map(|n| json!({"name": n, "weight": 1})).collect();
    json!({"weighted": {"services": services}})
}

fn errors(result: Result<Vec<crate::Change>, StateError>) -> Vec<ModelError> {
    match result {
        Err(StateError::Invalid { errors, .. }) => errors,
        other => panic!("expected an invalid-object refusal, got {other:?}"),
    }
}

#[test]
fn a_chain_cycle_made_by_an_update_is_refused_and_changes_nothing() {
    let mut s = ConfigState::default();
    s.apply(&txn(vec![put(
        Kind::Middleware,
        "b",
        json!({"stripPrefix": {"prefixes": ["/x"]}}),
    )]))
    .unwrap();
    s.apply(&txn(vec![put(Kind::Middleware, "a", chain(&["b"]))]))
        .unwrap();
    let before = s.clone();
    let errs = errors(s.apply(&txn(vec![update(Kind::Middleware, "b", chain(&["a"]))])));
    assert_eq!(
        errs.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["middleware \"b\": reference cycle b -> a -> b"]
    );
    assert_eq!(s, before);
}

#[test]
fn a_weighted_service_reaching_itself_is_refused() {
    let mut s = ConfigState::default();
    s.apply(&txn(vec![put(Kind::Service, "leaf", lb())]))
        .unwrap();
    let errs = errors(s.apply(&txn(vec![put(
        Kind::Service,
        "w",
        weighted(&["leaf", "w@file"]),
    )])));
    assert!(
        errs.iter()
            .any(|e| matches!(e, ModelError::Cycle { path, .. } if path == &["w", "w"])),
        "{errs:?}"
    );
    // Through mirroring and failover too.
    s.apply(&txn(vec![put(Kind::Service, "w", weighted(&["leaf"]))]))
        .unwrap();
    let mirror =
        json!({"mirroring": {"service": "w", "mirrors": [{"name": "leaf", "percent": 10}]}});
    let failover = json!({"failover": {"service": "leaf", "fallback": "m"}});
    let errs = errors(s.apply(&txn(vec![
        put(Kind::Service, "m", mirror),
        put(Kind::Service, "f", failover),
        update(Kind::Service, "w", weighted(&["f"])),
    ])));
    assert!(
        errs.iter().all(|e| matches!(e, ModelError::Cycle { .. })),
        "{errs:?}"
    );
}

#[test]
fn shared_targets_are_not_cycles() {
    let mut s = ConfigState::default();
    let strip = json!({"stripPrefix": {"prefixes": ["/x"]}});
    s.apply(&txn(vec![
        put(Kind::Middleware, "strip", strip),
        put(Kind::Middleware, "left", chain(&["strip"])),
        put(Kind::Middleware, "right", chain(&["strip@file", "strip"])),
        put(Kind::Middleware, "both", chain(&["left", "right", "left"])),
    ]))
    .unwrap();
    s.apply(&txn(vec![put(Kind::Service, "leaf", lb())]))
        .unwrap();
    s.apply(&txn(vec![put(
        Kind::Service,
        "w",
        weighted(&["leaf", "leaf@file"]),
    )]))
    .unwrap();
}

#[test]
fn reference_depth_is_bounded_through_the_object_written() {
    let mut s = ConfigState::default();
    let names: Vec<String> = (0..MAX_REFERENCE_DEPTH).map(|i| format!("c{i}")).collect();
    let mut ops = vec![put(
        Kind::Middleware,
        "leaf",
        json!({"addPrefix": {"prefix": "/a"}}),
    )];
    // c1 -> c2 -> ... -> c{MAX-1} -> leaf: MAX objects deep, reported once.
    for (i, name) in names.iter().enumerate().skip(1) {
        let next = names.get(i + 1).map_or("leaf", String::as_str);
        ops.push(put(Kind::Middleware, name, chain(&[next])));
    }
    s.apply(&txn(ops)).unwrap();
    // One more on top goes past the limit; the message names it.
    let errs = errors(s.apply(&txn(vec![put(Kind::Middleware, "c0", chain(&["c1"]))])));
    let text = errs[0].to_string();
    assert!(
        text.contains(&format!("nest {} deep", MAX_REFERENCE_DEPTH + 1))
            && text.contains(&format!("limit of {MAX_REFERENCE_DEPTH}")),
        "{text}"
    );
    // Making the bottom deeper is refused on the object written, too.
    let errs = errors(s.apply(&txn(vec![
        put(
            Kind::Middleware,
            "leaf2",
            json!({"addPrefix": {"prefix": "/b"}}),
        ),
        update(Kind::Middleware, "leaf", chain(&["leaf2"])),
    ])));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].to_string().starts_with("middleware \"leaf2\""),
        "{errs:?}"
    );
}

#[test]
fn routers_run_a_bounded_number_of_middlewares_once_flattened() {
    let mut s = ConfigState::default();
    let ten: Vec<String> = (0..10).map(|i| format!("m{i}")).collect();
    let mut ops: Vec<Op> = ten
        .iter()
        .map(|n| put(Kind::Middleware, n, json!({"addPrefix": {"prefix": "/a"}})))
        .collect();
    let refs: Vec<&str> = ten.iter().map(String::as_str).collect();
    ops.push(put(Kind::Middleware, "ten", chain(&refs)));
    ops.push(put(Kind::Service, "svc", lb()));
    let uses = vec!["ten"; MAX_ROUTER_MIDDLEWARES / 10];
    ops.push(put(
        Kind::Router,
        "r",
        json!({"rule": "Path(`/`)", "service": "svc", "middlewares": uses}),
    ));
    s.apply(&txn(ops)).unwrap();
    // Growing the chain pushes the router past the limit: refused, naming the router.
    let mut grown = refs.clone();
    grown.push("m0");
    let errs = errors(s.apply(&txn(vec![update(Kind::Middleware, "ten", chain(&grown))])));
    assert_eq!(
        errs[0].to_string(),
        format!(
            "router \"r\": middlewares: runs {} middlewares once chains are flattened, more than \
             the limit of {MAX_ROUTER_MIDDLEWARES}",
            MAX_ROUTER_MIDDLEWARES + MAX_ROUTER_MIDDLEWARES / 10
        )
    );
}

#[test]
fn every_problem_of_a_write_is_listed_in_operation_order() {
    let mut s = ConfigState::default();
    let ops = vec![
        put(
            Kind::Service,
            "bad-url",
            json!({"loadBalancer": {"servers": [{"url": "ftp://x"}]}}),
        ),
        put(
            Kind::Router,
            "bad-rule",
            json!({"rule": "Path(`/a`) &&", "service": "bad-url"}),
        ),
        put(
            Kind::Router,
            "missing",
            json!({"rule": "Path(`/b`)", "service": "nope"}),
        ),
        put(
            Kind::Router,
            "prio",
            json!({"rule": "Path(`/c`)", "service": "bad-url", "priority": i64::MIN}),
        ),
    ];
    let errs = errors(s.apply(&txn(ops)));
    let objects: Vec<_> = errs
        .iter()
        .map(|e| e.object().map(|(k, n)| (k, n.to_string())))
        .collect();
    assert_eq!(
        objects,
        [
            Some((Kind::Service, "bad-url".into())),
            Some((Kind::Router, "bad-rule".into())),
            Some((Kind::Router, "prio".into())),
            Some((Kind::Router, "missing".into())),
        ],
        "{errs:?}"
    );
    assert!(errs[2].to_string().contains("priority"), "{}", errs[2]);
    assert_eq!(s, ConfigState::default());
}

#[test]
fn transactions_and_duplicates_are_bounded() {
    let mut s = ConfigState::default();
    let ops: Vec<Op> = (0..=MAX_TXN_OPS)
        .map(|i| put(Kind::Service, &format!("s{i}"), lb()))
        .collect();
    assert!(matches!(
        s.apply(&txn(ops)),
        Err(StateError::TooManyOps { ops, limit: MAX_TXN_OPS }) if ops == MAX_TXN_OPS + 1
    ));
    let twice = txn(vec![
        put(Kind::Service, "a", lb()),
        put(Kind::Service, "a", lb()),
    ]);
    assert_eq!(
        s.apply(&twice).unwrap_err(),
        StateError::Duplicate(ObjectKey {
            kind: Kind::Service,
            name: "a".into()
        })
    );
}
