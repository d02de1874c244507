//! Parser tests: every matcher, precedence, negation, nesting, quoting, and every error with
//! its exact column.

use super::*;

fn ok(rule: &str) -> Expr {
    match parse(rule) {
        Ok(e) => e,
        Err(e) => panic!("{rule:?} should parse: {e}"),
    }
}

fn err(rule: &str) -> RuleError {
    match parse(rule) {
        Ok(e) => panic!("{rule:?} should not parse, got {e}"),
        Err(e) => e,
    }
}

fn matcher(kind: MatcherKind, args: &[&str], column: usize) -> Expr {
    let args = args.iter().map(|s| s.to_string()).collect();
    Expr::Matcher(Matcher::new(kind, args, column).expect("valid matcher"))
}

#[test]
fn every_matcher_parses() {
    let cases: [(&str, MatcherKind, &[&str]); 13] = [
        ("Host(`example.com`)", MatcherKind::Host, &["example.com"]),
        (
            r"HostRegexp(`^.+\.example\.com$`)",
            MatcherKind::HostRegexp,
            &[r"^.+\.example\.com$"],
        ),
        ("Path(`/api`)", MatcherKind::Path, &["/api"]),
        ("PathPrefix(`/`)", MatcherKind::PathPrefix, &["/"]),
        (
            "PathRegexp(`^/v[0-9]+/`)",
            MatcherKind::PathRegexp,
            &["^/v[0-9]+/"],
        ),
        ("Method(`POST`)", MatcherKind::Method, &["POST"]),
        (
            "Header(`X-Env`, `prod`)",
            MatcherKind::Header,
            &["X-Env", "prod"],
        ),
        (
            "HeaderRegexp(`X-Env`, `^p`)",
            MatcherKind::HeaderRegexp,
            &["X-Env", "^p"],
        ),
        ("Query(`debug`)", MatcherKind::Query, &["debug"]),
        (
            "Query(`mobile`, `true`)",
            MatcherKind::Query,
            &["mobile", "true"],
        ),
        (
            "QueryRegexp(`v`, `^[12]$`)",
            MatcherKind::QueryRegexp,
            &["v", "^[12]$"],
        ),
        (
            "ClientIP(`10.0.0.0/8`)",
            MatcherKind::ClientIP,
            &["10.0.0.0/8"],
        ),
        ("ClientIP(`::1`)", MatcherKind::ClientIP, &["::1"]),
    ];
    for (rule, kind, args) in cases {
        assert_eq!(ok(rule), matcher(kind, args, 1), "{rule}");
        assert_eq!(ok(rule).to_string(), rule);
    }
}

#[test]
fn and_binds_tighter_than_or() {
    let e = ok("Host(`a`) || Path(`/b`) && Method(`GET`)");
    let expected = Expr::Or(vec![
        matcher(MatcherKind::Host, &["a"], 1),
        Expr::And(vec![
            matcher(MatcherKind::Path, &["/b"], 14),
            matcher(MatcherKind::Method, &["GET"], 28),
        ]),
    ]);
    assert_eq!(e, expected);

    let e = ok("Host(`a`) && Path(`/b`) || Method(`GET`)");
    assert!(matches!(e, Expr::Or(ref o) if matches!(o[0], Expr::And(_))));
}

#[test]
fn chains_are_one_node() {
    let e = ok("Host(`a`) && Host(`b`) && Host(`c`)");
    let Expr::And(operands) = e else {
        panic!("expected And");
    };
    assert_eq!(operands.len(), 3);
    assert_eq!(operands[2], matcher(MatcherKind::Host, &["c"], 27));
    let e = ok("Path(`/a`) || Path(`/b`) || Path(`/c`) || Path(`/d`)");
    assert!(matches!(e, Expr::Or(ref o) if o.len() == 4));
    // A parenthesized group of the same operator stays its own node.
    let e = ok("(Path(`/a`) || Path(`/b`)) || Path(`/c`)");
    assert!(matches!(e, Expr::Or(ref o) if o.len() == 2 && matches!(o[0], Expr::Or(_))));
    assert_eq!(e.to_string(), "(Path(`/a`) || Path(`/b`)) || Path(`/c`)");
}

