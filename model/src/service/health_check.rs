//! Active health checks: the probe a load balancer sends to each server, and the empty
//! `healthCheck: {}` that makes weighted, mirroring and failover services follow the health
//! of their children.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::checks::{domain_problem, field, is_token, Object, HTTPS_NOT_YET};
use crate::{ModelError, TraefikDuration};

/// How and how often a load balancer probes its servers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServerHealthCheck {
    /// Scheme of the probe (`http`, `https` or `h2c`); the server's by default.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scheme: String,
    /// `http` (default) or `grpc` (the gRPC health checking protocol).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mode: String,
    /// Path of the probe (for `grpc`, the service name); `/` by default.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// HTTP method of the probe; `GET` by default.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub method: String,
    /// Status that counts as healthy; any 2xx or 3xx by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Port to probe instead of the server's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Time between probes of a healthy server (default 30s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<TraefikDuration>,
    /// Time between probes of an unhealthy server; `interval` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unhealthy_interval: Option<TraefikDuration>,
    /// Time a probe may take (default 5s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<TraefikDuration>,
    /// `Host` header of the probe.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hostname: String,
    /// Follow redirects (default `true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_redirects: Option<bool>,
    /// Extra request headers of the probe.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

/// `healthCheck: {}` on a weighted, mirroring or failover service: propagate the health of the
/// child services instead of probing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmptyHealthCheck {}

impl ServerHealthCheck {
    pub(crate) fn check(&self, obj: &Object, path: &str) -> Result<(), ModelError> {
        let at = |name: &str| field(path, name);
        if !matches!(self.scheme.as_str(), "" | "http" | "https" | "h2c") {
            return Err(obj.invalid(
                at("scheme"),
                format!("{:?} must be http, https or h2c", self.scheme),
            ));
        }
        if self.scheme == "https" {
            return Err(obj.invalid(at("scheme"), HTTPS_NOT_YET));
        }
        let grpc = match self.mode.as_str() {
            "" | "http" => false,
            "grpc" => true,
            other => return Err(obj.invalid(at("mode"), format!("{other:?} must be http or grpc"))),
        };
        if !grpc && !self.path.is_empty() && !self.path.starts_with('/') {
            return Err(obj.invalid(at("path"), format!("{:?} must start with \"/\"", self.path)));
        }
        if !self.method.is_empty() && !is_token(&self.method) {
            return Err(obj.invalid(
                at("method"),
                format!("{:?} is not an HTTP method", self.method),
            ));
        }
        if let Some(status) = self.status {
            obj.status_code(at("status"), i64::from(status))?;
        }
        if self.port == Some(0) {
            return Err(obj.invalid(at("port"), "must be between 1 and 65535"));
        }
        for (name, d) in [
            ("interval", &self.interval),
            ("unhealthyInterval", &self.unhealthy_interval),
            ("timeout", &self.timeout),
        ] {
            if d.as_ref().is_some_and(TraefikDuration::is_zero) {
                return Err(obj.invalid(at(name), "must be greater than zero"));
            }
        }
        if !self.hostname.is_empty() && self.hostname.parse::<IpAddr>().is_err() {
            if let Some(reason) = domain_problem(&self.hostname) {
                return Err(obj.invalid(at("hostname"), reason));
            }
        }
        for (name, value) in &self.headers {
            let key = at(&format!("headers[{name:?}]"));
            obj.header_name(&key, name)?;
            obj.header_value(&key, value)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Kind;

    fn check(json: &str) -> Result<(), String> {
        let hc: ServerHealthCheck = serde_json::from_str(json).expect("parses");
        hc.check(
            &Object::new(Kind::Service, "api"),
            "loadBalancer.healthCheck",
        )
        .map_err(|e| e.to_string())
    }

    #[test]
    fn accepts_valid_checks() {
        assert_eq!(check("{}"), Ok(()));
        assert_eq!(check(r#"{"mode":"grpc","path":"my.Service"}"#), Ok(()));
        assert_eq!(check(r#"{"hostname":"10.0.0.1","interval":5}"#), Ok(()));
    }

    #[test]
    fn reports_each_bad_field() {
        let cases = [
            (
                r#"{"scheme":"ftp"}"#,
                "scheme: \"ftp\" must be http, https or h2c",
            ),
            (r#"{"mode":"tcp"}"#, "mode: \"tcp\" must be http or grpc"),
            (
                r#"{"path":"health"}"#,
                "path: \"health\" must start with \"/\"",
            ),
            (
                r#"{"method":"GE T"}"#,
                "method: \"GE T\" is not an HTTP method",
            ),
            (
                r#"{"status":99}"#,
                "status: 99 is not an HTTP status code (100-599)",
            ),
            (r#"{"port":0}"#, "port: must be between 1 and 65535"),
            (
                r#"{"interval":"0s"}"#,
                "interval: must be greater than zero",
            ),
            (r#"{"timeout":0}"#, "timeout: must be greater than zero"),
            (
                r#"{"hostname":"a b"}"#,
                "hostname: \"a b\" is not a valid domain name",
            ),
            (
                r#"{"headers":{"X Y":"1"}}"#,
                "headers[\"X Y\"]: \"X Y\" is not a valid HTTP header name",
            ),
            (
                r#"{"headers":{"X":"a\nb"}}"#,
                "headers[\"X\"]: header values must not contain control characters",
            ),
        ];
        for (json, msg) in cases {
            assert_eq!(
                check(json),
                Err(format!("service \"api\": loadBalancer.healthCheck.{msg}")),
                "{json}"
            );
        }
    }

    #[test]
    fn invalid_durations_fail_to_parse() {
        let err = serde_json::from_str::<ServerHealthCheck>(r#"{"interval":"10x"}"#).unwrap_err();
        assert!(err.to_string().contains("invalid duration \"10x\""));
    }

    #[test]
    fn empty_health_check_is_an_empty_object() {
        let e: EmptyHealthCheck = serde_json::from_str("{}").expect("parses");
        assert_eq!(serde_json::to_string(&e).ok().as_deref(), Some("{}"));
        assert!(serde_json::from_str::<EmptyHealthCheck>(r#"{"path":"/"}"#).is_err());
    }
}
