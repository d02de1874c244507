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

/// One request of the conformance table: host, raw path, raw query.
type Request = (&'static str, &'static str, Option<&'static str>);

/// Conformance with Traefik v3's matching: `(rule, request, expected match)`, grouped by
/// matcher, each group saying which Traefik fact it follows.
const CONFORMANCE: &[(&str, Request, bool)] = &[
    // Names: Traefik's rule parser takes each matcher under four spellings (its name,
    // lowercase, uppercase, capitalized), inside `!`, `&&`, `||` and parentheses alike.
    ("pathprefix(`/api`)", ("a.com", "/api/x", None), true),
    ("PATHPREFIX(`/api`)", ("a.com", "/web", None), false),
    (
        "Pathprefix(`/api`) && host(`a.com`)",
        ("a.com", "/api", None),
        true,
    ),
    ("!(PATH(`/x`) || Path(`/y`))", ("a.com", "/x", None), false),
    ("!(PATH(`/x`) || Path(`/y`))", ("a.com", "/z", None), true),
    ("(query(`q`, `1`))", ("a.com", "/", Some("q=1")), true),
    // HostRegexp/PathRegexp/QueryRegexp with v2 placeholders: Traefik's matcher tests accept
    // these rules and match the braces as text (Go reads a `{` that opens no repetition as a
    // literal): a real host or path does not match, the literal text does.
    (
        r"HostRegexp(`{domain:[a-zA-Z-]+\.com}`)",
        ("example.com", "/", None),
        false,
    ),
    (
        r"HostRegexp(`{domain:[a-zA-Z-]+\.com}`)",
        ("example.org", "/path", None),
        false,
    ),
    (
        "PathRegexp(`/{path:(css|js)}`)",
        ("a.com", "/css", None),
        false,
    ),
    (
        "PathRegexp(`/{path:(css|js)}`)",
        ("a.com", "/{path:css}", None),
        true,
    ),
    (
        "PathRegexp(`/{path:(css|js)}`)",
        ("a.com", "/{path:js}/", None),
        true,
    ),
    (
        "PathRegexp(`/{path:(css|js)}`)",
        ("a.com", "/html", None),
        false,
    ),
    (
        "QueryRegexp(`q`, `{value:(traefik|nginx)}`)",
        ("a.com", "/", Some("q=traefik")),
        false,
    ),
    (
        "QueryRegexp(`q`, `{value:(traefik|nginx)}`)",
        ("a.com", "/", Some("q={value:traefik}")),
        true,
    ),
    ("PathRegexp(`^/v{1,2}$`)", ("a.com", "/vv", None), true),
    ("PathRegexp(`^/v{,2}$`)", ("a.com", "/vv", None), false),
    ("PathRegexp(`^/v{,2}$`)", ("a.com", "/v{,2}", None), true),
    // Query with two arguments: Traefik looks the key up in Go's `url.Query()` (every value
    // of a repeated key, decoded) and matches when any value equals, case-sensitively.
    (
        "Query(`q`, `traefik`)",
        ("a.com", "/", Some("q=traefik")),
        true,
    ),
    (
        "Query(`q`, `traefik`)",
        ("a.com", "/", Some("rel=ddg&q=traefik")),
        true,
    ),
    (
        "Query(`q`, `traefik`)",
        ("a.com", "/", Some("q=traefik&q=proxy")),
        true,
    ),
    (
        "Query(`q`, `traefik`)",
        ("a.com", "/", Some("q=awesome&q=traefik")),
        true,
    ),
    (
        "Query(`q`, `traefik`)",
        ("a.com", "/", Some("q=nginx")),
        false,
    ),
    (
        "Query(`q`, `traefik`)",
        ("a.com", "/", Some("q=TRAEFIK")),
        false,
    ),
    (
        "Query(`q`, `traefik`)",
        ("a.com", "/", Some("Q=traefik")),
        false,
    ),
    (
        "Query(`q`, `traefik`)",
        ("a.com", "/", Some("rel=traefik")),
        false,
    ),
    ("Query(`q`, `a b`)", ("a.com", "/", Some("q=a+b")), true),
    ("Query(`q`, `a b`)", ("a.com", "/", Some("q=a%20b")), true),
    // Query with one argument: Traefik looks for the empty value, which its docs describe as
    // a parameter without a value; `?mobile=true` does not match.
    ("Query(`mobile`)", ("a.com", "/", Some("mobile")), true),
    ("Query(`mobile`)", ("a.com", "/", Some("mobile=")), true),
    (
        "Query(`mobile`)",
        ("a.com", "/", Some("mobile=true")),
        false,
    ),
    (
        "Query(`mobile`)",
        ("a.com", "/", Some("mobile=true&mobile")),
        true,
    ),
    ("Query(`mobile`)", ("a.com", "/", None), false),
    (
        "QueryRegexp(`mobile`)",
        ("a.com", "/", Some("mobile=true")),
        false,
    ),
    (
        "QueryRegexp(`mobile`)",
        ("a.com", "/", Some("mobile")),
        true,
    ),
    // QueryRegexp with two arguments: any value of the key matching; `^.*$` takes the empty
    // value too.
    (
        "QueryRegexp(`q`, `^(traefik|nginx)$`)",
        ("a.com", "/", Some("q=awesome&q=nginx")),
        true,
    ),
    (
        "QueryRegexp(`q`, `^(traefik|nginx)$`)",
        ("a.com", "/", Some("q=NGINX")),
        false,
    ),
    (
        "QueryRegexp(`q`, `^(traefik|nginx)$`)",
        ("a.com", "/", Some("Q=nginx")),
        false,
    ),
    ("QueryRegexp(`q`, `^.*$`)", ("a.com", "/", Some("q")), true),
    (
        "QueryRegexp(`q`, `^.*$`)",
        ("a.com", "/", Some("rel=ddg")),
        false,
    ),
    // Paths: Traefik v3 routes on the escaped path with the escapes of unreserved and other
    // non-reserved characters decoded (its example: PathPrefix(`/foo bar`) matching
    // `/foo%20bar`), and the escapes of reserved characters and `%` kept. Encoded `/`, `\`,
    // `.` and NUL are refused before routing here (see `request::normalize_path`).
    ("Path(`/foo bar`)", ("a.com", "/foo%20bar", None), true),
    (
        "PathPrefix(`/foo bar`)",
        ("a.com", "/foo%20bar/baz", None),
        true,
    ),
    (
        "PathRegexp(`^/foo bar`)",
        ("a.com", "/foo%20bar", None),
        true,
    ),
    ("Path(`/foo%20bar`)", ("a.com", "/foo%20bar", None), false),
    (
        "PathRegexp(`/{path:(css|js)}`)",
        ("a.com", "/%7Bpath:js%7D", None),
        true,
    ),
    ("Path(`/a;b`)", ("a.com", "/a%3Bb", None), false),
    ("Path(`/a%3Bb`)", ("a.com", "/a%3Bb", None), true),
    ("Path(`/a%25`)", ("a.com", "/a%25", None), true),
    ("PathPrefix(`/admin`)", ("a.com", "/%61dmin/x", None), true),
];

#[test]
fn conformance_with_traefik_matching() {
    for (rule, (host, path, query), expected) in CONFORMANCE {
        let req = Req::get(host, path).query(*query);
        assert_eq!(
            compile(rule).matches(&req.info()),
            *expected,
            "{rule} on {host}{path}?{query:?}"
        );
    }
}