#[test]
fn negation_binds_tightest() {
    let e = ok("!Host(`a`) && Path(`/b`)");
    let expected = Expr::And(vec![
        Expr::Not(Box::new(matcher(MatcherKind::Host, &["a"], 2))),
        matcher(MatcherKind::Path, &["/b"], 15),
    ]);
    assert_eq!(e, expected);
    let e = ok("!!Host(`a`)");
    assert_eq!(
        e,
        Expr::Not(Box::new(Expr::Not(Box::new(matcher(
            MatcherKind::Host,
            &["a"],
            3
        )))))
    );
    let e = ok("!(Host(`a`) || Host(`b`))");
    assert!(matches!(e, Expr::Not(ref inner) if matches!(**inner, Expr::Or(..))));
}

#[test]
fn parentheses_override_precedence() {
    let e = ok("(Host(`a`) || Path(`/b`)) && Method(`GET`)");
    assert!(matches!(e, Expr::And(ref o) if matches!(o[0], Expr::Or(..))));
    let e = ok("((((Host(`a`)))))");
    assert_eq!(e, matcher(MatcherKind::Host, &["a"], 5));
}

#[test]
fn nested_expression_round_trips_through_display() {
    let rule = "Host(`a.com`) && (PathPrefix(`/api`) || !(Method(`GET`) && Header(`X`, `1`))) \
                || ClientIP(`192.168.0.0/16`)";
    let printed = ok(rule).to_string();
    assert_eq!(
        printed,
        "Host(`a.com`) && (PathPrefix(`/api`) || !(Method(`GET`) && Header(`X`, `1`))) \
         || ClientIP(`192.168.0.0/16`)"
    );
    assert_eq!(ok(&printed).to_string(), printed);
}

#[test]
fn whitespace_is_allowed_between_all_tokens() {
    let e = ok("  Host ( `a` )\n&&\t!\n( Path(`/b` , ) )"
        .replace(", )", ")")
        .as_str());
    assert_eq!(e.to_string(), "Host(`a`) && !Path(`/b`)");
    let e = ok("Header(\t`X`\n,\n`y`  )");
    assert_eq!(e.to_string(), "Header(`X`, `y`)");
}

