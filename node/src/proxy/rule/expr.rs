//! The boolean tree of a compiled rule (`&&`, `||`, `!` over matchers) and how host constraints
//! combine through it.

use raftgate_model::rule::{Expr, MatcherValue};

use super::client_ip::ClientIpMatcher;
use super::header::{HeaderMatcher, HeaderRegexpMatcher};
use super::host::{HostMatcher, HostRegexpMatcher};
use super::method::MethodMatcher;
use super::path::{PathMatcher, PathPrefixMatcher, PathRegexpMatcher};
use super::query::QueryMatcher;
use super::{HostConstraint, RequestInfo};

/// A compiled expression; `&&` and `||` are n-ary and short-circuit left to right, as in
/// Traefik. Every recursion below is on nesting only (bounded by the parser), never along a
/// chain.
#[derive(Debug)]
pub(super) enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Leaf(Leaf),
}

/// One compiled matcher.
#[derive(Debug)]
pub(super) enum Leaf {
    Host(HostMatcher),
    HostRegexp(HostRegexpMatcher),
    Path(PathMatcher),
    PathPrefix(PathPrefixMatcher),
    PathRegexp(PathRegexpMatcher),
    Method(MethodMatcher),
    Header(HeaderMatcher),
    HeaderRegexp(HeaderRegexpMatcher),
    Query(QueryMatcher),
    ClientIp(ClientIpMatcher),
}

impl Node {
    /// Compiles `expr`, matcher by matcher, from the values the parser checked.
    pub(super) fn compile(expr: &Expr) -> Node {
        match expr {
            Expr::And(operands) => Node::And(operands.iter().map(Node::compile).collect()),
            Expr::Or(operands) => Node::Or(operands.iter().map(Node::compile).collect()),
            Expr::Not(e) => Node::Not(Box::new(Node::compile(e))),
            Expr::Matcher(m) => Node::Leaf(Leaf::compile(&m.value)),
        }
    }

    /// Whether the request matches.
    pub(super) fn matches(&self, req: &RequestInfo<'_>) -> bool {
        match self {
            Node::And(operands) => operands.iter().all(|e| e.matches(req)),
            Node::Or(operands) => operands.iter().any(|e| e.matches(req)),
            Node::Not(e) => !e.matches(req),
            Node::Leaf(leaf) => leaf.matches(req),
        }
    }

    /// The hosts this expression can match: for `&&` the narrowest constrained operand (the
    /// first of the narrowest), for `||` the union when every operand is constrained, and any
    /// host under `!`.
    pub(super) fn host_constraint(&self) -> HostConstraint {
        match self {
            Node::And(operands) => {
                let mut narrowest: Option<Vec<_>> = None;
                for e in operands {
                    if let HostConstraint::Hosts(keys) = e.host_constraint() {
                        if narrowest.as_ref().is_none_or(|n| keys.len() < n.len()) {
                            narrowest = Some(keys);
                        }
                    }
                }
                narrowest.map_or(HostConstraint::Any, HostConstraint::Hosts)
            }
            Node::Or(operands) => {
                let mut union = Vec::new();
                for e in operands {
                    match e.host_constraint() {
                        HostConstraint::Hosts(keys) => union.extend(keys),
                        HostConstraint::Any => return HostConstraint::Any,
                    }
                }
                union.sort();
                union.dedup();
                HostConstraint::Hosts(union)
            }
            Node::Not(_) => HostConstraint::Any,
            Node::Leaf(Leaf::Host(h)) => HostConstraint::Hosts(vec![h.key()]),
            Node::Leaf(Leaf::HostRegexp(h)) => match h.key() {
                Some(key) => HostConstraint::Hosts(vec![key]),
                None => HostConstraint::Any,
            },
            Node::Leaf(_) => HostConstraint::Any,
        }
    }
}

impl Leaf {
    fn compile(value: &MatcherValue) -> Leaf {
        match value {
            MatcherValue::Host(host) => Leaf::Host(HostMatcher::compile(host)),
            MatcherValue::HostRegexp(re) => Leaf::HostRegexp(HostRegexpMatcher::compile(re)),
            MatcherValue::Path(path) => Leaf::Path(PathMatcher::compile(path)),
            MatcherValue::PathPrefix(prefix) => {
                Leaf::PathPrefix(PathPrefixMatcher::compile(prefix))
            }
            MatcherValue::PathRegexp(re) => Leaf::PathRegexp(PathRegexpMatcher::compile(re)),
            MatcherValue::Method(method) => Leaf::Method(MethodMatcher::compile(method)),
            MatcherValue::Header { name, value } => {
                Leaf::Header(HeaderMatcher::compile(name, value))
            }
            MatcherValue::HeaderRegexp { name, regex } => {
                Leaf::HeaderRegexp(HeaderRegexpMatcher::compile(name, regex))
            }
            MatcherValue::Query { key, value } => {
                Leaf::Query(QueryMatcher::equals(key, value.as_deref()))
            }
            MatcherValue::QueryRegexp { key, regex } => {
                Leaf::Query(QueryMatcher::regexp(key, regex.as_ref()))
            }
            MatcherValue::ClientIP(net) => Leaf::ClientIp(ClientIpMatcher::compile(*net)),
        }
    }

    fn matches(&self, req: &RequestInfo<'_>) -> bool {
        match self {
            Leaf::Host(x) => x.matches(req),
            Leaf::HostRegexp(x) => x.matches(req),
            Leaf::Path(x) => x.matches(req),
            Leaf::PathPrefix(x) => x.matches(req),
            Leaf::PathRegexp(x) => x.matches(req),
            Leaf::Method(x) => x.matches(req),
            Leaf::Header(x) => x.matches(req),
            Leaf::HeaderRegexp(x) => x.matches(req),
            Leaf::Query(x) => x.matches(req),
            Leaf::ClientIp(x) => x.matches(req),
        }
    }
}
