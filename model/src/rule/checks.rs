//! Checks on one parsed matcher: its arity and the values of its arguments. Every error points
//! at the column of the matcher name.

use super::{Matcher, MatcherKind, RuleError};
use crate::checks::{compile_regex, is_token, parse_ip_or_cidr};

/// Checks the arity and argument values of `m`.
pub(super) fn check_matcher(m: &Matcher) -> Result<(), RuleError> {
    let err = |message: String| RuleError::new(m.column, message);
    check_arity(m).map_err(err)?;
    let kind = m.kind;
    let arg = |i: usize| m.args.get(i).map(String::as_str).unwrap_or_default();
    match kind {
        MatcherKind::Host => check_host(arg(0)),
        MatcherKind::HostRegexp | MatcherKind::PathRegexp => compile(kind, arg(0)),
        MatcherKind::Path | MatcherKind::PathPrefix => check_path(kind, arg(0)),
        MatcherKind::Method => {
            if is_token(arg(0)) {
                Ok(())
            } else {
                Err(format!("Method value {:?} is not an HTTP method", arg(0)))
            }
        }
        MatcherKind::Header | MatcherKind::HeaderRegexp => {
            if !is_token(arg(0)) {
                return Err(err(format!(
                    "{kind} name {:?} is not a valid HTTP header name",
                    arg(0)
                )));
            }
            if kind == MatcherKind::HeaderRegexp {
                compile(kind, arg(1))
            } else {
                Ok(())
            }
        }
        MatcherKind::Query | MatcherKind::QueryRegexp => {
            if arg(0).is_empty() {
                return Err(err(format!("{kind} parameter name must not be empty")));
            }
            if kind == MatcherKind::QueryRegexp && m.args.len() == 2 {
                compile(kind, arg(1))
            } else {
                Ok(())
            }
        }
        MatcherKind::ClientIP => parse_ip_or_cidr(arg(0))
            .map(drop)
            .map_err(|e| format!("ClientIP value {e}")),
    }
    .map_err(err)
}

/// Checks the number of arguments against the matcher's v3 arity.
fn check_arity(m: &Matcher) -> Result<(), String> {
    let arity = m.kind.arity();
    let got = m.args.len();
    if arity.contains(&got) {
        return Ok(());
    }
    let (lo, hi) = (*arity.start(), *arity.end());
    let expected = if lo == hi {
        format!("exactly {lo} argument{}", if lo == 1 { "" } else { "s" })
    } else {
        format!("{lo} or {hi} arguments")
    };
    Err(format!("{} takes {expected}, got {got}", m.kind))
}

/// `Host` takes a plain ASCII host name: no wildcards (v3 has `HostRegexp` for those).
fn check_host(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("Host value must not be empty".to_string());
    }
    if !host.is_ascii() {
        return Err(format!(
            "Host value {host:?} has non-ASCII characters (use its punycode form)"
        ));
    }
    if host.contains('*') {
        return Err(format!(
            "Host value {host:?} has a wildcard, which Traefik v3 does not expand (use HostRegexp)"
        ));
    }
    Ok(())
}

/// `Path` and `PathPrefix` values must be absolute paths.
fn check_path(kind: MatcherKind, path: &str) -> Result<(), String> {
    if path.starts_with('/') {
        Ok(())
    } else {
        Err(format!("{kind} value {path:?} must start with \"/\""))
    }
}

/// The regex argument of a `*Regexp` matcher must compile.
fn compile(kind: MatcherKind, pattern: &str) -> Result<(), String> {
    compile_regex(pattern)
        .map(drop)
        .map_err(|e| format!("{kind}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(kind: MatcherKind, args: &[&str]) -> Result<(), RuleError> {
        check_matcher(&Matcher {
            kind,
            args: args.iter().map(|s| s.to_string()).collect(),
            column: 7,
        })
    }

    #[test]
    fn arity_messages() {
        let err = check(MatcherKind::Host, &["a", "b"]).unwrap_err();
        assert_eq!(
            err,
            RuleError::new(7, "Host takes exactly 1 argument, got 2")
        );
        let err = check(MatcherKind::Header, &["a"]).unwrap_err();
        assert_eq!(
            err,
            RuleError::new(7, "Header takes exactly 2 arguments, got 1")
        );
        let err = check(MatcherKind::Query, &["a", "b", "c"]).unwrap_err();
        assert_eq!(
            err,
            RuleError::new(7, "Query takes 1 or 2 arguments, got 3")
        );
        let err = check(MatcherKind::Method, &[]).unwrap_err();
        assert_eq!(
            err,
            RuleError::new(7, "Method takes exactly 1 argument, got 0")
        );
    }

    #[test]
    fn value_checks() {
        assert!(check(MatcherKind::Host, &["example.com"]).is_ok());
        assert!(check(MatcherKind::Host, &[""]).is_err());
        assert!(check(MatcherKind::Host, &["*.example.com"]).is_err());
        assert!(check(MatcherKind::Host, &["bücher.de"]).is_err());
        assert!(check(MatcherKind::Method, &["GET"]).is_ok());
        assert!(check(MatcherKind::Method, &["GE T"]).is_err());
        assert!(check(MatcherKind::Header, &["X Bad", "v"]).is_err());
        assert!(check(MatcherKind::Query, &["", "v"]).is_err());
        assert!(check(MatcherKind::QueryRegexp, &["k"]).is_ok());
        assert!(check(MatcherKind::QueryRegexp, &["k", "("]).is_err());
        assert!(check(MatcherKind::ClientIP, &["::1"]).is_ok());
        let err = check(MatcherKind::ClientIP, &["nope"]).unwrap_err();
        assert_eq!(
            err.message,
            "ClientIP value \"nope\" is neither an IP address nor a CIDR range"
        );
    }
}
