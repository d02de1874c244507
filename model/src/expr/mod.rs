//! The small expression language of Traefik's `circuitBreaker.expression` and
//! `buffering.retryExpression`:
//!
//! ```text
//! NetworkErrorRatio() > 0.5 || (ResponseCodeRatio(500, 600, 0, 600) > 0.25 && LatencyAtQuantileMS(50.0) > 100)
//! IsNetworkError() && Attempts() < 2
//! ```
//!
//! Operands are numbers and function calls with numeric arguments; comparisons are `>`, `>=`,
//! `<`, `<=`, `==` and `!=`; `&&` binds tighter than `||`; parentheses group. Which functions
//! exist depends on the [`Language`]. Errors name the 1-based column of the problem.
//!
//! `&&` and `||` chains are single n-ary nodes and parentheses nest at most [`MAX_DEPTH`]
//! deep, so parsing, evaluating and dropping an expression recurse only that deep.

/// The deepest nesting of parentheses accepted.
pub const MAX_DEPTH: usize = 64;

/// Which functions an expression may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// `circuitBreaker.expression`: `NetworkErrorRatio()`, `ResponseCodeRatio(a, b, c, d)`,
    /// `LatencyAtQuantileMS(q)`.
    CircuitBreaker,
    /// `buffering.retryExpression`: `IsNetworkError()`, `Attempts()`, `ResponseCode()`.
    Retry,
}

/// A function of the language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    /// Share of requests that failed at the network level.
    NetworkErrorRatio,
    /// Responses with a status in `[a, b)` divided by those with one in `[c, d)`.
    ResponseCodeRatio,
    /// The latency at a quantile (0 < q <= 100), in milliseconds.
    LatencyAtQuantileMs,
    /// Whether the attempt failed at the network level (a boolean).
    IsNetworkError,
    /// Attempts made so far.
    Attempts,
    /// The status of the last attempt's response.
    ResponseCode,
}

impl Func {
    fn lookup(language: Language, name: &str) -> Option<Func> {
        let f = match name {
            "NetworkErrorRatio" => Func::NetworkErrorRatio,
            "ResponseCodeRatio" => Func::ResponseCodeRatio,
            "LatencyAtQuantileMS" => Func::LatencyAtQuantileMs,
            "IsNetworkError" => Func::IsNetworkError,
            "Attempts" => Func::Attempts,
            "ResponseCode" => Func::ResponseCode,
            _ => return None,
        };
        let breaker = matches!(
            f,
            Func::NetworkErrorRatio | Func::ResponseCodeRatio | Func::LatencyAtQuantileMs
        );
        (breaker == (language == Language::CircuitBreaker)).then_some(f)
    }

    fn arity(self) -> usize {
        match self {
            Func::ResponseCodeRatio => 4,
            Func::LatencyAtQuantileMs => 1,
            _ => 0,
        }
    }

    fn is_bool(self) -> bool {
        self == Func::IsNetworkError
    }
}

/// A function call with its (numeric) arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The function.
    pub func: Func,
    /// Its arguments.
    pub args: Vec<f64>,
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A literal.
    Number(f64),
    /// A numeric function call.
    Call(Call),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

impl CmpOp {
    /// Applies the operator.
    pub fn apply(self, a: f64, b: f64) -> bool {
        match self {
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
        }
    }
}

/// A parsed boolean expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Every operand holds (two or more, evaluated left to right, short-circuiting).
    And(Vec<Expr>),
    /// Some operand holds (two or more, evaluated left to right, short-circuiting).
    Or(Vec<Expr>),
    /// A comparison of two operands.
    Compare(Operand, CmpOp, Operand),
    /// A boolean function call (`IsNetworkError()`).
    Test(Call),
}

impl Expr {
    /// Evaluates the expression, asking `value` for each call's value (booleans as 0 or 1).
    pub fn eval(&self, value: &mut impl FnMut(&Call) -> f64) -> bool {
        match self {
            Expr::And(operands) => operands.iter().all(|e| e.eval(value)),
            Expr::Or(operands) => operands.iter().any(|e| e.eval(value)),
            Expr::Compare(l, op, r) => {
                let mut v = |o: &Operand| match o {
                    Operand::Number(n) => *n,
                    Operand::Call(c) => value(c),
                };
                let a = v(l);
                op.apply(a, v(r))
            }
            Expr::Test(c) => value(c) != 0.0,
        }
    }

    /// Every call in the expression.
    pub fn calls(&self) -> Vec<&Call> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect<'a>(&'a self, out: &mut Vec<&'a Call>) {
        match self {
            Expr::And(operands) | Expr::Or(operands) => {
                for e in operands {
                    e.collect(out);
                }
            }
            Expr::Compare(l, _, r) => {
                for o in [l, r] {
                    if let Operand::Call(c) = o {
                        out.push(c);
                    }
                }
            }
            Expr::Test(c) => out.push(c),
        }
    }
}

/// Why an expression does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct ExprError {
    /// 1-based column (in characters) of the problem.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

mod lexer;

