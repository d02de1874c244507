//! Traefik v3 rules compiled into matchers that the data plane runs on every request.
//!
//! [`CompiledRule::compile`] turns a parsed [`Expr`] into a tree of matchers, one file per
//! matcher family (`host`, `path`, `method`, `header`, `query`, `client_ip`), off the request
//! path, from the typed values the model's parser checked (regexes already compiled, so what
//! was accepted at write time is what runs). Matching reads a [`RequestInfo`] and neither
//! allocates (except to URL-decode a query value for `QueryRegexp`) nor locks. Each rule also
//! reports the hosts it can match, its [`HostConstraint`], which the route table uses as an
//! index. `&&` and `||` chains are n-ary nodes, so compiling, matching and dropping recurse only
//! as deep as the rule nests (at most [`raftgate_model::rule::MAX_DEPTH`]).

mod client_ip;
mod expr;
mod header;
mod host;
mod host_suffix;
mod method;
mod path;
mod query;

use raftgate_model::rule::Expr;

use super::request::RequestInfo;
use expr::Node;

/// A rule ready to match requests: immutable, `Send + Sync`.
#[derive(Debug)]
pub struct CompiledRule {
    root: Node,
    hosts: HostConstraint,
}

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
    /// Compiles a parsed rule. It cannot fail: [`raftgate_model::rule::parse`] has checked
    /// every matcher and compiled its regexes (with [`raftgate_model::regex::compile`], the
    /// size limit included), and each matcher here only takes its typed value.
    pub fn compile(expr: &Expr) -> Self {
        let root = Node::compile(expr);
        let hosts = root.host_constraint();
        CompiledRule { root, hosts }
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

#[cfg(test)]
pub(crate) mod test_support;

#[cfg(test)]
mod tests;
