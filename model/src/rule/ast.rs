//! The syntax tree of a parsed rule, and its canonical printed form.

use std::fmt;
use std::ops::RangeInclusive;

use super::RuleError;

/// A parsed rule expression.
///
/// `&&` and `||` are n-ary: a chain `a || b || c` is one [`Expr::Or`] with three operands, so
/// the depth of the tree grows only with nesting (parentheses and `!`, bounded by
/// [`super::MAX_DEPTH`]), never with the length of a chain. A parenthesized group stays its own
/// node: `a || (b || c)` is `Or([a, Or([b, c])])`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// Every operand matches (`a && b && ...`); two or more operands, evaluated left to right.
    And(Vec<Expr>),
    /// Some operand matches (`a || b || ...`); two or more operands, evaluated left to right.
    Or(Vec<Expr>),
    /// The inner expression does not match (`!a`).
    Not(Box<Expr>),
    /// A single matcher such as ``Host(`example.com`)``.
    Matcher(Matcher),
}

/// One matcher call: its kind, its string arguments, where it appeared, and its checked value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    /// Which matcher.
    pub kind: MatcherKind,
    /// The arguments, unquoted, as written.
    pub args: Vec<String>,
    /// 1-based column of the matcher name in the rule.
    pub column: usize,
    /// The arguments checked and converted to what matching needs (compiled regexes, parsed
    /// ranges, ...). Built by [`Matcher::new`], so a data plane compiles it without failing.
    pub value: MatcherValue,
}

/// The typed, validated arguments of a matcher. Regexes are compiled with
/// [`crate::regex::compile`] (the size limit, Go's ASCII Perl classes); two values are equal
/// when their regexes have the same pattern.
#[derive(Debug, Clone)]
pub enum MatcherValue {
    /// `Host`: lowercase, without one trailing dot.
    Host(String),
    /// `HostRegexp`: run on the host as a string.
    HostRegexp(regex::Regex),
    /// `Path`: the exact path, starting with `/`.
    Path(String),
    /// `PathPrefix`: the prefix, starting with `/`.
    PathPrefix(String),
    /// `PathRegexp`: run on the path as a string.
    PathRegexp(regex::Regex),
    /// `Method`: uppercased.
    Method(http::Method),
    /// `Header`: the name and the exact value.
    Header {
        /// The header name.
        name: http::HeaderName,
        /// The exact value.
        value: String,
    },
    /// `HeaderRegexp`: the name and a regex run on the raw bytes of each value.
    HeaderRegexp {
        /// The header name.
        name: http::HeaderName,
        /// The value regex.
        regex: regex::bytes::Regex,
    },
    /// `Query`: a parameter name (not empty) and, with two arguments, its exact value.
    Query {
        /// The parameter name.
        key: String,
        /// The value some pair must have; `None` (one argument) for the empty value, as
        /// Traefik v3 reads ``Query(`k`)``: `?k` or `?k=`, not `?k=1`.
        value: Option<String>,
    },
    /// `QueryRegexp`: a parameter name (not empty) and, with two arguments, a regex run on the
    /// decoded bytes of its values.
    QueryRegexp {
        /// The parameter name.
        key: String,
        /// The value regex; `None` (one argument) means the empty value, like ``Query(`k`)``.
        regex: Option<regex::bytes::Regex>,
    },
    /// `ClientIP`: an address (as a single-host range) or a CIDR range.
    ClientIP(ipnet::IpNet),
}

