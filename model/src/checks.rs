//! Shared validation helpers: the object/field context that builds [`ModelError`]s, and the
//! value checks (URLs, regexes, IP ranges, status ranges, header names) used by several types.

use std::fmt::Display;
use std::net::IpAddr;

use ipnet::IpNet;
use regex::Regex;

use crate::name::reference_problem;
use crate::{Kind, ModelError};

/// The object being validated; turns a field path and a reason into a [`ModelError`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Object<'a> {
    /// Kind of the object.
    pub kind: Kind,
    /// Name of the object.
    pub name: &'a str,
}

impl<'a> Object<'a> {
    /// Context for the object `(kind, name)`.
    pub fn new(kind: Kind, name: &'a str) -> Self {
        Object { kind, name }
    }

    /// An error about `field` of this object.
    pub fn invalid(&self, field: impl Display, reason: impl Display) -> ModelError {
        ModelError::Invalid {
            kind: self.kind,
            name: self.name.to_string(),
            field: field.to_string(),
            reason: reason.to_string(),
        }
    }

    /// Checks that `reference` names an object (with an optional `@provider`).
    pub fn reference(&self, field: impl Display, reference: &str) -> Result<(), ModelError> {
        match reference_problem(reference) {
            None => Ok(()),
            Some(reason) => Err(self.invalid(field, reason)),
        }
    }

    /// Checks that the field is not empty.
    pub fn required(&self, field: impl Display, value: &str) -> Result<(), ModelError> {
        if value.is_empty() {
            return Err(self.invalid(field, "is required"));
        }
        Ok(())
    }

    /// Checks that `value` is a regular expression that compiles.
    pub fn regex(&self, field: impl Display, value: &str) -> Result<(), ModelError> {
        compile_regex(value)
            .map(drop)
            .map_err(|e| self.invalid(field, e))
    }

    /// Checks that `value` is an IP address or a CIDR range.
    pub fn ip_or_cidr(&self, field: impl Display, value: &str) -> Result<(), ModelError> {
        parse_ip_or_cidr(value)
            .map(drop)
            .map_err(|e| self.invalid(field, e))
    }

    /// Checks that `value` is an HTTP header name.
    pub fn header_name(&self, field: impl Display, value: &str) -> Result<(), ModelError> {
        if is_token(value) {
            Ok(())
        } else {
            Err(self.invalid(field, format!("{value:?} is not a valid HTTP header name")))
        }
    }

    /// Checks that `value` can be sent as an HTTP header value (no control characters).
    pub fn header_value(&self, field: impl Display, value: &str) -> Result<(), ModelError> {
        if value.chars().any(|c| c.is_control() && c != '\t') {
            return Err(self.invalid(field, "header values must not contain control characters"));
        }
        Ok(())
    }

    /// Checks that `value` is an HTTP status code (100 to 599).
    pub fn status_code(&self, field: impl Display, value: i64) -> Result<(), ModelError> {
        if (100..=599).contains(&value) {
            Ok(())
        } else {
            Err(self.invalid(
                field,
                format!("{value} is not an HTTP status code (100-599)"),
            ))
        }
    }

    /// Checks that a size limit is `-1` (unlimited) or non-negative.
    pub fn size_limit(&self, field: impl Display, value: i64) -> Result<(), ModelError> {
        if value < -1 {
            return Err(self.invalid(
                field,
                format!("{value} is not a size (use -1 for no limit, or 0 and above)"),
            ));
        }
        Ok(())
    }

    /// Checks that a count or byte size is not negative.
    pub fn non_negative(&self, field: impl Display, value: i64) -> Result<(), ModelError> {
        if value < 0 {
            return Err(self.invalid(field, format!("{value} must not be negative")));
        }
        Ok(())
    }
}

/// Joins a field path and a child name: `("loadBalancer", "servers")` → `loadBalancer.servers`.
pub(crate) fn field(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_string()
    } else {
        format!("{parent}.{child}")
    }
}

/// Compiles a regular expression as the data plane does ([`crate::regex::compile`]: Go's ASCII
/// Perl classes, the size limit), with a one-line error message.
pub(crate) fn compile_regex(pattern: &str) -> Result<Regex, String> {
    crate::regex::compile(pattern)
}

/// Parses an IP address (as a single-host range) or a CIDR range.
pub(crate) fn parse_ip_or_cidr(value: &str) -> Result<IpNet, String> {
    if let Ok(ip) = value.parse::<IpAddr>() {
        return Ok(IpNet::from(ip));
    }
    value
        .parse::<IpNet>()
        .map_err(|_| format!("{value:?} is neither an IP address nor a CIDR range"))
}

/// Parses a status range, `"404"` or `"500-599"`, each bound within 100..=599 and from <= to.
pub(crate) fn parse_status_range(value: &str) -> Result<(u16, u16), String> {
    let bound = |s: &str| -> Result<u16, String> {
        match s.trim().parse::<u16>() {
            Ok(n) if (100..=599).contains(&n) => Ok(n),
            _ => Err(format!(
                "{value:?} is not a status code or range like \"404\" or \"500-599\""
            )),
        }
    };
    let (from, to) = match value.split_once('-') {
        Some((a, b)) => (bound(a)?, bound(b)?),
        None => {
            let n = bound(value)?;
            (n, n)
        }
    };
    if from > to {
        return Err(format!(
            "{value:?}: range start {from} is above its end {to}"
        ));
    }
    Ok((from, to))
}

