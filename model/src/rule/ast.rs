//! The syntax tree of a parsed rule, and its canonical printed form.

use std::fmt;
use std::ops::RangeInclusive;

/// A parsed rule expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// Both sides match (`a && b`).
    And(Box<Expr>, Box<Expr>),
    /// Either side matches (`a || b`).
    Or(Box<Expr>, Box<Expr>),
    /// The inner expression does not match (`!a`).
    Not(Box<Expr>),
    /// A single matcher such as ``Host(`example.com`)``.
    Matcher(Matcher),
}

/// One matcher call: its kind, its string arguments and where it appeared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    /// Which matcher.
    pub kind: MatcherKind,
    /// The arguments, unquoted.
    pub args: Vec<String>,
    /// 1-based column of the matcher name in the rule.
    pub column: usize,
}

/// The matchers of Traefik v3 HTTP rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MatcherKind {
    /// ``Host(`example.com`)``: the request host, case-insensitively.
    Host,
    /// ``HostRegexp(`^.+\.example\.com$`)``: the request host against a regex.
    HostRegexp,
    /// ``Path(`/api`)``: the exact request path.
    Path,
    /// ``PathPrefix(`/api`)``: a prefix of the request path.
    PathPrefix,
    /// ``PathRegexp(`^/api/v[0-9]+`)``: the request path against a regex.
    PathRegexp,
    /// ``Method(`GET`)``: the request method.
    Method,
    /// ``Header(`X-Name`, `value`)``: a request header with an exact value.
    Header,
    /// ``HeaderRegexp(`X-Name`, `^v[0-9]$`)``: a request header against a regex.
    HeaderRegexp,
    /// ``Query(`key`)`` or ``Query(`key`, `value`)``: a query parameter, present or equal.
    Query,
    /// ``QueryRegexp(`key`, `^v[0-9]$`)``: a query parameter against a regex.
    QueryRegexp,
    /// ``ClientIP(`10.0.0.0/8`)``: the client address within an IP or CIDR range.
    ClientIP,
}

impl MatcherKind {
    /// Every matcher kind.
    pub const ALL: [MatcherKind; 11] = [
        MatcherKind::Host,
        MatcherKind::HostRegexp,
        MatcherKind::Path,
        MatcherKind::PathPrefix,
        MatcherKind::PathRegexp,
        MatcherKind::Method,
        MatcherKind::Header,
        MatcherKind::HeaderRegexp,
        MatcherKind::Query,
        MatcherKind::QueryRegexp,
        MatcherKind::ClientIP,
    ];

    /// The name as written in rules, e.g. `"PathPrefix"`.
    pub fn name(self) -> &'static str {
        match self {
            MatcherKind::Host => "Host",
            MatcherKind::HostRegexp => "HostRegexp",
            MatcherKind::Path => "Path",
            MatcherKind::PathPrefix => "PathPrefix",
            MatcherKind::PathRegexp => "PathRegexp",
            MatcherKind::Method => "Method",
            MatcherKind::Header => "Header",
            MatcherKind::HeaderRegexp => "HeaderRegexp",
            MatcherKind::Query => "Query",
            MatcherKind::QueryRegexp => "QueryRegexp",
            MatcherKind::ClientIP => "ClientIP",
        }
    }

    /// The matcher with this exact (case-sensitive) name.
    pub fn from_name(name: &str) -> Option<MatcherKind> {
        MatcherKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// How many arguments the matcher takes in Traefik v3.
    pub fn arity(self) -> RangeInclusive<usize> {
        match self {
            MatcherKind::Header | MatcherKind::HeaderRegexp => 2..=2,
            MatcherKind::Query | MatcherKind::QueryRegexp => 1..=2,
            _ => 1..=1,
        }
    }
}

impl fmt::Display for MatcherKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Expr {
    /// Calls `f` on every matcher, left to right.
    pub fn visit_matchers(&self, mut f: impl FnMut(&Matcher)) {
        self.walk(&mut f);
    }

