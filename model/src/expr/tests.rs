use super::*;

fn cb(s: &str) -> Result<Expr, ExprError> {
    parse(s, Language::CircuitBreaker)
}

#[test]
fn traefik_examples_parse() {
    for s in [
        "NetworkErrorRatio() > 0.5",
        "ResponseCodeRatio(500, 600, 0, 600) > 0.25",
        "LatencyAtQuantileMS(50.0) > 100",
        "NetworkErrorRatio() > 0.30 || ResponseCodeRatio(500, 600, 0, 600) > 0.25",
        "(NetworkErrorRatio() >= 0.5 && LatencyAtQuantileMS(99) != 3) || 0.1 < NetworkErrorRatio()",
    ] {
        cb(s).unwrap_or_else(|e| panic!("{s}: {e}"));
    }
    parse("IsNetworkError() && Attempts() < 2", Language::Retry).unwrap();
}

#[test]
fn and_binds_tighter_than_or() {
    let e = cb("NetworkErrorRatio() > 1 && NetworkErrorRatio() > 1 || NetworkErrorRatio() < 1")
        .unwrap();
    assert!(matches!(e, Expr::Or(..)));
    assert!(e.eval(&mut |_| 0.5));
    let e = cb("NetworkErrorRatio() > 1 && (NetworkErrorRatio() > 1 || NetworkErrorRatio() < 1)")
        .unwrap();
    assert!(!e.eval(&mut |_| 0.5));
}

#[test]
fn operators_compare() {
    for (op, want) in [
        (">", false),
        (">=", true),
        ("<", false),
        ("<=", true),
        ("==", true),
        ("!=", false),
    ] {
        let e = cb(&format!("NetworkErrorRatio() {op} 0.5")).unwrap();
        assert_eq!(e.eval(&mut |_| 0.5), want, "{op}");
    }
}

#[test]
fn errors_name_the_column() {
    let cases = [
        (
            "NetworkErrorRatio() >",
            22,
            "expected a number or a function call",
        ),
        ("Nope() > 1", 1, "unknown function \"Nope\""),
        (
            "NetworkErrorRatio() > 0.5 &&",
            29,
            "expected a number or a function call",
        ),
        ("(NetworkErrorRatio() > 0.5", 27, "expected `)`"),
        ("NetworkErrorRatio()", 20, "expected a comparison operator"),
        ("LatencyAtQuantileMS() > 1", 1, "takes 1 argument"),
        ("ResponseCodeRatio(600, 500, 0, 600) > 1", 1, "from < to"),
        ("NetworkErrorRatio() > 0.5 $", 27, "unexpected character"),
        ("", 1, "empty"),
        ("IsNetworkError()", 1, "unknown function"),
    ];
    for (input, column, msg) in cases {
        let e = cb(input).unwrap_err();
        assert_eq!(e.column, column, "{input}: {e}");
        assert!(e.message.contains(msg), "{input}: {e}");
    }
    let e = parse("NetworkErrorRatio() > 1", Language::Retry).unwrap_err();
    assert!(e.message.contains("unknown function"), "{e}");
}