use lexer::{err, lex, Tok};

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    language: Language,
    /// Parentheses currently open.
    depth: usize,
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos].0
    }

    fn col(&self) -> usize {
        self.toks[self.pos].1
    }

    fn bump(&mut self) -> (Tok, usize) {
        let t = self.toks[self.pos].clone();
        if t.0 != Tok::End {
            self.pos += 1;
        }
        t
    }

    fn expect(&mut self, want: Tok) -> Result<(), ExprError> {
        let (tok, col) = self.bump();
        if tok == want {
            Ok(())
        } else {
            Err(err(col, format!("expected {want}, found {tok}")))
        }
    }

    /// `or := and ("||" and)*`, one [`Expr::Or`] for the whole chain.
    fn or(&mut self) -> Result<Expr, ExprError> {
        let first = self.and()?;
        if *self.peek() != Tok::Or {
            return Ok(first);
        }
        let mut operands = vec![first];
        while *self.peek() == Tok::Or {
            self.bump();
            operands.push(self.and()?);
        }
        Ok(Expr::Or(operands))
    }

    /// `and := primary ("&&" primary)*`, one [`Expr::And`] for the whole chain.
    fn and(&mut self) -> Result<Expr, ExprError> {
        let first = self.primary()?;
        if *self.peek() != Tok::And {
            return Ok(first);
        }
        let mut operands = vec![first];
        while *self.peek() == Tok::And {
            self.bump();
            operands.push(self.primary()?);
        }
        Ok(Expr::And(operands))
    }

    fn primary(&mut self) -> Result<Expr, ExprError> {
        if *self.peek() == Tok::LParen {
            let col = self.col();
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return Err(err(
                    col,
                    format!("expression is nested more than {MAX_DEPTH} levels deep"),
                ));
            }
            self.bump();
            let inner = self.or()?;
            self.expect(Tok::RParen)?;
            self.depth -= 1;
            return Ok(inner);
        }
        let col = self.col();
        let left = self.operand()?;
        if let Operand::Call(call) = &left {
            if call.func.is_bool() {
                return Ok(Expr::Test(call.clone()));
            }
        }
        let (tok, op_col) = self.bump();
        let Tok::Cmp(op) = tok else {
            return Err(err(
                op_col,
                format!("expected a comparison operator, found {tok}"),
            ));
        };
        let right = self.operand()?;
        if matches!((&left, &right), (Operand::Number(_), Operand::Number(_))) {
            return Err(err(col, "a comparison needs a function call on one side"));
        }
        Ok(Expr::Compare(left, op, right))
    }

    fn operand(&mut self) -> Result<Operand, ExprError> {
        let (tok, col) = self.bump();
        match tok {
            Tok::Num(n) => Ok(Operand::Number(n)),
            Tok::Ident(name) => {
                let func = Func::lookup(self.language, &name)
                    .ok_or_else(|| err(col, format!("unknown function {name:?}")))?;
                self.expect(Tok::LParen)?;
                let mut args = Vec::new();
                if *self.peek() != Tok::RParen {
                    loop {
                        let (tok, c) = self.bump();
                        let Tok::Num(n) = tok else {
                            return Err(err(c, format!("expected a number, found {tok}")));
                        };
                        args.push(n);
                        if *self.peek() != Tok::Comma {
                            break;
                        }
                        self.bump();
                    }
                }
                self.expect(Tok::RParen)?;
                let call = Call { func, args };
                check_call(&name, &call).map_err(|m| err(col, m))?;
                Ok(Operand::Call(call))
            }
            other => Err(err(
                col,
                format!("expected a number or a function call, found {other}"),
            )),
        }
    }
}

fn check_call(name: &str, call: &Call) -> Result<(), String> {
    let want = call.func.arity();
    if call.args.len() != want {
        return Err(format!(
            "{name} takes {want} argument(s), not {}",
            call.args.len()
        ));
    }
    match call.func {
        Func::ResponseCodeRatio => {
            let a = &call.args;
            if a.iter()
                .any(|v| v.fract() != 0.0 || !(0.0..=1000.0).contains(v))
            {
                return Err(format!("{name}: arguments are status codes (0 to 1000)"));
            }
            if a[0] >= a[1] || a[2] >= a[3] {
                return Err(format!("{name}: each range [from, to) needs from < to"));
            }
        }
        Func::LatencyAtQuantileMs => {
            let q = call.args[0];
            if !(q > 0.0 && q <= 100.0) {
                return Err(format!("{name}: the quantile must be in (0, 100], not {q}"));
            }
        }
        _ => {}
    }
    Ok(())
}

/// Parses `input` in `language`.
pub fn parse(input: &str, language: Language) -> Result<Expr, ExprError> {
    let toks = lex(input)?;
    if toks.len() == 1 {
        return Err(err(1, "the expression is empty"));
    }
    let mut p = Parser {
        toks,
        pos: 0,
        language,
        depth: 0,
    };
    let expr = p.or()?;
    if *p.peek() != Tok::End {
        let (tok, col) = p.bump();
        return Err(err(col, format!("unexpected {tok}")));
    }
    Ok(expr)
}

#[cfg(test)]
mod tests;