/// True when `s` is an RFC 9110 token (header names, methods, cookie names).
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Why `value` is not an absolute URL with a host and one of `schemes`, or `None` if it is.
pub(crate) fn url_problem(value: &str, schemes: &[&str]) -> Option<String> {
    let url = match url::Url::parse(value) {
        Ok(url) => url,
        Err(e) => return Some(format!("{value:?} is not an absolute URL: {e}")),
    };
    if !schemes.contains(&url.scheme()) {
        return Some(format!(
            "{value:?}: scheme must be {}, not {:?}",
            or_list(schemes),
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Some(format!("{value:?} has no host"));
    }
    None
}

/// Why HTTPS to a server or an auth server is refused for now.
pub(crate) const HTTPS_NOT_YET: &str = "https is not supported yet: raftgate does not speak TLS to \
     servers until TLS support lands (use http:// or h2c://, or terminate TLS in front of the server)";

/// `Some(reason)` when `url` is an `https://` URL, which the data plane cannot serve yet: it
/// is refused at write time rather than accepted and answered 503 forever.
pub(crate) fn https_not_yet(url: &str) -> Option<String> {
    let scheme = url.split_once("://").map(|(s, _)| s)?;
    scheme
        .eq_ignore_ascii_case("https")
        .then(|| format!("{url:?}: {HTTPS_NOT_YET}"))
}

/// Why `value` is not a DNS name (optionally a `*.` wildcard), or `None` if it is.
pub(crate) fn domain_problem(value: &str) -> Option<String> {
    let base = value.strip_prefix("*.").unwrap_or(value);
    if base.is_empty() {
        return Some("must not be empty".to_string());
    }
    if value.len() > 253 {
        return Some(format!("{value:?} is longer than 253 characters"));
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if base.trim_end_matches('.').split('.').all(label_ok) {
        None
    } else {
        Some(format!("{value:?} is not a valid domain name"))
    }
}

/// `["a", "b", "c"]` → `a, b or c`.
pub(crate) fn or_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// Checks that `value` balances its parentheses, for expressions parsed later.
pub(crate) fn balanced_parens(value: &str) -> Result<(), String> {
    let mut depth: usize = 0;
    for (i, c) in value.chars().enumerate() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| format!("unmatched `)` at column {}", i + 1))?;
            }
            _ => {}
        }
    }
    if depth > 0 {
        return Err(format!("{depth} unclosed `(`"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_ranges() {
        assert_eq!(parse_status_range("404"), Ok((404, 404)));
        assert_eq!(parse_status_range("500-599"), Ok((500, 599)));
        assert!(parse_status_range("599-500").is_err());
        assert!(parse_status_range("abc").is_err());
        assert!(parse_status_range("50-60").is_err());
        assert!(parse_status_range("").is_err());
        assert!(parse_status_range("500-").is_err());
    }

    #[test]
    fn ip_or_cidr() {
        assert!(parse_ip_or_cidr("10.0.0.0/8").is_ok());
        assert!(parse_ip_or_cidr("192.168.1.7").is_ok());
        assert!(parse_ip_or_cidr("::1").is_ok());
        assert!(parse_ip_or_cidr("2001:db8::/32").is_ok());
        assert!(parse_ip_or_cidr("10.0.0.0/33").is_err());
        assert!(parse_ip_or_cidr("example.com").is_err());
    }

    #[test]
    fn regex_errors_are_one_line() {
        let err = compile_regex("(abc").unwrap_err();
        assert!(!err.contains('\n'));
        assert_eq!(err, "invalid regular expression \"(abc\": unclosed group");
    }

    #[test]
    fn urls() {
        let s = &["http", "https", "h2c"];
        assert_eq!(url_problem("http://10.0.0.1:8080", s), None);
        assert_eq!(url_problem("h2c://backend:50051", s), None);
        assert_eq!(url_problem("https://example.com/base/", s), None);
        assert!(url_problem("/relative", s).is_some());
        assert_eq!(
            url_problem("ftp://x", s).as_deref(),
            Some("\"ftp://x\": scheme must be http, https or h2c, not \"ftp\"")
        );
        assert!(url_problem("h2c:backend", s).is_some());
    }

    #[test]
    fn domains() {
        assert_eq!(domain_problem("example.com"), None);
        assert_eq!(domain_problem("*.example.com"), None);
        assert_eq!(domain_problem("localhost"), None);
        assert!(domain_problem("").is_some());
        assert!(domain_problem("a..b").is_some());
        assert!(domain_problem("-a.com").is_some());
        assert!(domain_problem("a b.com").is_some());
        assert!(domain_problem("*.").is_some());
    }

    #[test]
    fn tokens_and_parens() {
        assert!(is_token("X-Forwarded-For"));
        assert!(!is_token("bad header"));
        assert!(!is_token(""));
        assert!(balanced_parens("NetworkErrorRatio() > 0.5").is_ok());
        assert!(balanced_parens("(a() > 1").is_err());
        assert!(balanced_parens("a()) > 1").is_err());
    }
}
