//! `Method`: the request method.
//!
//! As in Traefik v3, the rule's method is uppercased (``Method(`get`)`` means `GET`) and the
//! request's method is compared case-sensitively, so a request method spelled `get` (a
//! different, extension method) does not match.

use raftgate_model::rule::Matcher;

use super::{arg, expect_args, invalid, RequestInfo, RuleCompileError};

/// ``Method(`GET`)``.
#[derive(Debug)]
pub(super) struct MethodMatcher(http::Method);

impl MethodMatcher {
    pub(super) fn compile(m: &Matcher) -> Result<Self, RuleCompileError> {
        expect_args(m, 1, 1)?;
        let value = arg(m, 0);
        http::Method::from_bytes(value.to_ascii_uppercase().as_bytes())
            .map(MethodMatcher)
            .map_err(|_| invalid(m, value, "an HTTP method"))
    }

    pub(super) fn matches(&self, req: &RequestInfo<'_>) -> bool {
        *req.method == self.0
    }
}

#[cfg(test)]
mod tests {
    use crate::proxy::rule::test_support::{compile, compile_err, Req};

    fn matches(rule: &str, method: &str) -> bool {
        compile(rule).matches(&Req::get("a.com", "/").method(method).info())
    }

    #[test]
    fn methods_compare_uppercased() {
        assert!(matches("Method(`GET`)", "GET"));
        assert!(matches("Method(`get`)", "GET"));
        assert!(!matches("Method(`GET`)", "POST"));
        assert!(!matches("Method(`GET`)", "get"));
        assert!(matches("Method(`PURGE`)", "PURGE"));
        assert!(!matches("Method(`PURGE`)", "purge"));
    }

    #[test]
    fn invalid_methods_are_refused() {
        let err = compile_err(raftgate_model::rule::MatcherKind::Method, &["G T"]);
        assert_eq!(err, "column 1: Method value \"G T\" is not an HTTP method");
    }
}
