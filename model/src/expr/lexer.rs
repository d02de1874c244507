//! Tokens of the expression language, with their 1-based columns.

use std::fmt;

use super::{CmpOp, ExprError};

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Num(f64),
    Ident(String),
    LParen,
    RParen,
    Comma,
    And,
    Or,
    Cmp(CmpOp),
    End,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Num(n) => write!(f, "number {n}"),
            Tok::Ident(s) => write!(f, "`{s}`"),
            Tok::LParen => f.write_str("`(`"),
            Tok::RParen => f.write_str("`)`"),
            Tok::Comma => f.write_str("`,`"),
            Tok::And => f.write_str("`&&`"),
            Tok::Or => f.write_str("`||`"),
            Tok::Cmp(_) => f.write_str("a comparison operator"),
            Tok::End => f.write_str("the end"),
        }
    }
}

pub(super) fn err(column: usize, message: impl Into<String>) -> ExprError {
    ExprError {
        column,
        message: message.into(),
    }
}

pub(super) fn lex(input: &str) -> Result<Vec<(Tok, usize)>, ExprError> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let col = i + 1;
        let c = chars[i];
        let two = chars.get(i + 1).copied();
        let (tok, len) = match (c, two) {
            (c, _) if c.is_whitespace() => {
                i += 1;
                continue;
            }
            ('(', _) => (Tok::LParen, 1),
            (')', _) => (Tok::RParen, 1),
            (',', _) => (Tok::Comma, 1),
            ('&', Some('&')) => (Tok::And, 2),
            ('|', Some('|')) => (Tok::Or, 2),
            ('>', Some('=')) => (Tok::Cmp(CmpOp::Ge), 2),
            ('<', Some('=')) => (Tok::Cmp(CmpOp::Le), 2),
            ('=', Some('=')) => (Tok::Cmp(CmpOp::Eq), 2),
            ('!', Some('=')) => (Tok::Cmp(CmpOp::Ne), 2),
            ('>', _) => (Tok::Cmp(CmpOp::Gt), 1),
            ('<', _) => (Tok::Cmp(CmpOp::Lt), 1),
            (c, _) if c.is_ascii_digit() || c == '.' || c == '-' => {
                let len = chars[i + 1..]
                    .iter()
                    .take_while(|c| c.is_ascii_digit() || **c == '.')
                    .count()
                    + 1;
                let text: String = chars[i..i + len].iter().collect();
                let n = text
                    .parse::<f64>()
                    .map_err(|_| err(col, format!("{text:?} is not a number")))?;
                (Tok::Num(n), len)
            }
            (c, _) if c.is_ascii_alphabetic() => {
                let len = chars[i..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
                    .count();
                (Tok::Ident(chars[i..i + len].iter().collect()), len)
            }
            (c, _) => return Err(err(col, format!("unexpected character {c:?}"))),
        };
        out.push((tok, col));
        i += len;
    }
    out.push((Tok::End, chars.len() + 1));
    Ok(out)
}
