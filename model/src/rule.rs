//! The Traefik v3 HTTP rule language: ``Host(`example.com`) && (PathPrefix(`/api`) || !Method(`GET`))``.
//!
//! [`parse`] turns a rule into an [`Expr`] tree and checks each matcher (arity, regexes that
//! compile, paths that start with `/`, client IP ranges), reporting the 1-based column of the
//! first problem. `||` binds loosest, then `&&`, then unary `!`; parentheses group. Arguments are
//! strings in backticks (taken literally) or double quotes (with `\"` and `\\` escapes).
//! The data plane compiles the tree into its own matchers.

mod ast;
mod checks;
mod lexer;
mod parser;

pub use ast::{Expr, Matcher, MatcherKind};
pub use parser::parse;

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
