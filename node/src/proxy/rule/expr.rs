//! The boolean tree of a compiled rule (`&&`, `||`, `!` over matchers) and how host constraints
//! combine through it.

use raftgate_model::rule::{Expr, Matcher, MatcherKind};

use super::client_ip::ClientIpMatcher;
use super::header::{HeaderMatcher, HeaderRegexpMatcher};
use super::host::{HostMatcher, HostRegexpMatcher};
use super::method::MethodMatcher;
use super::path::{PathMatcher, PathPrefixMatcher, PathRegexpMatcher};
use super::query::QueryMatcher;
use super::{HostConstraint, RequestInfo, RuleCompileError};

/// A compiled expression; `&&` and `||` short-circuit left to right, as in Traefik.
#[derive(Debug)]
pub(super) enum Node {
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
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
    /// Compiles `expr`, matcher by matcher.
    pub(super) fn compile(expr: &Expr) -> Result<Node, RuleCompileError> {
        let boxed = |e: &Expr| Node::compile(e).map(Box::new);
        Ok(match expr {
            Expr::And(a, b) => Node::And(boxed(a)?, boxed(b)?),
            Expr::Or(a, b) => Node::Or(boxed(a)?, boxed(b)?),
            Expr::Not(e) => Node::Not(boxed(e)?),
            Expr::Matcher(m) => Node::Leaf(Leaf::compile(m)?),
        })
    }

    /// Whether the request matches.
    pub(super) fn matches(&self, req: &RequestInfo<'_>) -> bool {
        match self {
            Node::And(a, b) => a.matches(req) && b.matches(req),
            Node::Or(a, b) => a.matches(req) || b.matches(req),
            Node::Not(e) => !e.matches(req),
            Node::Leaf(leaf) => leaf.matches(req),
        }
    }

    /// The hosts this expression can match: the narrower side of `&&`, the union of `||` when
    /// both sides are constrained, and any host under `!`.
    pub(super) fn host_constraint(&self) -> HostConstraint {
        match self {
            Node::And(a, b) => match (a.host_constraint(), b.host_constraint()) {
                (HostConstraint::Any, c) | (c, HostConstraint::Any) => c,
                (HostConstraint::Hosts(x), HostConstraint::Hosts(y)) => {
                    HostConstraint::Hosts(if y.len() < x.len() { y } else { x })
                }
            },
            Node::Or(a, b) => match (a.host_constraint(), b.host_constraint()) {
                (HostConstraint::Hosts(mut x), HostConstraint::Hosts(y)) => {
                    x.extend(y);
                    x.sort();
                    x.dedup();
                    HostConstraint::Hosts(x)
                }
                _ => HostConstraint::Any,
            },
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
    fn compile(m: &Matcher) -> Result<Leaf, RuleCompileError> {
        Ok(match m.kind {
            MatcherKind::Host => Leaf::Host(HostMatcher::compile(m)?),
            MatcherKind::HostRegexp => Leaf::HostRegexp(HostRegexpMatcher::compile(m)?),
            MatcherKind::Path => Leaf::Path(PathMatcher::compile(m)?),
            MatcherKind::PathPrefix => Leaf::PathPrefix(PathPrefixMatcher::compile(m)?),
            MatcherKind::PathRegexp => Leaf::PathRegexp(PathRegexpMatcher::compile(m)?),
            MatcherKind::Method => Leaf::Method(MethodMatcher::compile(m)?),
            MatcherKind::Header => Leaf::Header(HeaderMatcher::compile(m)?),
            MatcherKind::HeaderRegexp => Leaf::HeaderRegexp(HeaderRegexpMatcher::compile(m)?),
            MatcherKind::Query | MatcherKind::QueryRegexp => Leaf::Query(QueryMatcher::compile(m)?),
            MatcherKind::ClientIP => Leaf::ClientIp(ClientIpMatcher::compile(m)?),
        })
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
