//! `Header` and `HeaderRegexp`: one of the values of a request header.
//!
//! The name is case-insensitive; each header line is one value, compared whole (a line of
//! comma-separated values is not split), as Go's `http.Header` does for Traefik. Regexes run
//! on the raw bytes of each value, so values with non-ASCII bytes match too.

use http::HeaderName;

use super::RequestInfo;

/// ``Header(`X-Name`, `value`)``.
#[derive(Debug)]
pub(super) struct HeaderMatcher {
    name: HeaderName,
    value: String,
}

impl HeaderMatcher {
    pub(super) fn compile(name: &HeaderName, value: &str) -> Self {
        HeaderMatcher {
            name: name.clone(),
            value: value.to_string(),
        }
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
    pub(super) fn compile(name: &HeaderName, regex: &regex::bytes::Regex) -> Self {
        HeaderRegexpMatcher {
            name: name.clone(),
            regex: regex.clone(),
        }
    }

    pub(super) fn matches(&self, req: &RequestInfo<'_>) -> bool {
        req.headers
            .get_all(&self.name)
            .iter()
            .any(|v| self.regex.is_match(v.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use crate::proxy::rule::test_support::{compile, Req};

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
}
