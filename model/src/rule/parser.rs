//! Recursive-descent parser for rules: `||` over `&&` over unary `!` over parentheses and
//! matchers. `&&` and `||` chains are read by a loop into one n-ary node; only parentheses and
//! `!` recurse, up to [`MAX_DEPTH`].

use super::lexer::{Lexer, Token, TokenKind};
use super::{Expr, Matcher, MatcherKind, RuleError, MAX_DEPTH, MAX_MATCHERS, MAX_RULE_LENGTH};

/// Parses a Traefik v3 rule and checks its matchers.
///
/// # Errors
///
/// The first problem, with its column: syntax, a matcher's arguments, or one of the limits
/// ([`MAX_RULE_LENGTH`], [`MAX_MATCHERS`], [`MAX_DEPTH`]).
pub fn parse(rule: &str) -> Result<Expr, RuleError> {
    if rule.len() > MAX_RULE_LENGTH {
        return Err(RuleError::new(
            1,
            format!(
                "rule is {} bytes long, more than the limit of {MAX_RULE_LENGTH}",
                rule.len()
            ),
        ));
    }
    if rule.trim().is_empty() {
        return Err(RuleError::new(1, "rule is empty"));
    }
    let mut parser = Parser {
        lexer: Lexer::new(rule),
        depth: 0,
        matchers: 0,
    };
    let expr = parser.or()?;
    let next = parser.lexer.next_token()?;
    if next.kind != TokenKind::End {
        return Err(RuleError::new(
            next.column,
            format!(
                "unexpected {}: expected `&&`, `||` or end of rule",
                next.kind
            ),
        ));
    }
    Ok(expr)
}

/// Parser state: the token stream, the current nesting depth and the matchers read so far.
struct Parser<'a> {
    lexer: Lexer<'a>,
    depth: usize,
    matchers: usize,
}

impl Parser<'_> {
    /// `or := and ("||" and)*`, one [`Expr::Or`] for the whole chain.
    fn or(&mut self) -> Result<Expr, RuleError> {
        let first = self.and()?;
        if self.lexer.peek()?.kind != TokenKind::Or {
            return Ok(first);
        }
        let mut operands = vec![first];
        while self.lexer.peek()?.kind == TokenKind::Or {
            self.lexer.next_token()?;
            operands.push(self.and()?);
        }
        Ok(Expr::Or(operands))
    }

    /// `and := unary ("&&" unary)*`, one [`Expr::And`] for the whole chain.
    fn and(&mut self) -> Result<Expr, RuleError> {
        let first = self.unary()?;
        if self.lexer.peek()?.kind != TokenKind::And {
            return Ok(first);
        }
        let mut operands = vec![first];
        while self.lexer.peek()?.kind == TokenKind::And {
            self.lexer.next_token()?;
            operands.push(self.unary()?);
        }
        Ok(Expr::And(operands))
    }

    /// `unary := "!" unary | "(" or ")" | matcher`
    fn unary(&mut self) -> Result<Expr, RuleError> {
        let token = self.lexer.next_token()?;
        match token.kind {
            TokenKind::Not => {
                self.descend(token.column)?;
                let inner = self.unary()?;
                self.depth -= 1;
                Ok(Expr::Not(Box::new(inner)))
            }
            TokenKind::LParen => {
                self.descend(token.column)?;
                let inner = self.or()?;
                self.depth -= 1;
                let close = self.lexer.next_token()?;
                if close.kind != TokenKind::RParen {
                    return Err(RuleError::new(
                        close.column,
                        format!(
                            "expected `)` to close the `(` at column {}, found {}",
                            token.column, close.kind
                        ),
                    ));
                }
                Ok(inner)
            }
            TokenKind::Ident(name) => self.matcher(&name, token.column),
            other => Err(RuleError::new(
                token.column,
                format!("expected a matcher, `!` or `(`, found {other}"),
            )),
        }
    }

    /// Enters one nesting level, refusing to go past [`MAX_DEPTH`].
    fn descend(&mut self, column: usize) -> Result<(), RuleError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(RuleError::new(
                column,
                format!("expression is nested more than {MAX_DEPTH} levels deep"),
            ));
        }
        Ok(())
    }

    /// `matcher := NAME "(" [STRING ("," STRING)*] ")"`, with `NAME` already consumed.
    fn matcher(&mut self, name: &str, column: usize) -> Result<Expr, RuleError> {
        self.matchers += 1;
        if self.matchers > MAX_MATCHERS {
            return Err(RuleError::new(
                column,
                format!("rule has more than {MAX_MATCHERS} matchers (the limit)"),
            ));
        }
        let kind =
            MatcherKind::from_rule_name(name).ok_or_else(|| unknown_matcher(name, column))?;
        let open = self.lexer.next_token()?;
        if open.kind != TokenKind::LParen {
            return Err(RuleError::new(
                open.column,
                format!(
                    "expected `(` after matcher name `{name}`, found {}",
                    open.kind
                ),
            ));
        }
        let mut args = Vec::new();
        if self.lexer.peek()?.kind == TokenKind::RParen {
            self.lexer.next_token()?;
        } else {
            loop {
                args.push(self.string_arg()?);
                let sep = self.lexer.next_token()?;
                match sep.kind {
                    TokenKind::Comma => continue,
                    TokenKind::RParen => break,
                    other => {
                        return Err(RuleError::new(
                            sep.column,
                            format!("expected `)` after matcher arguments, found {other}"),
                        ))
                    }
                }
            }
        }
        Ok(Expr::Matcher(Matcher::new(kind, args, column)?))
    }

    /// One string argument.
    fn string_arg(&mut self) -> Result<String, RuleError> {
        match self.lexer.next_token()? {
            Token {
                kind: TokenKind::Str(s),
                ..
            } => Ok(s),
            Token { kind, column } => Err(RuleError::new(
                column,
                format!("expected a string in backticks or double quotes, found {kind}"),
            )),
        }
    }
}

/// The error for a name that is not a v3 matcher, with a hint when the case is wrong or the
/// name is a TCP or Traefik v2 matcher.
fn unknown_matcher(name: &str, column: usize) -> RuleError {
    let hint = match MatcherKind::ALL
        .into_iter()
        .find(|k| k.name().eq_ignore_ascii_case(name))
    {
        Some(k) => format!(
            " (did you mean `{k}`? it is written {})",
            k.spellings()
                .iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => match name {
            "HostHeader" => " (Traefik v2 syntax; use `Host`)".to_string(),
            "HostSNI" | "HostSNIRegexp" | "ALPN" => {
                " (a TCP matcher; not valid in HTTP rules)".to_string()
            }
            _ => String::new(),
        },
    };
    RuleError::new(column, format!("unknown matcher `{name}`{hint}"))
}
