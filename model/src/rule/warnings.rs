//! Advice about rules that parse but probably do not mean what their author meant.

use super::{Expr, MatcherKind};

/// One warning per matcher argument of `expr` that holds a Traefik v2 placeholder such as
/// `{id}` or `{name:[a-z]+}`, e.g. ``column 1: HostRegexp value "{sub:[a-z]+}\\.a\\.com" uses
/// `{sub:...}`, Traefik v2 syntax that v3 treats literally``.
///
/// Traefik v3 has no placeholders: `Host` and `Path*` compare such text as it is, and in the
/// `*Regexp` matchers a `{` that opens no repetition is a literal brace (see
/// [`crate::regex::go_syntax`]), so such a rule matches only requests that hold the braces.
/// The rule stays valid; this is for a client to show before it applies the rule. Arguments
/// of `Header`, `Query`, `Method` and `ClientIP` are not examined except for regexes.
pub fn v2_placeholder_warnings(expr: &Expr) -> Vec<String> {
    let mut warnings = Vec::new();
    expr.visit_matchers(|m| {
        let (regex, args): (bool, &[String]) = match m.kind {
            MatcherKind::Host | MatcherKind::Path | MatcherKind::PathPrefix => (false, &m.args),
            MatcherKind::HostRegexp | MatcherKind::PathRegexp => (true, &m.args),
            MatcherKind::HeaderRegexp | MatcherKind::QueryRegexp => (true, &m.args[1..]),
            _ => return,
        };
        for arg in args {
            let names = crate::regex::v2_placeholders(arg, regex);
            if names.is_empty() {
                continue;
            }
            let names = names
                .iter()
                .map(|n| format!("`{{{n}...}}`"))
                .collect::<Vec<_>>()
                .join(", ");
            warnings.push(format!(
                "column {}: {} value {arg:?} uses {names}, Traefik v2 syntax that v3 treats \
                 literally (it matches the braces as text)",
                m.column, m.kind
            ));
        }
    });
    warnings
}
