//! Checks on one parsed matcher: its arity and the values of its arguments. Every error points
//! at the column of the matcher name.

use super::{MatcherKind, MatcherValue};
use crate::checks::{is_token, parse_ip_or_cidr};

/// Checks the arity and argument values of a `kind` matcher and converts them to its value.
///
/// The conversions to `http::Method` and `http::HeaderName` happen here, so a data plane that
/// reads the value has nothing left to refuse.
pub(super) fn check_matcher(kind: MatcherKind, args: &[String]) -> Result<MatcherValue, String> {
    check_arity(kind, args.len())?;
    check_not_empty(kind, args)?;
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or_default();
    Ok(match kind {
        MatcherKind::Host => {
            let host = arg(0);
            check_host(host)?;
            MatcherValue::Host(host_key(host))
        }
        MatcherKind::HostRegexp => MatcherValue::HostRegexp(compile(kind, arg(0))?),
        MatcherKind::PathRegexp => MatcherValue::PathRegexp(compile(kind, arg(0))?),
        MatcherKind::Path => MatcherValue::Path(check_path(kind, arg(0))?),
        MatcherKind::PathPrefix => MatcherValue::PathPrefix(check_path(kind, arg(0))?),
        MatcherKind::Method => {
            let method = arg(0);
            let not_a_method = || format!("Method value {method:?} is not an HTTP method");
            if !is_token(method) {
                return Err(not_a_method());
            }
            let upper = method.to_ascii_uppercase();
            MatcherValue::Method(
                http::Method::from_bytes(upper.as_bytes()).map_err(|_| not_a_method())?,
            )
        }
        MatcherKind::Header | MatcherKind::HeaderRegexp => {
            let name = arg(0);
            let bad_name = || format!("{kind} name {name:?} is not a valid HTTP header name");
            if !is_token(name) {
                return Err(bad_name());
            }
            let name = http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad_name())?;
            if kind == MatcherKind::HeaderRegexp {
                MatcherValue::HeaderRegexp {
                    name,
                    regex: compile_bytes(kind, arg(1))?,
                }
            } else {
                MatcherValue::Header {
                    name,
                    value: arg(1).to_string(),
                }
            }
        }
        MatcherKind::Query | MatcherKind::QueryRegexp => {
            let key = arg(0).to_string();
            let second = args.get(1).map(String::as_str);
            if kind == MatcherKind::QueryRegexp {
                MatcherValue::QueryRegexp {
                    key,
                    regex: second.map(|p| compile_bytes(kind, p)).transpose()?,
                }
            } else {
                MatcherValue::Query {
                    key,
                    value: second.map(str::to_string),
                }
            }
        }
        MatcherKind::ClientIP => MatcherValue::ClientIP(
            parse_ip_or_cidr(arg(0)).map_err(|e| format!("ClientIP value {e}"))?,
        ),
    })
}

/// Checks the number of arguments against the matcher's v3 arity.
fn check_arity(kind: MatcherKind, got: usize) -> Result<(), String> {
    let arity = kind.arity();
    if arity.contains(&got) {
        return Ok(());
    }
    let (lo, hi) = (*arity.start(), *arity.end());
    let expected = if lo == hi {
        format!("exactly {lo} argument{}", if lo == 1 { "" } else { "s" })
    } else {
        format!("{lo} or {hi} arguments")
    };
    Err(format!("{kind} takes {expected}, got {got}"))
}

/// Traefik v3 checks every matcher before building it and refuses one with an empty argument,
/// whatever the matcher: ``Host(``)``, ``Header(`X`, ``)``, ``Query(`q`, ``)`` alike.
fn check_not_empty(kind: MatcherKind, args: &[String]) -> Result<(), String> {
    let Some(i) = args.iter().position(String::is_empty) else {
        return Ok(());
    };
    let what = match (kind, i) {
        (MatcherKind::Header | MatcherKind::HeaderRegexp, 0) => "name",
        (MatcherKind::Query | MatcherKind::QueryRegexp, 0) => "parameter name",
        (MatcherKind::HeaderRegexp | MatcherKind::QueryRegexp, _)
        | (MatcherKind::HostRegexp | MatcherKind::PathRegexp, _) => "regular expression",
        _ => "value",
    };
    Err(format!("{kind} {what} must not be empty"))
}

/// `Host` takes a plain ASCII host name: no wildcards (v3 has `HostRegexp` for those).
fn check_host(host: &str) -> Result<(), String> {
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
    // A host name or an IP literal, as Traefik checks it ("not a hostname" for `/`).
    if let Some(c) = host
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-._:[]".contains(*c)))
    {
        return Err(format!(
            "Host value {host:?} is not a host name: {c:?} is not allowed"
        ));
    }
    Ok(())
}

/// The host a `Host` value matches, as the data plane normalizes request hosts: lowercase,
/// without one trailing dot, and an IPv6 address in its canonical form in brackets whether or
/// not it was written with them, so `Host(`10::10`)` and `Host(`[10::10]`)` both match `http://[10::10]/` and
/// `http://[10::10]:8080/` (Traefik matches the bare form only with a port and the bracketed
/// one only without).
fn host_key(host: &str) -> String {
    let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(&host);
    match bare.parse::<std::net::Ipv6Addr>() {
        // In its canonical text, as clients write it in URLs.
        Ok(ip) => format!("[{ip}]"),
        Err(_) => host,
    }
}

/// `Path` and `PathPrefix` values must be absolute paths.
fn check_path(kind: MatcherKind, path: &str) -> Result<String, String> {
    if path.starts_with('/') {
        Ok(path.to_string())
    } else {
        Err(format!("{kind} value {path:?} must start with \"/\""))
    }
}

/// The regex argument of a `*Regexp` matcher, compiled as the data plane runs it.
fn compile(kind: MatcherKind, pattern: &str) -> Result<regex::Regex, String> {
    crate::regex::compile(pattern).map_err(|e| format!("{kind}: {e}"))
}

/// The same, for a regex run on bytes.
fn compile_bytes(kind: MatcherKind, pattern: &str) -> Result<regex::bytes::Regex, String> {
    crate::regex::compile_bytes(pattern).map_err(|e| format!("{kind}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::{Matcher, RuleError};

    fn check(kind: MatcherKind, args: &[&str]) -> Result<Matcher, RuleError> {
        Matcher::new(kind, args.iter().map(|s| s.to_string()).collect(), 7)
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
        // Not a host name, as Traefik's own test has it.
        let err = check(MatcherKind::Host, &["/"]).unwrap_err();
        assert_eq!(
            err.message,
            "Host value \"/\" is not a host name: '/' is not allowed"
        );
        assert!(check(MatcherKind::Host, &["a b.com"]).is_err());
        assert!(check(MatcherKind::Host, &["[::1]"]).is_ok());
        assert!(check(MatcherKind::Host, &["10::10"]).is_ok());
        assert!(check(MatcherKind::Host, &["my_host.local"]).is_ok());
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
