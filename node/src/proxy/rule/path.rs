//! `Path`, `PathPrefix` and `PathRegexp`: the normalized request path (see
//! [`crate::proxy::request::normalize_path`]), compared as it is, case-sensitively.
//!
//! As in Traefik v3, `PathPrefix` is a plain string prefix (``PathPrefix(`/api`)`` matches
//! `/apiary`), and `PathRegexp` is unanchored unless the pattern anchors itself.

use super::RequestInfo;

/// ``Path(`/exact`)``.
#[derive(Debug)]
pub(super) struct PathMatcher(String);

impl PathMatcher {
    pub(super) fn compile(path: &str) -> Self {
        PathMatcher(path.to_string())
    }

    pub(super) fn matches(&self, req: &RequestInfo<'_>) -> bool {
        req.path == self.0
    }
}

/// ``PathPrefix(`/api`)``.
#[derive(Debug)]
pub(super) struct PathPrefixMatcher(String);

impl PathPrefixMatcher {
    pub(super) fn compile(prefix: &str) -> Self {
        PathPrefixMatcher(prefix.to_string())
    }

    pub(super) fn matches(&self, req: &RequestInfo<'_>) -> bool {
        req.path.starts_with(self.0.as_str())
    }
}

/// ``PathRegexp(`^/api/v[0-9]+`)``.
#[derive(Debug)]
pub(super) struct PathRegexpMatcher(regex::Regex);

impl PathRegexpMatcher {
    pub(super) fn compile(regex: &regex::Regex) -> Self {
        PathRegexpMatcher(regex.clone())
    }

    pub(super) fn matches(&self, req: &RequestInfo<'_>) -> bool {
        self.0.is_match(req.path)
    }
}

#[cfg(test)]
mod tests {
    use crate::proxy::rule::test_support::{compile, Req};

    fn matches(rule: &str, path: &str) -> bool {
        compile(rule).matches(&Req::get("a.com", path).info())
    }

    #[test]
    fn path_is_exact_and_case_sensitive() {
        assert!(matches("Path(`/api`)", "/api"));
        assert!(!matches("Path(`/api`)", "/api/"));
        assert!(!matches("Path(`/api`)", "/API"));
        assert!(!matches("Path(`/api`)", "/ap"));
    }

    #[test]
    fn path_prefix_is_a_string_prefix() {
        assert!(matches("PathPrefix(`/api`)", "/api"));
        assert!(matches("PathPrefix(`/api`)", "/api/v1"));
        assert!(matches("PathPrefix(`/api`)", "/apiary"));
        assert!(!matches("PathPrefix(`/api`)", "/ap"));
        assert!(!matches("PathPrefix(`/api/`)", "/api"));
        assert!(matches("PathPrefix(`/`)", "/anything"));
    }

    #[test]
    fn path_sees_the_normalized_path() {
        assert!(matches("PathPrefix(`/admin`)", "/public/../admin/x"));
        assert!(!matches("PathPrefix(`/public`)", "/public/../admin/x"));
        assert!(matches("PathPrefix(`/admin`)", "/public/../%61dmin/x"));
        assert!(matches("Path(`/a/c`)", "/a/./b/../c"));
    }

    #[test]
    fn path_regexp_is_unanchored_unless_anchored() {
        assert!(matches("PathRegexp(`^/api/v[0-9]+$`)", "/api/v12"));
        assert!(!matches("PathRegexp(`^/api/v[0-9]+$`)", "/api/v12/x"));
        assert!(matches("PathRegexp(`v[0-9]+`)", "/api/v12/x"));
        assert!(!matches("PathRegexp(`v[0-9]+`)", "/api/x"));
    }
}