    fn walk<F: FnMut(&Matcher)>(&self, f: &mut F) {
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => {
                a.walk(f);
                b.walk(f);
            }
            Expr::Not(e) => e.walk(f),
            Expr::Matcher(m) => f(m),
        }
    }

    /// Binding strength, for printing parentheses only where they are needed.
    fn precedence(&self) -> u8 {
        match self {
            Expr::Or(..) => 1,
            Expr::And(..) => 2,
            Expr::Not(_) | Expr::Matcher(_) => 3,
        }
    }

    /// Writes `e`, in parentheses when its precedence is below `min`.
    fn write_operand(f: &mut fmt::Formatter<'_>, e: &Expr, min: u8) -> fmt::Result {
        if e.precedence() < min {
            write!(f, "({e})")
        } else {
            write!(f, "{e}")
        }
    }
}

impl fmt::Display for Expr {
    /// Canonical syntax: `&&`/`||` with single spaces, parentheses only where the tree needs
    /// them (operators group to the left), backtick strings unless the value holds a backtick.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Or(a, b) => {
                Expr::write_operand(f, a, 1)?;
                f.write_str(" || ")?;
                Expr::write_operand(f, b, 2)
            }
            Expr::And(a, b) => {
                Expr::write_operand(f, a, 2)?;
                f.write_str(" && ")?;
                Expr::write_operand(f, b, 3)
            }
            Expr::Not(e) => {
                f.write_str("!")?;
                Expr::write_operand(f, e, 3)
            }
            Expr::Matcher(m) => write!(f, "{m}"),
        }
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.kind)?;
        for (i, arg) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write_string(f, arg)?;
        }
        f.write_str(")")
    }
}

/// Writes a string argument in backticks, or double-quoted and escaped if it holds a backtick.
fn write_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    if !s.contains('`') {
        return write!(f, "`{s}`");
    }
    f.write_str("\"")?;
    for c in s.chars() {
        if matches!(c, '"' | '\\') {
            f.write_str("\\")?;
        }
        write!(f, "{c}")?;
    }
    f.write_str("\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(kind: MatcherKind, arg: &str) -> Expr {
        Expr::Matcher(Matcher {
            kind,
            args: vec![arg.to_string()],
            column: 1,
        })
    }

    #[test]
    fn names_round_trip() {
        for kind in MatcherKind::ALL {
            assert_eq!(MatcherKind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(MatcherKind::from_name("host"), None);
    }

    #[test]
    fn prints_minimal_parentheses() {
        let a = || m(MatcherKind::Host, "a");
        let b = || m(MatcherKind::Path, "/b");
        let c = || m(MatcherKind::Method, "GET");
        let and = Expr::And(
            Box::new(Expr::Or(Box::new(a()), Box::new(b()))),
            Box::new(c()),
        );
        assert_eq!(
            and.to_string(),
            "(Host(`a`) || Path(`/b`)) && Method(`GET`)"
        );
        let or = Expr::Or(
            Box::new(a()),
            Box::new(Expr::And(Box::new(b()), Box::new(c()))),
        );
        assert_eq!(or.to_string(), "Host(`a`) || Path(`/b`) && Method(`GET`)");
        let right = Expr::Or(
            Box::new(a()),
            Box::new(Expr::Or(Box::new(b()), Box::new(c()))),
        );
        assert_eq!(
            right.to_string(),
            "Host(`a`) || (Path(`/b`) || Method(`GET`))"
        );
        let not = Expr::Not(Box::new(Expr::And(Box::new(a()), Box::new(b()))));
        assert_eq!(not.to_string(), "!(Host(`a`) && Path(`/b`))");
        let not_m = Expr::Not(Box::new(Expr::Not(Box::new(a()))));
        assert_eq!(not_m.to_string(), "!!Host(`a`)");
    }

    #[test]
    fn prints_backticks_in_double_quotes() {
        let e = m(MatcherKind::PathRegexp, "a`b\"c\\d");
        assert_eq!(e.to_string(), r#"PathRegexp("a`b\"c\\d")"#);
    }

    #[test]
    fn visits_matchers_in_order() {
        let e = Expr::Or(
            Box::new(Expr::Not(Box::new(m(MatcherKind::Host, "a")))),
            Box::new(m(MatcherKind::Path, "/b")),
        );
        let mut seen = Vec::new();
        e.visit_matchers(|m| seen.push(m.kind));
        assert_eq!(seen, vec![MatcherKind::Host, MatcherKind::Path]);
    }
}
