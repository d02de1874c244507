//! The Traefik v3 HTTP rule language: ``Host(`example.com`) && (PathPrefix(`/api`) || !Method(`GET`))``.
//!
//! [`parse`] turns a rule into an [`Expr`] tree and checks each matcher (arity, regexes that
//! compile, paths that start with `/`, client IP ranges), reporting the 1-based column of the
//! first problem. `||` binds loosest, then `&&`, then unary `!`; parentheses group. Arguments are
//! strings in backticks (taken literally) or double quotes (with `\"` and `\\` escapes).
//! Each [`Matcher`] carries its checked, typed [`MatcherValue`] (compiled regexes, parsed
//! ranges), so the data plane compiles the tree into its own matchers without failing.
//!
//! Matcher names are read as Traefik v3 reads them, in four spellings each
//! ([`MatcherKind::spellings`]: `PathPrefix`, `pathprefix`, `PATHPREFIX`, `Pathprefix`), and
//! printed in the first. Empty arguments are refused for every matcher, as Traefik does.
//! Regexes are Go's RE2 syntax ([`crate::regex`]); [`v2_placeholder_warnings`] points out
//! Traefik v2 `{name:regex}` placeholders, which v3 matches as literal text.
//!
//! Rules are bounded so that no rule can exhaust a node's stack and its cost stays bounded: at
//! most [`MAX_RULE_LENGTH`] bytes, [`MAX_MATCHERS`] matchers (each regex at most
//! [`crate::regex::REGEX_SIZE_LIMIT`] compiled) and [`MAX_DEPTH`] levels of nesting. `&&` and
//! `||` chains are single n-ary nodes, so the tree is only as deep as the nesting.

mod ast;
mod checks;
mod lexer;
mod parser;
mod warnings;

pub use ast::{Expr, Matcher, MatcherKind, MatcherValue};
pub use parser::parse;
pub use warnings::v2_placeholder_warnings;

/// The longest rule accepted, in bytes of rule text (64 KiB).
pub const MAX_RULE_LENGTH: usize = 64 * 1024;

/// The most matcher terms one rule may hold: enough for a router with a few hundred
/// alternatives, few enough that compiling a rule stays cheap. Counted while parsing, so a rule
/// far over the limit is refused at its 1 001st matcher.
pub const MAX_MATCHERS: usize = 1_000;

/// The deepest nesting of parentheses and `!` accepted. Every recursive walk of an [`Expr`]
/// recurses on nesting only, so this bounds their stack use.
pub const MAX_DEPTH: usize = 64;

use thiserror::Error;

/// A rule that does not parse or whose matchers are invalid.
#[derive(Debug, Clone, PartialEq, Eq, Error, serde::Serialize, serde::Deserialize)]
#[error("column {column}: {message}")]
pub struct RuleError {
    /// 1-based column (in characters) where the problem starts.
    pub column: usize,
    /// What is wrong, on one line.
    pub message: String,
}

impl RuleError {
    /// An error at `column`.
    pub(crate) fn new(column: usize, message: impl Into<String>) -> Self {
        RuleError {
            column,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests;
