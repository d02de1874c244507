//! `Host` and `HostRegexp`: the request host, already lowercased and without its port.
//!
//! ``Host(`a.com`)`` compares case-insensitively (both sides are lowercase) and ignores one
//! trailing dot on either side, as Traefik does. ``HostRegexp(`re`)`` runs a Go-style regex on
//! the host, unanchored unless the pattern anchors itself; the common wildcard shape
//! `^<label>\.example\.com$` runs as a plain suffix check instead (see `host_suffix`).

use super::host_suffix::LabelSuffix;
use super::{HostKey, RequestInfo};

/// ``Host(`example.com`)``.
#[derive(Debug)]
pub(super) struct HostMatcher {
    /// Lowercase, without a trailing dot.
    host: String,
}

impl HostMatcher {
    /// `host` as the model keeps it: lowercase, without a trailing dot.
    pub(super) fn compile(host: &str) -> Self {
        HostMatcher {
            host: host.to_string(),
        }
    }

    pub(super) fn matches(&self, req: &RequestInfo<'_>) -> bool {
        req.host == self.host
    }

    /// The index key: exactly this host.
    pub(super) fn key(&self) -> HostKey {
        HostKey::Exact(self.host.clone())
    }
}

/// ``HostRegexp(`^.+\.example\.com$`)``.
#[derive(Debug)]
pub(super) enum HostRegexpMatcher {
    /// A wildcard label before a literal suffix, checked without the regex engine.
    Suffix(LabelSuffix),
    /// Any other regex.
    Regex(regex::Regex),
}

impl HostRegexpMatcher {
    /// The fast shape is recognized on the pattern as compiled (Perl classes made ASCII).
    pub(super) fn compile(regex: &regex::Regex) -> Self {
        match LabelSuffix::parse(regex.as_str()) {
            Some(fast) => HostRegexpMatcher::Suffix(fast),
            None => HostRegexpMatcher::Regex(regex.clone()),
        }
    }

    pub(super) fn matches(&self, req: &RequestInfo<'_>) -> bool {
        match self {
            HostRegexpMatcher::Suffix(s) => s.matches(req.host),
            HostRegexpMatcher::Regex(re) => re.is_match(req.host),
        }
    }

    /// The index key when every host the regex matches ends with a known suffix.
    pub(super) fn key(&self) -> Option<HostKey> {
        match self {
            HostRegexpMatcher::Suffix(s) => Some(HostKey::Suffix(s.suffix().to_string())),
            HostRegexpMatcher::Regex(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::proxy::rule::test_support::{compile, Req};
    use crate::proxy::rule::{HostConstraint, HostKey};

    #[test]
    fn host_is_case_insensitive_and_ignores_the_port() {
        let rule = compile("Host(`Example.COM`)");
        assert!(rule.matches(&Req::get("example.com", "/").info()));
        assert!(rule.matches(&Req::get("EXAMPLE.com:8080", "/").info()));
        assert!(rule.matches(&Req::get("example.com.", "/").info()));
        assert!(!rule.matches(&Req::get("www.example.com", "/").info()));
        assert!(!rule.matches(&Req::get("example.co", "/").info()));
        assert!(!rule.matches(&Req::get("", "/").info()));
        assert_eq!(
            rule.host_constraint(),
            HostConstraint::Hosts(vec![HostKey::Exact("example.com".into())])
        );
    }

    #[test]
    fn host_with_trailing_dot_matches_without() {
        let rule = compile("Host(`example.com.`)");
        assert!(rule.matches(&Req::get("example.com", "/").info()));
    }

    #[test]
    fn ipv6_hosts_match_with_or_without_brackets_and_port() {
        for rule in ["Host(`10::10`)", "Host(`[10::10]`)", "Host(`[10:0::10]`)"] {
            let rule = compile(rule);
            for host in ["[10::10]", "[10::10]:8080"] {
                assert!(rule.matches(&Req::get(host, "/").info()), "{host}");
            }
            assert!(!rule.matches(&Req::get("[10::11]", "/").info()));
        }
    }

    #[test]
    fn ipv6_hosts_keep_brackets() {
        let rule = compile("Host(`[::1]`)");
        assert!(rule.matches(&Req::get("[::1]:8080", "/").info()));
        assert!(!rule.matches(&Req::get("[::2]", "/").info()));
    }

    #[test]
    fn host_regexp_runs_on_the_normalized_host() {
        let rule = compile(r"HostRegexp(`^(www|api)\.example\.(com|org)$`)");
        assert!(rule.matches(&Req::get("www.example.com", "/").info()));
        assert!(rule.matches(&Req::get("API.example.org:443", "/").info()));
        assert!(!rule.matches(&Req::get("cdn.example.com", "/").info()));
        assert_eq!(rule.host_constraint(), HostConstraint::Any);
    }

    #[test]
    fn host_regexp_is_unanchored_unless_anchored() {
        let rule = compile("HostRegexp(`example`)");
        assert!(rule.matches(&Req::get("www.example.net", "/").info()));
        assert!(!rule.matches(&Req::get("www.exmpl.net", "/").info()));
    }

    #[test]
    fn host_regexp_suffix_shapes_are_indexed() {
        let suffix = |rule: &str| compile(rule).host_constraint();
        let key = |s: &str| HostConstraint::Hosts(vec![HostKey::Suffix(s.into())]);
        assert_eq!(
            suffix(r"HostRegexp(`^.+\.example\.com$`)"),
            key(".example.com")
        );
        assert_eq!(
            suffix(r"HostRegexp(`^[^.]+\.example\.com$`)"),
            key(".example.com")
        );
        assert_eq!(
            suffix(r"HostRegexp(`^[a-z0-9-]+\.t-1\.example\.net$`)"),
            key(".t-1.example.net")
        );
        assert_eq!(
            suffix(r"HostRegexp(`^.*\.example\.com$`)"),
            key(".example.com")
        );
        // Not a label and a literal suffix: not indexed.
        assert_eq!(
            suffix(r"HostRegexp(`.+\.example\.com$`)"),
            HostConstraint::Any
        );
        assert_eq!(
            suffix(r"HostRegexp(`^.+\.example\.com`)"),
            HostConstraint::Any
        );
        assert_eq!(
            suffix(r"HostRegexp(`^.+\.example.com$`)"),
            HostConstraint::Any
        );
        assert_eq!(
            suffix(r"HostRegexp(`^.+\.(a|b)\.com$`)"),
            HostConstraint::Any
        );
        assert_eq!(
            suffix(r"HostRegexp(`^(?i).+\.example\.com$`)"),
            HostConstraint::Any
        );
    }

    #[test]
    fn host_regexp_suffix_shape_matches_like_the_regex() {
        let rule = compile(r"HostRegexp(`^[a-z0-9-]+\.example\.com$`)");
        assert!(rule.matches(&Req::get("a-1.example.com", "/").info()));
        assert!(rule.matches(&Req::get("A-1.Example.com:80", "/").info()));
        assert!(!rule.matches(&Req::get("a.b.example.com", "/").info()));
        assert!(!rule.matches(&Req::get(".example.com", "/").info()));
        assert!(!rule.matches(&Req::get("example.com", "/").info()));
        assert!(!rule.matches(&Req::get("a_b.example.com", "/").info()));
    }
}