impl PartialEq for MatcherValue {
    fn eq(&self, other: &Self) -> bool {
        use MatcherValue as V;
        match (self, other) {
            (V::Host(a), V::Host(b))
            | (V::Path(a), V::Path(b))
            | (V::PathPrefix(a), V::PathPrefix(b)) => a == b,
            (V::HostRegexp(a), V::HostRegexp(b)) | (V::PathRegexp(a), V::PathRegexp(b)) => {
                a.as_str() == b.as_str()
            }
            (V::Method(a), V::Method(b)) => a == b,
            (V::Header { name, value }, V::Header { name: n, value: v }) => name == n && value == v,
            (V::HeaderRegexp { name, regex }, V::HeaderRegexp { name: n, regex: r }) => {
                name == n && regex.as_str() == r.as_str()
            }
            (V::Query { key, value }, V::Query { key: k, value: v }) => key == k && value == v,
            (V::QueryRegexp { key, regex }, V::QueryRegexp { key: k, regex: r }) => {
                key == k && regex.as_ref().map(|r| r.as_str()) == r.as_ref().map(|r| r.as_str())
            }
            (V::ClientIP(a), V::ClientIP(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for MatcherValue {}

impl Matcher {
    /// Checks the arguments of a `kind` matcher written at `column` (arity, values, regexes)
    /// and builds its [`MatcherValue`]. Errors point at `column`.
    ///
    /// # Errors
    ///
    /// A [`RuleError`] with a one-line reason, e.g. `Host takes exactly 1 argument, got 2`.
    pub fn new(kind: MatcherKind, args: Vec<String>, column: usize) -> Result<Matcher, RuleError> {
        let value = super::checks::check_matcher(kind, &args)
            .map_err(|message| RuleError::new(column, message))?;
        Ok(Matcher {
            kind,
            args,
            column,
            value,
        })
    }
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
    /// ``Query(`key`, `value`)``: a query parameter with this value; ``Query(`key`)``: with
    /// the empty value.
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

    /// The matcher a rule names with `name`: one of its [`MatcherKind::spellings`].
    pub fn from_rule_name(name: &str) -> Option<MatcherKind> {
        MatcherKind::ALL.into_iter().find(|k| {
            k.name().eq_ignore_ascii_case(name) && k.spellings().iter().any(|s| s == name)
        })
    }

    /// The names a rule may call the matcher by, without repeats. As in Traefik v3's rule
    /// parser: its own (`PathPrefix`), all lowercase (`pathprefix`), all uppercase
    /// (`PATHPREFIX`) and the lowercase one capitalized (`Pathprefix`). Other mixes
    /// (`pathPrefix`) are not matchers. The canonical printed form is [`MatcherKind::name`].
    pub fn spellings(self) -> Vec<String> {
        let own = self.name();
        let lower = own.to_ascii_lowercase();
        let capitalized = format!("{}{}", &own[..1], &lower[1..]);
        let mut all = vec![own.to_string(), lower, own.to_ascii_uppercase()];
        if !all.contains(&capitalized) {
            all.push(capitalized);
        }
        all
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

    /// Recurses on nesting only: the operands of a chain are a loop.
    fn walk<F: FnMut(&Matcher)>(&self, f: &mut F) {
        match self {
            Expr::And(operands) | Expr::Or(operands) => {
                for e in operands {
                    e.walk(f);
                }
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

    /// Writes `e`, in parentheses unless its precedence is above `parent`'s.
    fn write_operand(f: &mut fmt::Formatter<'_>, e: &Expr, parent: u8) -> fmt::Result {
        if e.precedence() <= parent {
            write!(f, "({e})")
        } else {
            write!(f, "{e}")
        }
    }

    /// Writes the operands of an n-ary node separated by `op`.
    fn write_chain(
        f: &mut fmt::Formatter<'_>,
        operands: &[Expr],
        op: &str,
        prec: u8,
    ) -> fmt::Result {
        for (i, e) in operands.iter().enumerate() {
            if i > 0 {
                f.write_str(op)?;
            }
            Expr::write_operand(f, e, prec)?;
        }
        Ok(())
    }
}

impl fmt::Display for Expr {
    /// Canonical syntax: `&&`/`||` with single spaces, backtick strings unless the value holds
    /// a backtick, and parentheses exactly where the tree needs them: around an `||` operand of
    /// `&&`, around any `&&`/`||` under `!`, and around an operand of the same operator (a
    /// parenthesized group such as `a || (b || c)` is its own node and prints as written). So
    /// `parse(e.to_string()) == e` for every parsed rule.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Or(operands) => Expr::write_chain(f, operands, " || ", 1),
            Expr::And(operands) => Expr::write_chain(f, operands, " && ", 2),
            Expr::Not(e) => {
                f.write_str("!")?;
                Expr::write_operand(f, e, 2)
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
        Expr::Matcher(Matcher::new(kind, vec![arg.to_string()], 1).expect("valid matcher"))
    }

    #[test]
    fn names_round_trip() {
        for kind in MatcherKind::ALL {
            assert_eq!(MatcherKind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(MatcherKind::from_name("host"), None);
    }

    /// Traefik's rule parser registers each matcher under its name, its lowercase and
    /// uppercase forms, and its lowercase form with the first letter capitalized.
    #[test]
    fn rule_names_have_four_spellings() {
        for kind in MatcherKind::ALL {
            let own = kind.name();
            let lower = own.to_ascii_lowercase();
            let title = format!("{}{}", &own[..1], &lower[1..]);
            for name in [own.to_string(), lower, own.to_ascii_uppercase(), title] {
                assert_eq!(MatcherKind::from_rule_name(&name), Some(kind), "{name}");
            }
        }
        for name in [
            "pathPrefix",
            "PathPREFIX",
            "clientIP",
            "hOST",
            "Hosts",
            "",
            "é",
        ] {
            assert_eq!(MatcherKind::from_rule_name(name), None, "{name}");
        }
    }

    #[test]
    fn prints_minimal_parentheses() {
        let a = || m(MatcherKind::Host, "a");
        let b = || m(MatcherKind::Path, "/b");
        let c = || m(MatcherKind::Method, "GET");
        let and = Expr::And(vec![Expr::Or(vec![a(), b()]), c()]);
        assert_eq!(
            and.to_string(),
            "(Host(`a`) || Path(`/b`)) && Method(`GET`)"
        );
        let or = Expr::Or(vec![a(), Expr::And(vec![b(), c()])]);
        assert_eq!(or.to_string(), "Host(`a`) || Path(`/b`) && Method(`GET`)");
        let chain = Expr::Or(vec![a(), b(), c()]);
        assert_eq!(
            chain.to_string(),
            "Host(`a`) || Path(`/b`) || Method(`GET`)"
        );
        let right = Expr::Or(vec![a(), Expr::Or(vec![b(), c()])]);
        assert_eq!(
            right.to_string(),
            "Host(`a`) || (Path(`/b`) || Method(`GET`))"
        );
        let left = Expr::And(vec![Expr::And(vec![a(), b()]), c()]);
        assert_eq!(
            left.to_string(),
            "(Host(`a`) && Path(`/b`)) && Method(`GET`)"
        );
        let not = Expr::Not(Box::new(Expr::And(vec![a(), b()])));
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
        let e = Expr::Or(vec![
            Expr::Not(Box::new(m(MatcherKind::Host, "a"))),
            m(MatcherKind::Path, "/b"),
        ]);
        let mut seen = Vec::new();
        e.visit_matchers(|m| seen.push(m.kind));
        assert_eq!(seen, vec![MatcherKind::Host, MatcherKind::Path]);
    }

    #[test]
    fn values_compare_regexes_by_pattern() {
        assert_eq!(
            m(MatcherKind::PathRegexp, "^/a"),
            m(MatcherKind::PathRegexp, "^/a")
        );
        assert_ne!(
            m(MatcherKind::PathRegexp, "^/a"),
            m(MatcherKind::PathRegexp, "^/b")
        );
        assert_ne!(m(MatcherKind::Path, "/a"), m(MatcherKind::PathPrefix, "/a"));
    }
}
