//! Tests of whole rules: boolean operators, host constraints of each shape, compile errors.

use raftgate_model::rule::MatcherKind;

use super::test_support::{compile, compile_err, Req};
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
fn compile_errors_name_the_matcher_and_column() {
    let err = compile_err(MatcherKind::PathRegexp, &["("]);
    assert!(
        err.starts_with("column 1: PathRegexp: regex parse error"),
        "{err}"
    );
    assert_eq!(
        compile_err(MatcherKind::Host, &[]),
        "column 1: Host takes 1 argument(s), got 0"
    );
    assert_eq!(
        compile_err(MatcherKind::Query, &["a", "b", "c"]),
        "column 1: Query takes 1 or 2 argument(s), got 3"
    );
}

#[test]
fn oversized_regexes_are_refused() {
    let err = compile_err(MatcherKind::PathRegexp, &["(\\w{100}){100}"]);
    assert!(err.contains("exceeds size limit"), "{err}");
}
