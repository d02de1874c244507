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
    Expr::Matcher(Matcher {
        kind,
        args: args.iter().map(|s| s.to_string()).collect(),
        column,
    })
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
    let expected = Expr::Or(
        Box::new(matcher(MatcherKind::Host, &["a"], 1)),
        Box::new(Expr::And(
            Box::new(matcher(MatcherKind::Path, &["/b"], 14)),
            Box::new(matcher(MatcherKind::Method, &["GET"], 28)),
        )),
    );
    assert_eq!(e, expected);

    let e = ok("Host(`a`) && Path(`/b`) || Method(`GET`)");
    assert!(matches!(e, Expr::Or(ref l, _) if matches!(**l, Expr::And(..))));
}

#[test]
fn operators_group_to_the_left() {
    let e = ok("Host(`a`) && Host(`b`) && Host(`c`)");
    let Expr::And(left, right) = e else {
        panic!("expected And");
    };
    assert!(matches!(*left, Expr::And(..)));
    assert_eq!(*right, matcher(MatcherKind::Host, &["c"], 27));
}

#[test]
fn negation_binds_tightest() {
    let e = ok("!Host(`a`) && Path(`/b`)");
    let expected = Expr::And(
        Box::new(Expr::Not(Box::new(matcher(MatcherKind::Host, &["a"], 2)))),
        Box::new(matcher(MatcherKind::Path, &["/b"], 15)),
    );
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
    assert!(matches!(e, Expr::And(ref l, _) if matches!(**l, Expr::Or(..))));
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
    ("Host(`a`) && host(`b`)", 14, "unknown matcher `host` (did you mean `Host`?)"),
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
    ("PathPrefix(``)", 1, "PathPrefix value \"\" must start with \"/\""),
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
