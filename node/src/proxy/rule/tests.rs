//! Tests of whole rules: boolean operators, long chains on a small stack, host constraints of
//! each shape, regexes as the model compiles them.

use raftgate_model::rule::{parse, MAX_MATCHERS};

use super::test_support::{compile, Req};
use super::{CompiledRule, HostConstraint, HostKey};

fn exact(h: &str) -> HostKey {
    HostKey::Exact(h.to_string())
}

fn suffix(s: &str) -> HostKey {
    HostKey::Suffix(s.to_string())
}

#[test]
fn and_or_not() {
    let rule = compile("Host(`a.com`) && (PathPrefix(`/api`) || !Method(`GET`))");
    assert!(rule.matches(&Req::get("a.com", "/api/x").info()));
    assert!(rule.matches(&Req::get("a.com", "/web").method("POST").info()));
    assert!(!rule.matches(&Req::get("a.com", "/web").info()));
    assert!(!rule.matches(&Req::get("b.com", "/api/x").info()));
    let not = compile("!Path(`/health`)");
    assert!(not.matches(&Req::get("a.com", "/x").info()));
    assert!(!not.matches(&Req::get("a.com", "/health").info()));
    let double = compile("!!Path(`/health`)");
    assert!(double.matches(&Req::get("a.com", "/health").info()));
}

#[test]
fn precedence_of_and_over_or() {
    let rule = compile("Path(`/a`) || Path(`/b`) && Method(`POST`)");
    assert!(rule.matches(&Req::get("x", "/a").info()));
    assert!(!rule.matches(&Req::get("x", "/b").info()));
    assert!(rule.matches(&Req::get("x", "/b").method("POST").info()));
}

#[test]
fn compiled_rules_are_shareable() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<CompiledRule>();
}

#[test]
fn host_constraints_of_each_shape() {
    let hc = |rule: &str| compile(rule).host_constraint();
    let hosts = HostConstraint::Hosts;
    assert_eq!(hc("Path(`/`)"), HostConstraint::Any);
    assert_eq!(hc("Host(`A.com`)"), hosts(vec![exact("a.com")]));
    assert_eq!(
        hc(r"HostRegexp(`^.+\.a\.com$`)"),
        hosts(vec![suffix(".a.com")])
    );
    assert_eq!(hc(r"HostRegexp(`^a|b$`)"), HostConstraint::Any);
    // `&&`: the constrained side, or the narrower one.
    assert_eq!(
        hc("Host(`a.com`) && Path(`/`)"),
        hosts(vec![exact("a.com")])
    );
    assert_eq!(
        hc("Path(`/`) && Host(`a.com`)"),
        hosts(vec![exact("a.com")])
    );
    assert_eq!(
        hc("(Host(`a.com`) || Host(`b.com`)) && Host(`c.com`)"),
        hosts(vec![exact("c.com")])
    );
    assert_eq!(
        hc("Host(`c.com`) && (Host(`a.com`) || Host(`b.com`))"),
        hosts(vec![exact("c.com")])
    );
    // `||`: the union when both sides are constrained.
    assert_eq!(
        hc(r"Host(`b.com`) || HostRegexp(`^.+\.a\.com$`) || Host(`b.com`)"),
        hosts(vec![exact("b.com"), suffix(".a.com")])
    );
    assert_eq!(hc("Host(`a.com`) || Path(`/`)"), HostConstraint::Any);
    // `!`: anything.
    assert_eq!(hc("!Host(`a.com`)"), HostConstraint::Any);
    assert_eq!(
        hc("!Host(`a.com`) && Host(`b.com`)"),
        hosts(vec![exact("b.com")])
    );
}

#[test]
fn host_constraints_of_chains() {
    let hc = |rule: &str| compile(rule).host_constraint();
    let hosts = HostConstraint::Hosts;
    // `&&` over n operands: the narrowest constrained one, the first among equals.
    assert_eq!(
        hc("Path(`/`) && (Host(`a.com`) || Host(`b.com`)) && Method(`GET`) && Host(`c.com`)"),
        hosts(vec![exact("c.com")])
    );
    assert_eq!(
        hc("Host(`d.com`) && Path(`/`) && Host(`c.com`)"),
        hosts(vec![exact("d.com")])
    );
    assert_eq!(
        hc("Path(`/`) && Method(`GET`) && !Host(`a.com`)"),
        HostConstraint::Any
    );
    // `||` over n operands: the union only when every one is constrained.
    assert_eq!(
        hc("Host(`c.com`) || Host(`a.com`) || Host(`b.com`) || Host(`a.com`)"),
        hosts(vec![exact("a.com"), exact("b.com"), exact("c.com")])
    );
    assert_eq!(
        hc("Host(`c.com`) || Host(`a.com`) || Path(`/`)"),
        HostConstraint::Any
    );
}

