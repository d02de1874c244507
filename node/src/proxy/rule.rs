//! Traefik v3 rules compiled into matchers that the data plane runs on every request.
//!
//! [`CompiledRule::compile`] turns a parsed [`Expr`] into a tree of matchers, one file per
//! matcher family (`host`, `path`, `method`, `header`, `query`, `client_ip`), with every regex
//! compiled once, here, off the request path. Matching reads a [`RequestInfo`] and neither
//! allocates (except to URL-decode a query value for `QueryRegexp`) nor locks. Each rule also
//! reports the hosts it can match, its [`HostConstraint`], which the route table uses as an index.

mod client_ip;
mod expr;
mod header;
mod host;
mod host_suffix;
mod method;
mod path;
mod query;

use raftgate_model::rule::{Expr, Matcher, MatcherKind};
use thiserror::Error;

use super::request::RequestInfo;
use expr::Node;

/// A rule ready to match requests: immutable, `Send + Sync`.
#[derive(Debug)]
pub struct CompiledRule {
    root: Node,
    hosts: HostConstraint,
}

/// Why a rule does not compile. Rules are validated before they are stored, so this means a
/// regex over the size limit, or a tree built by hand.
#[derive(Debug, Error)]
pub enum RuleCompileError {
    /// The matcher has the wrong number of arguments.
    #[error("column {column}: {kind} takes {expected} argument(s), got {got}")]
    Arity {
        /// 1-based column of the matcher.
        column: usize,
        /// Which matcher.
        kind: MatcherKind,
        /// How many it takes, e.g. `"1 or 2"`.
        expected: &'static str,
        /// How many it has.
        got: usize,
    },
    /// A regex that does not compile, or compiles to more than [`REGEX_SIZE_LIMIT`] bytes.
    #[error("column {column}: {kind}: {source}")]
    Regex {
        /// 1-based column of the matcher.
        column: usize,
        /// Which matcher.
        kind: MatcherKind,
        /// The regex crate's reason.
        #[source]
        source: regex::Error,
    },
    /// An argument that is not valid for the matcher (method, header name, IP range).
    #[error("column {column}: {kind} value {value:?} is not {expected}")]
    InvalidValue {
        /// 1-based column of the matcher.
        column: usize,
        /// Which matcher.
        kind: MatcherKind,
        /// The offending argument.
        value: String,
        /// What it should be, e.g. `"an HTTP method"`.
        expected: &'static str,
    },
}

/// The largest compiled size of one regex, in bytes: it bounds memory per router.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// The hosts a rule can match: a necessary condition that indexes it in the route table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostConstraint {
    /// Any host (the rule does not constrain it, or too loosely to index).
    Any,
    /// Only hosts matching one of these keys.
    Hosts(Vec<HostKey>),
}

/// One indexable set of hosts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HostKey {
    /// Exactly this host (lowercase, as [`super::request::normalize_host`] produces).
    Exact(String),
    /// Any host ending with this suffix, which starts with a dot: `".example.com"`.
    Suffix(String),
}

impl CompiledRule {
    /// Compiles a parsed rule.
    ///
    /// # Errors
    ///
    /// A [`RuleCompileError`] for a regex over [`REGEX_SIZE_LIMIT`], or for a matcher that
    /// [`raftgate_model::rule::parse`] would have refused (arity, method, header name, range).
    pub fn compile(expr: &Expr) -> Result<Self, RuleCompileError> {
        let root = Node::compile(expr)?;
        let hosts = root.host_constraint();
        Ok(CompiledRule { root, hosts })
    }

    /// Whether the request matches the rule. `req.host` and `req.path` must be normalized.
    pub fn matches(&self, req: &RequestInfo<'_>) -> bool {
        self.root.matches(req)
    }

    /// Hosts this rule can match, for indexing: no request whose host is outside them matches.
    pub fn host_constraint(&self) -> HostConstraint {
        self.hosts.clone()
    }

    /// The same as [`CompiledRule::host_constraint`], borrowed.
    pub fn host_constraint_ref(&self) -> &HostConstraint {
        &self.hosts
    }
}

/// The `i`th argument of `m`, checked against the matcher's arity first.
fn arg(m: &Matcher, i: usize) -> &str {
    m.args.get(i).map_or("", String::as_str)
}

/// Fails unless `m` has between `min` and `max` arguments.
fn expect_args(m: &Matcher, min: usize, max: usize) -> Result<(), RuleCompileError> {
    let got = m.args.len();
    if (min..=max).contains(&got) {
        return Ok(());
    }
    let expected = match (min, max) {
        (1, 1) => "1",
        (2, 2) => "2",
        _ => "1 or 2",
    };
    Err(RuleCompileError::Arity {
        column: m.column,
        kind: m.kind,
        expected,
        got,
    })
}

/// Compiles a regex argument of `m` with the size limit.
fn compile_regex(m: &Matcher, pattern: &str) -> Result<regex::Regex, RuleCompileError> {
    regex::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|source| regex_error(m, source))
}

/// Compiles a regex argument of `m` that runs on bytes (header and query values).
fn compile_bytes_regex(
    m: &Matcher,
    pattern: &str,
) -> Result<regex::bytes::Regex, RuleCompileError> {
    regex::bytes::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|source| regex_error(m, source))
}

fn regex_error(m: &Matcher, source: regex::Error) -> RuleCompileError {
    RuleCompileError::Regex {
        column: m.column,
        kind: m.kind,
        source,
    }
}

/// An [`RuleCompileError::InvalidValue`] for `m`.
fn invalid(m: &Matcher, value: &str, expected: &'static str) -> RuleCompileError {
    RuleCompileError::InvalidValue {
        column: m.column,
        kind: m.kind,
        value: value.to_string(),
        expected,
    }
}

#[cfg(test)]
pub(crate) mod test_support;

#[cfg(test)]
mod tests;