#[test]
fn both_quote_styles() {
    assert_eq!(ok("Host(\"example.com\")"), ok("Host(`example.com`)"));
    let e = ok(r#"Header("X-Q", "say \"hi\" \\o/")"#);
    assert_eq!(
        e,
        matcher(MatcherKind::Header, &["X-Q", r#"say "hi" \o/"#], 1)
    );
    let e = ok(r#"PathRegexp("^/\d+$")"#);
    assert_eq!(e, matcher(MatcherKind::PathRegexp, &[r"^/\d+$"], 1));
    let e = ok(r#"Header(`X`, "a`b")"#);
    assert_eq!(e.to_string(), r#"Header(`X`, "a`b")"#);
    // Backtick strings are raw: a backslash stays a backslash.
    let e = ok(r"Header(`X`, `a\b`)");
    assert_eq!(e, matcher(MatcherKind::Header, &["X", r"a\b"], 1));
}

#[test]
fn visit_matchers_sees_every_matcher() {
    let e = ok("Host(`a`) && (Path(`/b`) || !Method(`GET`))");
    let mut names = Vec::new();
    e.visit_matchers(|m| names.push((m.kind.name(), m.column)));
    assert_eq!(names, vec![("Host", 1), ("Path", 15), ("Method", 30)]);
}

/// `(rule, column, message)` for every error the parser reports.
const ERRORS: &[(&str, usize, &str)] = &[
    ("", 1, "rule is empty"),
    ("   \t", 1, "rule is empty"),
    ("Hots(`a`)", 1, "unknown matcher `Hots`"),
    ("Host(`a`) && hOST(`b`)", 14, "unknown matcher `hOST` (did you mean `Host`? it is written `Host`, `host`, `HOST`)"),
    ("pathPrefix(`/`)", 1, "unknown matcher `pathPrefix` (did you mean `PathPrefix`? it is written `PathPrefix`, `pathprefix`, `PATHPREFIX`, `Pathprefix`)"),
    ("HostHeader(`a`)", 1, "unknown matcher `HostHeader` (Traefik v2 syntax; use `Host`)"),
    ("HostSNI(`a`)", 1, "unknown matcher `HostSNI` (a TCP matcher; not valid in HTTP rules)"),
    ("Host(`a`, `b`)", 1, "Host takes exactly 1 argument, got 2"),
    ("  Host()", 3, "Host takes exactly 1 argument, got 0"),
    ("HostRegexp(`a`, `b`)", 1, "HostRegexp takes exactly 1 argument, got 2"),
    ("Path(`/a`, `/b`)", 1, "Path takes exactly 1 argument, got 2"),
    ("PathPrefix(`/a`, `/b`)", 1, "PathPrefix takes exactly 1 argument, got 2"),
    ("PathRegexp(`a`, `b`)", 1, "PathRegexp takes exactly 1 argument, got 2"),
    ("Method(`GET`, `POST`)", 1, "Method takes exactly 1 argument, got 2"),
    ("ClientIP(`::1`, `::2`)", 1, "ClientIP takes exactly 1 argument, got 2"),
    ("Header(`X`)", 1, "Header takes exactly 2 arguments, got 1"),
    ("HeaderRegexp(`X`, `a`, `b`)", 1, "HeaderRegexp takes exactly 2 arguments, got 3"),
    ("Query()", 1, "Query takes 1 or 2 arguments, got 0"),
    ("QueryRegexp(`a`, `b`, `c`)", 1, "QueryRegexp takes 1 or 2 arguments, got 3"),
    ("Host(`a`) && Path(`/b", 19, "unterminated string: missing closing backtick"),
    ("Host(\"a)", 6, "unterminated string: missing closing `\"`"),
    ("Host(`a`) Path(`/b`)", 11, "unexpected `Path`: expected `&&`, `||` or end of rule"),
    ("Host(`a`))", 10, "unexpected `)`: expected `&&`, `||` or end of rule"),
    ("Host(`a`) &&", 13, "expected a matcher, `!` or `(`, found end of rule"),
    ("|| Host(`a`)", 1, "expected a matcher, `!` or `(`, found `||`"),
    ("Host(`a`) && && Path(`/`)", 14, "expected a matcher, `!` or `(`, found `&&`"),
    ("`a`", 1, "expected a matcher, `!` or `(`, found a string"),
    ("Host(`a`) & Path(`/`)", 11, "expected `&&`, found a single `&`"),
    ("Host(`a`) | Path(`/`)", 11, "expected `||`, found a single `|`"),
    ("Host(`a` `b`)", 10, "expected `)` after matcher arguments, found a string"),
    ("Host(`a`", 9, "expected `)` after matcher arguments, found end of rule"),
    ("Host(`a`,)", 10, "expected a string in backticks or double quotes, found `)`"),
    ("Host(a)", 6, "expected a string in backticks or double quotes, found `a`"),
    ("Host `a`", 6, "expected `(` after matcher name `Host`, found a string"),
    ("Host", 5, "expected `(` after matcher name `Host`, found end of rule"),
    ("(Host(`a`)", 11, "expected `)` to close the `(` at column 1, found end of rule"),
    ("(Host(`a`) Path(`/`)", 12, "expected `)` to close the `(` at column 1, found `Path`"),
    ("()", 2, "expected a matcher, `!` or `(`, found `)`"),
    ("Host(`a`) && Path(`a`)", 14, "Path value \"a\" must start with \"/\""),
    ("PathPrefix(``)", 1, "PathPrefix value must not be empty"),
    ("Host(``)", 1, "Host value must not be empty"),
    ("ClientIP(`10.0.0.300`)", 1, "ClientIP value \"10.0.0.300\" is neither an IP address nor a CIDR range"),
    ("ClientIP(`10.0.0.0/40`)", 1, "ClientIP value \"10.0.0.0/40\" is neither an IP address nor a CIDR range"),
    ("Host(`a`) || HostRegexp(`(`)", 14, "HostRegexp: invalid regular expression \"(\": unclosed group"),
    ("PathRegexp(`[a-`)", 1, "PathRegexp: invalid regular expression \"[a-\": unclosed character class"),
    ("HeaderRegexp(`X`, `*`)", 1, "HeaderRegexp: invalid regular expression \"*\": repetition operator missing expression"),
    ("QueryRegexp(`q`, `a{2,1}`)", 1, "QueryRegexp: invalid regular expression \"a{2,1}\": invalid repetition count range, the start must be <= the end"),
    ("Host(`a`) ; Path(`/`)", 11, "unexpected character ';'"),
    ("Method(`G T`)", 1, "Method value \"G T\" is not an HTTP method"),
];

#[test]
fn every_error_has_its_column_and_message() {
    for (rule, column, message) in ERRORS {
        let e = err(rule);
        assert_eq!(
            (e.column, e.message.as_str()),
            (*column, *message),
            "rule {rule:?}"
        );
    }
}

#[test]
fn error_display_names_the_column() {
    assert_eq!(
        err("Host(`a` `b`)").to_string(),
        "column 10: expected `)` after matcher arguments, found a string"
    );
}

#[test]
fn columns_count_characters() {
    let e = err("Header(`X`, `é`) && Path(`x`)");
    assert_eq!(e.column, 21);
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let deep = format!("{}Host(`a`){}", "(".repeat(10_000), ")".repeat(10_000));
    let e = err(&deep);
    assert_eq!(e.column, 65);
    assert_eq!(e.message, "expression is nested more than 64 levels deep");
    let nots = format!("{}Host(`a`)", "!".repeat(10_000));
    assert_eq!(err(&nots).column, 65);
    let ok_depth = format!("{}Host(`a`){}", "(".repeat(64), ")".repeat(64));
    assert!(parse(&ok_depth).is_ok());
}

/// Parses `rule`, prints it, and checks that the printed form is canonical and parses back to
/// the same tree (columns aside, which printing changes).
fn round_trip(rule: &str) -> String {
    let printed = ok(rule).to_string();
    let reparsed = ok(&printed);
    assert_eq!(reparsed.to_string(), printed, "{rule}");
    assert_eq!(strip_columns(&reparsed), strip_columns(&ok(rule)), "{rule}");
    printed
}

/// The tree with every column set to 1.
fn strip_columns(e: &Expr) -> Expr {
    match e {
        Expr::And(o) => Expr::And(o.iter().map(strip_columns).collect()),
        Expr::Or(o) => Expr::Or(o.iter().map(strip_columns).collect()),
        Expr::Not(e) => Expr::Not(Box::new(strip_columns(e))),
        Expr::Matcher(m) => Expr::Matcher(Matcher {
            column: 1,
            ..m.clone()
        }),
    }
}

#[test]
fn display_round_trips() {
    let cases = [
        ("Host(`a`)", "Host(`a`)"),
        (
            "Host(`a`)||Host(`b`)||Host(`c`)",
            "Host(`a`) || Host(`b`) || Host(`c`)",
        ),
        (
            "(Host(`a`) || Host(`b`)) || Host(`c`)",
            "(Host(`a`) || Host(`b`)) || Host(`c`)",
        ),
        (
            "Host(`a`) || (Host(`b`) || Host(`c`))",
            "Host(`a`) || (Host(`b`) || Host(`c`))",
        ),
        (
            "(Host(`a`) && Host(`b`)) && Host(`c`)",
            "(Host(`a`) && Host(`b`)) && Host(`c`)",
        ),
        (
            "(Host(`a`) && Host(`b`)) || Host(`c`)",
            "Host(`a`) && Host(`b`) || Host(`c`)",
        ),
        (
            "Host(`a`) && (Host(`b`) || Host(`c`))",
            "Host(`a`) && (Host(`b`) || Host(`c`))",
        ),
        ("!(!(Host(`a`)))", "!!Host(`a`)"),
        (
            "!(Host(`a`) && Host(`b`)) || !Host(`c`)",
            "!(Host(`a`) && Host(`b`)) || !Host(`c`)",
        ),
        ("((Host(`a`)))", "Host(`a`)"),
        (r#"Header("X", "a`b")"#, r#"Header(`X`, "a`b")"#),
        (
            r"Host(`a.com`) && (PathRegexp(`^/\w+$`) || !Query(`k`) && ClientIP(`::1`))",
            r"Host(`a.com`) && (PathRegexp(`^/\w+$`) || !Query(`k`) && ClientIP(`::1`))",
        ),
    ];
    for (rule, printed) in cases {
        assert_eq!(round_trip(rule), printed, "{rule}");
    }
    // Hand-built trees of every shape print to a rule that parses back to them.
    let m = |p: &str| matcher(MatcherKind::Path, &[p], 1);
    let trees = [
        Expr::Or(vec![
            Expr::Or(vec![m("/a"), m("/b")]),
            m("/c"),
            Expr::And(vec![m("/d"), m("/e")]),
        ]),
        Expr::And(vec![
            Expr::Or(vec![m("/a"), m("/b")]),
            Expr::And(vec![m("/c"), m("/d")]),
        ]),
        Expr::Not(Box::new(Expr::Or(vec![
            m("/a"),
            Expr::Not(Box::new(m("/b"))),
        ]))),
    ];
    for tree in trees {
        assert_eq!(strip_columns(&ok(&tree.to_string())), tree, "{tree}");
    }
}

#[test]
fn matchers_carry_typed_values() {
    let value = |rule: &str| match ok(rule) {
        Expr::Matcher(m) => m.value,
        other => panic!("{other}"),
    };
    assert_eq!(
        value("Host(`Example.COM.`)"),
        MatcherValue::Host("example.com".into())
    );
    assert_eq!(
        value("Method(`get`)"),
        MatcherValue::Method(http::Method::GET)
    );
    assert_eq!(
        value("Query(`k`)"),
        MatcherValue::Query {
            key: "k".into(),
            value: None
        }
    );
    assert!(matches!(
        value("QueryRegexp(`k`, `^v$`)"),
        MatcherValue::QueryRegexp { regex: Some(ref r), .. } if r.is_match(b"v")
    ));
    assert!(matches!(
        value("HeaderRegexp(`X-Env`, `^p`)"),
        MatcherValue::HeaderRegexp { ref name, .. } if name == "x-env"
    ));
    assert_eq!(
        value("ClientIP(`10.0.0.1`)"),
        MatcherValue::ClientIP("10.0.0.1/32".parse().expect("net"))
    );
    // Regexes run with Go's ASCII Perl classes.
    let MatcherValue::PathRegexp(re) = value(r"PathRegexp(`^/public/keys/\w{30}$`)") else {
        panic!("PathRegexp");
    };
    assert!(re.is_match(&format!("/public/keys/{}", "k".repeat(30))));
    assert!(!re.is_match(&format!("/public/keys/{}", "é".repeat(30))));
}

/// `n` `Path` terms joined by `op`.
fn chain(n: usize, op: &str) -> String {
    (0..n)
        .map(|i| format!("Path(`/{i}`)"))
        .collect::<Vec<_>>()
        .join(op)
}

#[test]
fn thousand_term_chains_parse_print_and_drop_on_a_small_stack() {
    let handle = std::thread::Builder::new()
        .stack_size(128 * 1024)
        .spawn(|| {
            for op in [" || ", " && "] {
                let text = chain(MAX_MATCHERS, op);
                let e = ok(&text);
                match &e {
                    Expr::Or(o) | Expr::And(o) => assert_eq!(o.len(), MAX_MATCHERS),
                    other => panic!("{other:?}"),
                }
                let mut count = 0;
                e.visit_matchers(|_| count += 1);
                assert_eq!(count, MAX_MATCHERS);
                assert_eq!(e.to_string(), text);
                assert_eq!(e.clone(), e);
                drop(e);
            }
        })
        .expect("spawns");
    handle.join().expect("no stack overflow");
}

#[test]
fn matcher_count_is_limited() {
    let e = err(&chain(MAX_MATCHERS + 1, " || "));
    let column = chain(MAX_MATCHERS, " || ").chars().count() + 5;
    assert_eq!(e.column, column);
    assert_eq!(e.message, "rule has more than 1000 matchers (the limit)");
    assert_eq!(
        e.to_string(),
        format!("column {column}: rule has more than 1000 matchers (the limit)")
    );
    // Matchers count wherever they are, also under `!` and in groups.
    let nested = format!("!({})", chain(MAX_MATCHERS + 1, " && "));
    assert!(err(&nested).message.contains("more than 1000 matchers"));
}

#[test]
fn huge_rules_are_refused_quickly() {
    // 6 000 terms, as in the incident, and 60 000: refused on their length, before parsing.
    for n in [6_000, 60_000] {
        let text = chain(n, " || ");
        let start = std::time::Instant::now();
        let e = err(&text);
        assert!(start.elapsed() < std::time::Duration::from_millis(100));
        assert_eq!(e.column, 1);
        assert_eq!(
            e.message,
            format!(
                "rule is {} bytes long, more than the limit of 65536",
                text.len()
            )
        );
    }
    // Just at the limit it is the matcher count that refuses, while parsing.
    let mut text = chain(MAX_MATCHERS + 1, "||");
    text.push_str(&" ".repeat(MAX_RULE_LENGTH - text.len()));
    assert_eq!(text.len(), MAX_RULE_LENGTH);
    assert!(err(&text).message.contains("matchers"));
}

#[test]
fn nesting_limit_is_exact() {
    let parens = |n: usize| format!("{}Host(`a`){}", "(".repeat(n), ")".repeat(n));
    assert!(parse(&parens(MAX_DEPTH)).is_ok());
    let e = err(&parens(MAX_DEPTH + 1));
    assert_eq!(
        (e.column, e.message.as_str()),
        (65, "expression is nested more than 64 levels deep")
    );
    let nots = |n: usize| format!("{}Host(`a`)", "!".repeat(n));
    assert!(parse(&nots(MAX_DEPTH)).is_ok());
    assert_eq!(err(&nots(MAX_DEPTH + 1)).column, 65);
    // `!` and parentheses count together.
    let mixed = format!("{}Host(`a`){}", "!(".repeat(32), ")".repeat(32));
    assert!(parse(&mixed).is_ok());
    let mixed = format!("!{}Host(`a`){}", "!(".repeat(32), ")".repeat(32));
    assert!(err(&mixed).message.contains("64 levels"));
}

#[test]
fn nested_chains_on_a_small_stack() {
    // Depth 64 of groups, each a chain: deep and wide at once. Unoptimized, the 64 levels of
    // parser, printer and drop frames need between 256 and 512 KiB; tokio workers have 2 MiB.
    let handle = std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(|| {
            let mut text = "!Path(`/x`)".to_string();
            for i in 0..MAX_DEPTH - 1 {
                let op = if i % 2 == 0 { " || " } else { " && " };
                text = format!("({text}{op}Path(`/{i}`){op}Path(`/y`))");
            }
            let e = parse(&text).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(ok(&e.to_string()).to_string(), e.to_string());
        })
        .expect("spawns");
    handle.join().expect("no stack overflow");
}

/// What a rule should give: its canonical printed form, or an error at a column, naming the
/// matcher.
enum Expect {
    Prints(&'static str),
    Refused(usize, &'static str),
}

use Expect::{Prints, Refused};

/// Conformance with Traefik v3's parsing, by matcher group. Each group says which Traefik
/// fact it follows.
const CONFORMANCE: &[(&str, Expect)] = &[
    // Names: Traefik's rule parser (pkg/rules) registers every matcher function under its
    // name, its lowercase and uppercase forms and its capitalized lowercase form, and nothing
    // else. The tree keeps the matcher, so the canonical print is the CamelCase name.
    ("PathPrefix(`/a`)", Prints("PathPrefix(`/a`)")),
    ("pathprefix(`/a`)", Prints("PathPrefix(`/a`)")),
    ("Pathprefix(`/a`)", Prints("PathPrefix(`/a`)")),
    ("PATHPREFIX(`/a`)", Prints("PathPrefix(`/a`)")),
    ("host(`a.com`) && !METHOD(`get`)", Prints("Host(`a.com`) && !Method(`get`)")),
    ("(hostregexp(`^a`) || Clientip(`::1`)) && QUERYREGEXP(`k`, `v`)", Prints("(HostRegexp(`^a`) || ClientIP(`::1`)) && QueryRegexp(`k`, `v`)")),
    ("!(Headerregexp(`X`, `y`) || header(`X`, `z`)) && PATH(`/`)", Prints("!(HeaderRegexp(`X`, `y`) || Header(`X`, `z`)) && Path(`/`)")),
    ("Pathregexp(`^/`) || pathregexp(`^/b`) || query(`q`, `1`)", Prints("PathRegexp(`^/`) || PathRegexp(`^/b`) || Query(`q`, `1`)")),
    ("CLIENTIP(`10.0.0.0/8`)", Prints("ClientIP(`10.0.0.0/8`)")),
    ("pathPrefix(`/a`)", Refused(1, "unknown matcher `pathPrefix` (did you mean `PathPrefix`? it is written `PathPrefix`, `pathprefix`, `PATHPREFIX`, `Pathprefix`)")),
    ("Host(`a`) && (clientIp(`::1`))", Refused(15, "unknown matcher `clientIp` (did you mean `ClientIP`? it is written `ClientIP`, `clientip`, `CLIENTIP`, `Clientip`)")),
    ("!hostRegexp(`a`)", Refused(2, "unknown matcher `hostRegexp` (did you mean `HostRegexp`? it is written `HostRegexp`, `hostregexp`, `HOSTREGEXP`, `Hostregexp`)")),
    // Empty arguments: before building any matcher, Traefik checks the rule and refuses an
    // empty argument whatever the matcher; its matcher tests list an "empty parameter" case
    // for each of them, and Query(`q`, ``) among the invalid Query rules.
    ("Host(``)", Refused(1, "Host value must not be empty")),
    ("Path(`/`) && HostRegexp(``)", Refused(14, "HostRegexp regular expression must not be empty")),
    ("Path(``)", Refused(1, "Path value must not be empty")),
    ("PathPrefix(``)", Refused(1, "PathPrefix value must not be empty")),
    ("PathRegexp(``)", Refused(1, "PathRegexp regular expression must not be empty")),
    ("Method(``)", Refused(1, "Method value must not be empty")),
    ("ClientIP(``)", Refused(1, "ClientIP value must not be empty")),
    ("Header(``, `v`)", Refused(1, "Header name must not be empty")),
    ("Header(`X`, ``)", Refused(1, "Header value must not be empty")),
    ("HeaderRegexp(`X`, ``)", Refused(1, "HeaderRegexp regular expression must not be empty")),
    ("Query(``)", Refused(1, "Query parameter name must not be empty")),
    ("Query(``, `v`)", Refused(1, "Query parameter name must not be empty")),
    ("Query(`q`, ``)", Refused(1, "Query value must not be empty")),
    ("QueryRegexp(``)", Refused(1, "QueryRegexp parameter name must not be empty")),
    ("  !queryregexp(`q`, \"\")", Refused(4, "QueryRegexp regular expression must not be empty")),
    ("Header(`X`, ` `)", Prints("Header(`X`, ` `)")),
    // Regexes: Go's regexp reads a `{` that opens no `{n}`, `{n,}` or `{n,m}` as a literal,
    // and Traefik's matcher tests compile the v2 forms HostRegexp(`{domain:...}`),
    // PathRegexp(`/{path:(css|js)}`) and QueryRegexp(`q`, `{value:...}`) as valid v3 rules.
    (r"HostRegexp(`{domain:[a-z]+}\.com`)", Prints(r"HostRegexp(`{domain:[a-z]+}\.com`)")),
    ("PathRegexp(`/{path:(css|js)}`)", Prints("PathRegexp(`/{path:(css|js)}`)")),
    ("QueryRegexp(`q`, `{value:(traefik|nginx)}`)", Prints("QueryRegexp(`q`, `{value:(traefik|nginx)}`)")),
    ("HeaderRegexp(`X`, `^a{,2}}$`)", Prints("HeaderRegexp(`X`, `^a{,2}}$`)")),
    ("PathRegexp(`^/[a[]+$`)", Prints("PathRegexp(`^/[a[]+$`)")),
    ("PathRegexp(`^/a{1001}`)", Refused(1, "PathRegexp: invalid regular expression \"^/a{1001}\": repetition count in `{1001}` is above 1000, the limit of Go's regexp")),
];

#[test]
fn conformance_with_traefik_parsing() {
    for (rule, expect) in CONFORMANCE {
        match (parse(rule), expect) {
            (Ok(e), Prints(printed)) => assert_eq!(e.to_string(), *printed, "{rule}"),
            (Err(e), Refused(column, message)) => {
                assert_eq!(
                    (e.column, e.message.as_str()),
                    (*column, *message),
                    "{rule}"
                )
            }
            (Ok(e), Refused(..)) => panic!("{rule:?} should be refused, got {e}"),
            (Err(e), Prints(_)) => panic!("{rule:?} should parse: {e}"),
        }
    }
}

#[test]
fn v2_placeholders_are_warned_about() {
    let warnings = |rule: &str| v2_placeholder_warnings(&ok(rule));
    assert_eq!(
        warnings(r"Host(`a.com`) && HostRegexp(`{sub:[a-z]+}\.a\.com`)"),
        [
            r#"column 18: HostRegexp value "{sub:[a-z]+}\\.a\\.com" uses `{sub...}`, Traefik v2 syntax that v3 treats literally (it matches the braces as text)"#
        ]
    );
    assert_eq!(
        warnings("Path(`/u/{id}`) || PathRegexp(`/{a}/{b:[0-9]{2}}`) || QueryRegexp(`k`, `{v}`)")
            .len(),
        3
    );
    assert!(warnings("Path(`/u/{id}`)")[0].contains("`{id...}`"));
    assert!(
        warnings(r"PathRegexp(`^/a{2}\{x}[{y}]`) && Header(`X`, `{z}`) && Query(`q`)").is_empty()
    );
}
