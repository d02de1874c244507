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

#[test]
fn chains_are_one_node() {
    let e = cb("NetworkErrorRatio() > 1 || NetworkErrorRatio() > 2 || NetworkErrorRatio() < 1")
        .unwrap();
    let Expr::Or(operands) = &e else {
        panic!("expected Or, got {e:?}");
    };
    assert_eq!(operands.len(), 3);
    let e = cb("(NetworkErrorRatio() > 1 || NetworkErrorRatio() > 2) || NetworkErrorRatio() < 1")
        .unwrap();
    assert!(matches!(&e, Expr::Or(o) if o.len() == 2 && matches!(o[0], Expr::Or(_))));
}

#[test]
fn evaluation_short_circuits_left_to_right() {
    let e = cb("NetworkErrorRatio() > 1 && LatencyAtQuantileMS(50) > 1 && NetworkErrorRatio() > 2")
        .unwrap();
    let mut asked = Vec::new();
    assert!(!e.eval(&mut |c| {
        asked.push(c.func);
        0.5
    }));
    assert_eq!(asked, vec![Func::NetworkErrorRatio]);
    assert_eq!(e.calls().len(), 3);
}

#[test]
fn long_chains_run_on_a_small_stack() {
    let handle = std::thread::Builder::new()
        .stack_size(128 * 1024)
        .spawn(|| {
            for op in ["&&", "||"] {
                let terms: Vec<String> = (0..20_000)
                    .map(|i| format!("LatencyAtQuantileMS(50) < {}", i + 1))
                    .collect();
                let text = terms.join(&format!(" {op} "));
                let e = cb(&text).unwrap_or_else(|e| panic!("{op}: {e}"));
                assert_eq!(e.calls().len(), 20_000);
                // Every term holds for 0.5 ms; the last one alone for 20 000 - 0.5.
                assert!(e.eval(&mut |_| 0.5));
                assert_eq!(e.eval(&mut |_| 19_999.5), op == "||");
                drop(e);
            }
        })
        .expect("spawns");
    handle.join().expect("no stack overflow");
}

#[test]
fn deep_nesting_is_refused() {
    let ok = format!(
        "{}NetworkErrorRatio() > 1{}",
        "(".repeat(64),
        ")".repeat(64)
    );
    cb(&ok).expect("64 levels parse");
    let deep = format!(
        "{}NetworkErrorRatio() > 1{}",
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    let e = cb(&deep).unwrap_err();
    assert_eq!(e.column, 65);
    assert_eq!(e.message, "expression is nested more than 64 levels deep");
}
