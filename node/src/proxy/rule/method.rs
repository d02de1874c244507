//! `Method`: the request method.
//!
//! As in Traefik v3, the rule's method is uppercased (``Method(`get`)`` means `GET`) and the
//! request's method is compared case-sensitively, so a request method spelled `get` (a
//! different, extension method) does not match.

use super::RequestInfo;

/// ``Method(`GET`)``.
#[derive(Debug)]
pub(super) struct MethodMatcher(http::Method);

impl MethodMatcher {
    /// `method` as the model keeps it: uppercased.
    pub(super) fn compile(method: &http::Method) -> Self {
        MethodMatcher(method.clone())
    }

    pub(super) fn matches(&self, req: &RequestInfo<'_>) -> bool {
        *req.method == self.0
    }
}

#[cfg(test)]
mod tests {
    use crate::proxy::rule::test_support::{compile, Req};

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
}
