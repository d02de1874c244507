//! `Header` and `HeaderRegexp`: one of the values of a request header.
//!
//! The name is case-insensitive; each header line is one value, compared whole (a line of
//! comma-separated values is not split), as Go's `http.Header` does for Traefik. Regexes run
//! on the raw bytes of each value, so values with non-ASCII bytes match too.

use http::HeaderName;
use raftgate_model::rule::Matcher;

use super::{arg, compile_bytes_regex, expect_args, invalid, RequestInfo, RuleCompileError};

/// ``Header(`X-Name`, `value`)``.
#[derive(Debug)]
pub(super) struct HeaderMatcher {
    name: HeaderName,
    value: String,
}

impl HeaderMatcher {
    pub(super) fn compile(m: &Matcher) -> Result<Self, RuleCompileError> {
        expect_args(m, 2, 2)?;
        Ok(HeaderMatcher {
            name: header_name(m)?,
            value: arg(m, 1).to_string(),
        })
    }

    pub(super) fn matches(&self, req: &RequestInfo<'_>) -> bool {
        req.headers
            .get_all(&self.name)
            .iter()
            .any(|v| v.as_bytes() == self.value.as_bytes())
    }
}

/// ``HeaderRegexp(`X-Name`, `^v[0-9]+$`)``.
#[derive(Debug)]
pub(super) struct HeaderRegexpMatcher {
    name: HeaderName,
    regex: regex::bytes::Regex,
}

impl HeaderRegexpMatcher {
    pub(super) fn compile(m: &Matcher) -> Result<Self, RuleCompileError> {
        expect_args(m, 2, 2)?;
        Ok(HeaderRegexpMatcher {
            name: header_name(m)?,
            regex: compile_bytes_regex(m, arg(m, 1))?,
        })
    }

    pub(super) fn matches(&self, req: &RequestInfo<'_>) -> bool {
        req.headers
            .get_all(&self.name)
            .iter()
            .any(|v| self.regex.is_match(v.as_bytes()))
    }
}

/// The first argument as a header name.
fn header_name(m: &Matcher) -> Result<HeaderName, RuleCompileError> {
    let name = arg(m, 0);
    HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid(m, name, "an HTTP header name"))
}

#[cfg(test)]
mod tests {
    use crate::proxy::rule::test_support::{compile, compile_err, Req};
    use raftgate_model::rule::MatcherKind;

    fn matches(rule: &str, headers: &[(&str, &str)]) -> bool {
        let mut req = Req::get("a.com", "/");
        for (k, v) in headers {
            req = req.header(k, v);
        }
        compile(rule).matches(&req.info())
    }

    #[test]
    fn header_matches_one_exact_value() {
        let rule = "Header(`X-Env`, `prod`)";
        assert!(matches(rule, &[("x-env", "prod")]));
        assert!(matches(rule, &[("X-ENV", "dev"), ("x-env", "prod")]));
        assert!(!matches(rule, &[("x-env", "Prod")]));
        assert!(!matches(rule, &[("x-env", "prod, dev")]));
        assert!(!matches(rule, &[("x-other", "prod")]));
        assert!(!matches(rule, &[]));
    }

    #[test]
    fn header_regexp_matches_any_value() {
        let rule = "HeaderRegexp(`X-Version`, `^v[0-9]+$`)";
        assert!(matches(rule, &[("x-version", "v12")]));
        assert!(matches(rule, &[("x-version", "beta"), ("x-version", "v2")]));
        assert!(!matches(rule, &[("x-version", "v2-beta")]));
        assert!(!matches(rule, &[]));
    }

    #[test]
    fn invalid_header_names_are_refused() {
        let err = compile_err(MatcherKind::Header, &["X Bad", "v"]);
        assert_eq!(
            err,
            "column 1: Header value \"X Bad\" is not an HTTP header name"
        );
        let err = compile_err(MatcherKind::HeaderRegexp, &["X-Ok", "("]);
        assert!(
            err.starts_with("column 1: HeaderRegexp: regex parse error"),
            "{err}"
        );
    }
}
