//! `Query` and `QueryRegexp`: a parameter of the request's query string.
//!
//! The query is read as Go's `url.ParseQuery` reads it, which is what Traefik matches on:
//! pairs split on `&`, key and value URL-decoded (`+` is a space, `%XX` a byte), and pairs
//! that hold a `;` or a malformed escape skipped. A parameter may have several values
//! (`?k=1&k=2`), and a pair without `=` (`?k`) has the empty value. As in Traefik v3:
//! ``Query(`k`, `v`)`` matches when some value of `k` is `v`; ``Query(`k`)`` and
//! ``QueryRegexp(`k`)`` when some value of `k` is empty (`?k`, `?k=`), not when `k` only has
//! other values (`?k=1`); ``QueryRegexp(`k`, `re`)`` when some value of `k` matches `re`.
//! Comparisons decode on the fly; only a regex on a value that holds escapes needs a decoded
//! copy.

use std::borrow::Cow;

use super::RequestInfo;

/// ``Query(`k`)``, ``Query(`k`, `v`)``, ``QueryRegexp(`k`)`` or ``QueryRegexp(`k`, `re`)``.
#[derive(Debug)]
pub(super) struct QueryMatcher {
    key: String,
    value: ValueTest,
}

/// What the value of a pair with the right key must be.
#[derive(Debug)]
enum ValueTest {
    /// Exactly this, once decoded (empty for a one-argument matcher).
    Equals(String),
    /// Matching this regex, once decoded.
    Regex(regex::bytes::Regex),
}

impl QueryMatcher {
    /// ``Query(`key`)`` (`value` is `None`: the empty value) or ``Query(`key`, `value`)``.
    pub(super) fn equals(key: &str, value: Option<&str>) -> Self {
        QueryMatcher {
            key: key.to_string(),
            value: ValueTest::Equals(value.unwrap_or_default().to_string()),
        }
    }

    /// ``QueryRegexp(`key`)`` (`regex` is `None`: the empty value, as ``Query(`key`)``) or
    /// ``QueryRegexp(`key`, `re`)``.
    pub(super) fn regexp(key: &str, regex: Option<&regex::bytes::Regex>) -> Self {
        match regex {
            None => QueryMatcher::equals(key, None),
            Some(re) => QueryMatcher {
                key: key.to_string(),
                value: ValueTest::Regex(re.clone()),
            },
        }
    }

    pub(super) fn matches(&self, req: &RequestInfo<'_>) -> bool {
        let Some(query) = req.query else {
            return false;
        };
        pairs(query).any(|(key, value)| {
            decodes_to(key, self.key.as_bytes())
                && match &self.value {
                    ValueTest::Equals(want) => decodes_to(value, want.as_bytes()),
                    ValueTest::Regex(re) => decode(value).is_some_and(|v| re.is_match(&v)),
                }
        })
    }
}

/// The raw `(key, value)` pairs of a query, without those Go refuses for holding a `;`.
fn pairs(query: &str) -> impl Iterator<Item = (&[u8], &[u8])> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty() && !pair.contains(';'))
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k.as_bytes(), v.as_bytes())
        })
}

/// Decodes one byte at `raw[*i]`, advancing `i`; `None` on a malformed escape.
fn next_decoded(raw: &[u8], i: &mut usize) -> Option<u8> {
    let b = raw[*i];
    *i += 1;
    match b {
        b'+' => Some(b' '),
        b'%' => {
            let hex = |j: usize| raw.get(j).and_then(|c| char::from(*c).to_digit(16));
            let value = hex(*i)? * 16 + hex(*i + 1)?;
            *i += 2;
            u8::try_from(value).ok()
        }
        _ => Some(b),
    }
}

/// Whether `raw` is well-formed and decodes to exactly `want`, without allocating.
fn decodes_to(raw: &[u8], want: &[u8]) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < raw.len() {
        match next_decoded(raw, &mut i) {
            Some(b) if want.get(j) == Some(&b) => j += 1,
            _ => return false,
        }
    }
    j == want.len()
}

/// `raw` decoded; borrowed when it holds no `%` or `+`, `None` when malformed.
fn decode(raw: &[u8]) -> Option<Cow<'_, [u8]>> {
    if !raw.iter().any(|b| matches!(b, b'%' | b'+')) {
        return Some(Cow::Borrowed(raw));
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        out.push(next_decoded(raw, &mut i)?);
    }
    Some(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::rule::test_support::{compile, Req};

    fn matches(rule: &str, query: Option<&str>) -> bool {
        compile(rule).matches(&Req::get("a.com", "/").query(query).info())
    }

    #[test]
    fn query_value_is_url_decoded() {
        let rule = "Query(`name`, `a b/c`)";
        assert!(matches(rule, Some("name=a+b%2Fc")));
        assert!(matches(rule, Some("name=a%20b%2fc")));
        assert!(matches(rule, Some("x=1&name=zz&name=a+b/c")));
        assert!(!matches(rule, Some("name=a+b")));
        assert!(!matches(rule, Some("name=a+b%2Fcd")));
        assert!(!matches(rule, None));
        assert!(matches("Query(`a b`, `1`)", Some("a%20b=1")));
    }

    #[test]
    fn query_skips_pairs_go_refuses() {
        assert!(!matches("Query(`k`, `v`)", Some("k=v;x=1")));
        assert!(matches("Query(`k`, `v`)", Some("a=1;b=2&k=v")));
        assert!(!matches("Query(`k`, `v%`)", Some("k=v%")));
        assert!(!matches("Query(`k`)", Some("k=%zz&k%")));
        assert!(!matches("Query(`k`)", Some("k%=1")));
    }

    /// Traefik v3 builds a one-argument Query with the empty string as the value it looks
    /// for; its docs describe ``Query(`mobile`)`` as a `mobile` parameter without a value.
    #[test]
    fn query_key_alone_means_an_empty_value() {
        assert!(matches("Query(`debug`)", Some("debug")));
        assert!(matches("Query(`debug`)", Some("debug=")));
        assert!(matches("Query(`debug`)", Some("debug=1&debug")));
        assert!(!matches("Query(`debug`)", Some("x=1&debug=true")));
        assert!(!matches("Query(`debug`)", Some("debugger")));
        assert!(!matches("Query(`debug`)", Some("")));
        assert!(!matches("Query(`debug`)", None));
        assert!(!matches("QueryRegexp(`debug`)", Some("debug=1")));
        assert!(matches("QueryRegexp(`debug`)", Some("debug")));
    }

    #[test]
    fn query_regexp_runs_on_decoded_values() {
        let rule = "QueryRegexp(`v`, `^[0-9]+ beta$`)";
        assert!(matches(rule, Some("v=12+beta")));
        assert!(matches(rule, Some("v=x&v=3%20beta")));
        assert!(!matches(rule, Some("v=12beta")));
        assert!(!matches(rule, Some("w=12+beta")));
    }

    #[test]
    fn decoding_helpers() {
        assert!(decodes_to(b"a%41+", b"aA "));
        assert!(!decodes_to(b"a%4", b"a"));
        assert!(!decodes_to(b"ab", b"a"));
        assert!(!decodes_to(b"a", b"ab"));
        assert!(matches!(decode(b"plain"), Some(Cow::Borrowed(_))));
        assert_eq!(decode(b"a+%62").as_deref(), Some(&b"a b"[..]));
        assert_eq!(decode(b"%"), None);
    }
}
