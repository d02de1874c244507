//! Splits a rule into tokens (matcher names, strings, parentheses, commas, `&&`, `||`, `!`),
//! each with its 1-based column. Tokens are produced on demand so that errors are reported in
//! the order they appear.

use std::fmt;
use std::iter::Peekable;
use std::str::Chars;

use super::RuleError;

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum TokenKind {
    /// A matcher name such as `Host`.
    Ident(String),
    /// A string argument, with quotes removed and escapes resolved.
    Str(String),
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `,`
    Comma,
    /// `&&`
    And,
    /// `||`
    Or,
    /// `!`
    Not,
    /// The end of the rule.
    End,
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenKind::Ident(name) => write!(f, "`{name}`"),
            TokenKind::Str(_) => f.write_str("a string"),
            TokenKind::LParen => f.write_str("`(`"),
            TokenKind::RParen => f.write_str("`)`"),
            TokenKind::Comma => f.write_str("`,`"),
            TokenKind::And => f.write_str("`&&`"),
            TokenKind::Or => f.write_str("`||`"),
            TokenKind::Not => f.write_str("`!`"),
            TokenKind::End => f.write_str("end of rule"),
        }
    }
}

/// A token and the column of its first character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Token {
    /// What the token is.
    pub kind: TokenKind,
    /// 1-based column of its first character.
    pub column: usize,
}

/// An on-demand tokenizer with one token of look-ahead.
pub(super) struct Lexer<'a> {
    chars: Peekable<Chars<'a>>,
    /// Column of the next character to read.
    column: usize,
    peeked: Option<Token>,
}

impl<'a> Lexer<'a> {
    /// A lexer over `input`.
    pub fn new(input: &'a str) -> Self {
        Lexer {
            chars: input.chars().peekable(),
            column: 1,
            peeked: None,
        }
    }

    /// The next token, without consuming it.
    pub fn peek(&mut self) -> Result<&Token, RuleError> {
        let token = match self.peeked.take() {
            Some(token) => token,
            None => self.scan()?,
        };
        Ok(self.peeked.insert(token))
    }

    /// Consumes and returns the next token.
    pub fn next_token(&mut self) -> Result<Token, RuleError> {
        match self.peeked.take() {
            Some(token) => Ok(token),
            None => self.scan(),
        }
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        self.column += 1;
        Some(c)
    }

    fn scan(&mut self) -> Result<Token, RuleError> {
        while self.chars.peek().is_some_and(|c| c.is_whitespace()) {
            self.bump();
        }
        let column = self.column;
        let token = |kind| Ok(Token { kind, column });
        let Some(c) = self.bump() else {
            return token(TokenKind::End);
        };
        match c {
            '(' => token(TokenKind::LParen),
            ')' => token(TokenKind::RParen),
            ',' => token(TokenKind::Comma),
            '!' => token(TokenKind::Not),
            '&' | '|' => {
                if self.chars.peek() == Some(&c) {
                    self.bump();
                    token(if c == '&' {
                        TokenKind::And
                    } else {
                        TokenKind::Or
                    })
                } else {
                    Err(RuleError::new(
                        column,
                        format!("expected `{c}{c}`, found a single `{c}`"),
                    ))
                }
            }
            '`' => self.raw_string(column).map(|s| Token {
                kind: TokenKind::Str(s),
                column,
            }),
            '"' => self.quoted_string(column).map(|s| Token {
                kind: TokenKind::Str(s),
                column,
            }),
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut name = String::from(c);
                while let Some(&next) = self.chars.peek() {
                    if !(next.is_ascii_alphanumeric() || next == '_') {
                        break;
                    }
                    name.push(next);
                    self.bump();
                }
                token(TokenKind::Ident(name))
            }
            other => Err(RuleError::new(
                column,
                format!("unexpected character {other:?}"),
            )),
        }
    }

    /// Reads a backtick string whose opening backtick (at `start`) was consumed.
    fn raw_string(&mut self, start: usize) -> Result<String, RuleError> {
        let mut out = String::new();
        loop {
            match self.bump() {
                Some('`') => return Ok(out),
                Some(c) => out.push(c),
                None => {
                    return Err(RuleError::new(
                        start,
                        "unterminated string: missing closing backtick",
                    ))
                }
            }
        }
    }

    /// Reads a double-quoted string whose opening quote (at `start`) was consumed.
    ///
    /// `\"` and `\\` are escapes; any other backslash is kept as written, so regexes such as
    /// `"\d+"` need no doubling.
    fn quoted_string(&mut self, start: usize) -> Result<String, RuleError> {
        let unterminated = || RuleError::new(start, "unterminated string: missing closing `\"`");
        let mut out = String::new();
        loop {
            match self.bump() {
                Some('"') => return Ok(out),
                Some('\\') => match self.bump() {
                    Some(c @ ('"' | '\\')) => out.push(c),
                    Some(c) => {
                        out.push('\\');
                        out.push(c);
                    }
                    None => return Err(unterminated()),
                },
                Some(c) => out.push(c),
                None => return Err(unterminated()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(input: &str) -> Result<Vec<(TokenKind, usize)>, RuleError> {
        let mut lexer = Lexer::new(input);
        let mut out = Vec::new();
        loop {
            let t = lexer.next_token()?;
            if t.kind == TokenKind::End {
                return Ok(out);
            }
            out.push((t.kind, t.column));
        }
    }

    #[test]
    fn tokens_and_columns() {
        let toks = kinds("Host(`a`) && !Path(\"/b\") || (x)").expect("lexes");
        assert_eq!(
            toks,
            vec![
                (TokenKind::Ident("Host".into()), 1),
                (TokenKind::LParen, 5),
                (TokenKind::Str("a".into()), 6),
                (TokenKind::RParen, 9),
                (TokenKind::And, 11),
                (TokenKind::Not, 14),
                (TokenKind::Ident("Path".into()), 15),
                (TokenKind::LParen, 19),
                (TokenKind::Str("/b".into()), 20),
                (TokenKind::RParen, 24),
                (TokenKind::Or, 26),
                (TokenKind::LParen, 29),
                (TokenKind::Ident("x".into()), 30),
                (TokenKind::RParen, 31),
            ]
        );
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let toks = kinds("`é` x").expect("lexes");
        assert_eq!(toks[1], (TokenKind::Ident("x".into()), 5));
    }

    #[test]
    fn string_escapes() {
        let toks = kinds(r#""a\"b\\c\d" `x\"y`"#).expect("lexes");
        assert_eq!(toks[0].0, TokenKind::Str(r#"a"b\c\d"#.into()));
        assert_eq!(toks[1].0, TokenKind::Str(r#"x\"y"#.into()));
    }

    #[test]
    fn lexer_errors() {
        let err = kinds("Host(`a) ").unwrap_err();
        assert_eq!(
            err,
            RuleError::new(6, "unterminated string: missing closing backtick")
        );
        let err = kinds("  \"abc\\\"").unwrap_err();
        assert_eq!(
            err,
            RuleError::new(3, "unterminated string: missing closing `\"`")
        );
        let err = kinds("a & b").unwrap_err();
        assert_eq!(err, RuleError::new(3, "expected `&&`, found a single `&`"));
        let err = kinds("a | b").unwrap_err();
        assert_eq!(err, RuleError::new(3, "expected `||`, found a single `|`"));
        let err = kinds("a ; b").unwrap_err();
        assert_eq!(err, RuleError::new(3, "unexpected character ';'"));
    }
}