#[test]
fn chains_short_circuit_left_to_right() {
    let rule = compile("Path(`/a`) || Path(`/b`) || Path(`/c`)");
    for path in ["/a", "/b", "/c"] {
        assert!(rule.matches(&Req::get("x", path).info()), "{path}");
    }
    assert!(!rule.matches(&Req::get("x", "/d").info()));
    let rule = compile("PathPrefix(`/a`) && PathPrefix(`/ab`) && Method(`POST`)");
    assert!(rule.matches(&Req::get("x", "/abc").method("POST").info()));
    assert!(!rule.matches(&Req::get("x", "/abc").info()));
    assert!(!rule.matches(&Req::get("x", "/ac").method("POST").info()));
}

/// `n` terms made by `term` joined by `op`.
fn chain(n: usize, op: &str, term: impl Fn(usize) -> String) -> String {
    (0..n).map(term).collect::<Vec<_>>().join(op)
}

#[test]
fn thousand_term_chains_compile_match_and_drop_on_a_small_stack() {
    let handle = std::thread::Builder::new()
        .stack_size(128 * 1024)
        .spawn(|| {
            // `||` of 1 000 paths: the last one matches, one past it does not.
            let text = chain(MAX_MATCHERS, " || ", |i| format!("Path(`/p/{i}`)"));
            let expr = parse(&text).unwrap_or_else(|e| panic!("{e}"));
            let rule = CompiledRule::compile(&expr);
            drop(expr);
            let last = format!("/p/{}", MAX_MATCHERS - 1);
            assert!(rule.matches(&Req::get("a.com", &last).info()));
            assert!(rule.matches(&Req::get("a.com", "/p/0").info()));
            assert!(!rule.matches(&Req::get("a.com", &format!("/p/{MAX_MATCHERS}")).info()));
            assert_eq!(rule.host_constraint(), HostConstraint::Any);
            drop(rule);

            // `||` of 1 000 hosts: indexed under all of them.
            let text = chain(MAX_MATCHERS, " || ", |i| format!("Host(`h{i}.com`)"));
            let rule = CompiledRule::compile(&parse(&text).unwrap_or_else(|e| panic!("{e}")));
            let HostConstraint::Hosts(keys) = rule.host_constraint() else {
                panic!("expected hosts");
            };
            assert_eq!(keys.len(), MAX_MATCHERS);
            assert!(rule.matches(&Req::get(&format!("h{}.com", MAX_MATCHERS - 1), "/").info()));

            // `&&` of 1 000 terms: 999 that hold for most paths, then the last one decides.
            let text = chain(MAX_MATCHERS, " && ", |i| {
                if i + 1 < MAX_MATCHERS {
                    format!("!Path(`/x/{i}`)")
                } else {
                    "PathPrefix(`/ok`)".to_string()
                }
            });
            let expr = parse(&text).unwrap_or_else(|e| panic!("{e}"));
            let rule = CompiledRule::compile(&expr);
            assert!(rule.matches(&Req::get("a.com", "/ok/1").info()));
            assert!(!rule.matches(&Req::get("a.com", "/no").info()));
            assert!(!rule.matches(&Req::get("a.com", "/x/998").info()));
            drop((expr, rule));
        })
        .expect("spawns");
    handle.join().expect("no stack overflow");
}

#[test]
fn regexes_run_as_the_model_compiled_them() {
    // Accepted at write time means it runs: `\w` is ASCII, as in Go, and small.
    let rule = compile(r"PathRegexp(`^/public/keys/\w{30}$`)");
    let keys = |k: &str| format!("/public/keys/{}", k.repeat(30));
    assert!(rule.matches(&Req::get("a.com", &keys("k")).info()));
    assert!(!rule.matches(&Req::get("a.com", &keys("é")).info()));
    // A HostRegexp label written with `\w` is indexed like its ASCII class.
    let rule = compile(r"HostRegexp(`^[\w-]+\.example\.com$`)");
    assert_eq!(
        rule.host_constraint(),
        HostConstraint::Hosts(vec![suffix(".example.com")])
    );
    assert!(rule.matches(&Req::get("a_1-b.example.com", "/").info()));
    assert!(!rule.matches(&Req::get("a.b.example.com", "/").info()));
}
