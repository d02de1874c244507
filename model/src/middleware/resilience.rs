//! Middlewares that shape failure handling: `retry`, `circuitBreaker` and `buffering`.
//!
//! Circuit-breaker and buffering expressions (`NetworkErrorRatio() > 0.5`,
//! `IsNetworkError() && Attempts() < 2`) are parsed at write time with [`crate::expr`], so a
//! bad one is refused with the column of the problem.

use serde::{Deserialize, Serialize};

use crate::checks::{balanced_parens, field, Object};
use crate::expr::{parse, Language};
use crate::{ModelError, TraefikDuration};

/// `retry`: retries a request that failed to reach a server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Retry {
    /// Number of attempts, including the first; must be above zero.
    #[serde(default)]
    pub attempts: i64,
    /// First back-off interval, doubled on each retry; no back-off when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_interval: Option<TraefikDuration>,
}

/// `circuitBreaker`: stops forwarding to a service while its expression holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CircuitBreaker {
    /// Trip condition, e.g. `NetworkErrorRatio() > 0.30`.
    #[serde(default)]
    pub expression: String,
    /// Interval between evaluations of the expression (default 100ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_period: Option<TraefikDuration>,
    /// Time the breaker stays open before recovering (default 10s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_duration: Option<TraefikDuration>,
    /// Time over which traffic is ramped back up (default 10s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_duration: Option<TraefikDuration>,
    /// Status answered while open (default 503).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_code: Option<i64>,
}

/// `buffering`: reads whole request/response bodies before passing them on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Buffering {
    /// Largest request body, in bytes; 0 for no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_request_body_bytes: Option<i64>,
    /// Request bytes kept in memory before spilling to disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_request_body_bytes: Option<i64>,
    /// Largest response body, in bytes; 0 for no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_response_body_bytes: Option<i64>,
    /// Response bytes kept in memory before spilling to disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_response_body_bytes: Option<i64>,
    /// When to replay a buffered request, e.g. `IsNetworkError() && Attempts() < 2`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub retry_expression: String,
}

/// Checks that an expression is present, its parentheses balance, and it parses in
/// `language`.
fn check_expression(
    obj: &Object,
    at: String,
    expr: &str,
    language: Language,
) -> Result<(), ModelError> {
    if expr.trim().is_empty() {
        return Err(obj.invalid(at, "is required"));
    }
    balanced_parens(expr).map_err(|reason| obj.invalid(at.clone(), reason))?;
    parse(expr, language)
        .map(drop)
        .map_err(|e| obj.invalid(at, format!("{expr:?}: {e}")))
}

impl Retry {
    pub(crate) fn check(&self, obj: &Object, path: &str) -> Result<(), ModelError> {
        if self.attempts <= 0 {
            return Err(obj.invalid(
                field(path, "attempts"),
                format!("{} must be greater than zero", self.attempts),
            ));
        }
        Ok(())
    }
}

impl CircuitBreaker {
    pub(crate) fn check(&self, obj: &Object, path: &str) -> Result<(), ModelError> {
        check_expression(
            obj,
            field(path, "expression"),
            &self.expression,
            Language::CircuitBreaker,
        )?;
        if self
            .check_period
            .as_ref()
            .is_some_and(TraefikDuration::is_zero)
        {
            return Err(obj.invalid(field(path, "checkPeriod"), "must be greater than zero"));
        }
        if let Some(code) = self.response_code {
            obj.status_code(field(path, "responseCode"), code)?;
        }
        Ok(())
    }
}

impl Buffering {
    pub(crate) fn check(&self, obj: &Object, path: &str) -> Result<(), ModelError> {
        for (key, value) in [
            ("maxRequestBodyBytes", self.max_request_body_bytes),
            ("memRequestBodyBytes", self.mem_request_body_bytes),
            ("maxResponseBodyBytes", self.max_response_body_bytes),
            ("memResponseBodyBytes", self.mem_response_body_bytes),
        ] {
            if let Some(v) = value {
                obj.non_negative(field(path, key), v)?;
            }
        }
        if !self.retry_expression.is_empty() {
            check_expression(
                obj,
                field(path, "retryExpression"),
                &self.retry_expression,
                Language::Retry,
            )?;
        }
        Ok(())
    }
}
