//! `Path`, `PathPrefix` and `PathRegexp`: the request's routing path, compared
//! case-sensitively.
//!
//! The routing path is the normalized path (see [`crate::proxy::request::normalize_path`],
//! which is also what is forwarded) with its percent-escapes decoded, except those of the
//! characters RFC 3986 reserves (`: / ? # [ ] @ ! $ & ' ( ) * + , ; =`) and of `%` itself,
//! which stay encoded. That is how Traefik v3 builds the path it routes on, so
//! ``Path(`/foo bar`)`` matches `/foo%20bar` and ``Path(`/a:b`)`` does not match `/a%3Ab`.
//! Encoded `/`, `\`, `.` and NUL never get here: the normalization refuses them. Decoded
//! bytes that are not UTF-8 are read as U+FFFD by `PathRegexp`, as Go's regexp reads them,
//! and match no `Path` or `PathPrefix` value. Only a `PathRegexp` on a path holding escapes
//! needs a decoded copy.
//!
//! As in Traefik v3, `PathPrefix` is a plain string prefix (``PathPrefix(`/api`)`` matches
//! `/apiary`), and `PathRegexp` is unanchored unless the pattern anchors itself.

use std::borrow::Cow;

use super::RequestInfo;

/// The bytes an escape stands for stay escaped when they are one of these (RFC 3986's
/// reserved characters, and `%`).
const KEPT_ESCAPED: &[u8] = b":/?#[]@!$&'()*+,;=%";

/// The byte of the escape at `path[i] == b'%'`, unless it stays escaped.
fn decoded_escape(path: &[u8], i: usize) -> Option<u8> {
    let hex = |j: usize| path.get(j).and_then(|c| char::from(*c).to_digit(16));
    let byte = u8::try_from(hex(i + 1)? * 16 + hex(i + 2)?).ok()?;
    (!KEPT_ESCAPED.contains(&byte)).then_some(byte)
}

/// The bytes of the routing path of `path`, decoded on the fly.
fn routing_bytes(path: &str) -> impl Iterator<Item = u8> + '_ {
    let bytes = path.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        let b = *bytes.get(i)?;
        if b == b'%' {
            if let Some(decoded) = decoded_escape(bytes, i) {
                i += 3;
                return Some(decoded);
            }
        }
        i += 1;
        Some(b)
    })
}

/// The routing path of `path`; borrowed when it holds no escape.
fn routing_path(path: &str) -> Cow<'_, str> {
    if !path.contains('%') {
        return Cow::Borrowed(path);
    }
    let bytes: Vec<u8> = routing_bytes(path).collect();
    Cow::Owned(String::from_utf8_lossy(&bytes).into_owned())
}

/// ``Path(`/exact`)``.
#[derive(Debug)]
pub(super) struct PathMatcher(String);

impl PathMatcher {
    pub(super) fn compile(path: &str) -> Self {
        PathMatcher(path.to_string())
    }

    pub(super) fn matches(&self, req: &RequestInfo<'_>) -> bool {
        routing_bytes(req.path).eq(self.0.bytes())
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
        let mut path = routing_bytes(req.path);
        self.0.bytes().all(|b| path.next() == Some(b))
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
        self.0.is_match(&routing_path(req.path))
    }
}

#[cfg(test)]
mod tests {
    use super::{routing_path, Cow};
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

    /// Traefik v3 routes on the escaped path with every escape decoded but those of reserved
    /// characters and `%`; its own comment gives ``PathPrefix(`/foo bar`)`` matching
    /// `/foo%20bar` as the example, and its PathRegexp test matches `/%7Bpath:css%7D`.
    #[test]
    fn path_matchers_see_decoded_escapes() {
        assert!(matches("Path(`/foo bar`)", "/foo%20bar"));
        assert!(matches("PathPrefix(`/foo bar`)", "/foo%20bar/x"));
        assert!(matches("PathRegexp(`^/foo bar$`)", "/foo%20bar"));
        assert!(!matches("Path(`/foo%20bar`)", "/foo%20bar"));
        assert!(matches("Path(`/café`)", "/caf%C3%A9"));
        assert!(matches("Path(`/café`)", "/caf%c3%a9"));
        assert!(matches(
            "PathRegexp(`/{path:(css|js)}`)",
            "/%7Bpath:css%7D/"
        ));
        // Reserved characters and `%` stay escaped.
        assert!(!matches("Path(`/a:b`)", "/a%3Ab"));
        assert!(matches("Path(`/a%3Ab`)", "/a%3Ab"));
        assert!(matches("Path(`/a%3Ab`)", "/a%3ab"));
        assert!(!matches("Path(`/100%`)", "/100%25"));
        assert!(matches("PathPrefix(`/100%25`)", "/100%25/x"));
        assert!(matches("PathRegexp(`^/a%2Bb$`)", "/a%2Bb"));
        // Not UTF-8 once decoded: one U+FFFD for a regex, nothing for a value.
        assert!(matches("PathRegexp(`^/.$`)", "/%FF"));
        assert!(!matches("PathPrefix(`/%FF`)", "/%FF"));
        assert!(!matches("PathPrefix(`/x`)", "/"));
        assert!(matches("PathPrefix(`/`)", "/%FF"));
    }

    #[test]
    fn routing_path_borrows_when_nothing_is_escaped() {
        assert!(matches!(routing_path("/a/b"), Cow::Borrowed("/a/b")));
        assert_eq!(routing_path("/a%20b%2B%25"), "/a b%2B%25");
    }
}
