//! The load-balancer service: servers, balancing strategy, stickiness, active health checks
//! and forwarding options.

use serde::{Deserialize, Serialize};

use super::{ServerHealthCheck, Sticky};
use crate::checks::{field, https_not_yet, url_problem, Object};
use crate::serde_util::is_false;
use crate::{ModelError, TraefikDuration};

/// Schemes a server URL may use.
const SERVER_SCHEMES: &[&str] = &["http", "https", "h2c"];

/// Balances requests over a set of servers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoadBalancer {
    /// The upstream servers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub servers: Vec<Server>,
    /// How a server is picked; weighted round robin by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Strategy>,
    /// Session affinity by cookie.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sticky: Option<Sticky>,
    /// Active health checking of the servers.
    #[serde(
        default,
        alias = "healthcheck",
        skip_serializing_if = "Option::is_none"
    )]
    pub health_check: Option<ServerHealthCheck>,
    /// Forward the client's `Host` header (default `true`) instead of the server's host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pass_host_header: Option<bool>,
    /// How responses are streamed back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_forwarding: Option<ResponseForwarding>,
    /// Name of the servers transport (upstream TLS and timeouts) to use.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub servers_transport: String,
}

/// One upstream server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Server {
    /// Absolute `http`, `https` or `h2c` URL of the server.
    #[serde(default)]
    pub url: String,
    /// Relative weight for weighted strategies; 1 when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
    /// Keep the path of `url` in front of the request path.
    #[serde(default, skip_serializing_if = "is_false")]
    pub preserve_path: bool,
}

/// How the load balancer picks a server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Weighted round robin.
    #[default]
    Wrr,
    /// Power of two random choices, by fewest in-flight requests.
    P2c,
}

/// Response streaming options.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResponseForwarding {
    /// Interval between flushes of the response body to the client (default 100ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flush_interval: Option<TraefikDuration>,
}

impl LoadBalancer {
    /// Whether the client's `Host` header is passed to servers (Traefik's default: yes).
    pub fn passes_host_header(&self) -> bool {
        self.pass_host_header.unwrap_or(true)
    }

    /// The strategy, with its default applied.
    pub fn strategy(&self) -> Strategy {
        self.strategy.unwrap_or_default()
    }

    pub(crate) fn check(&self, obj: &Object, path: &str) -> Result<(), ModelError> {
        for (i, server) in self.servers.iter().enumerate() {
            let at = field(path, &format!("servers[{i}].url"));
            obj.required(&at, &server.url)?;
            if let Some(reason) = url_problem(&server.url, SERVER_SCHEMES) {
                return Err(obj.invalid(at, reason));
            }
            if let Some(reason) = https_not_yet(&server.url) {
                return Err(obj.invalid(at, reason));
            }
        }
        if let Some(sticky) = &self.sticky {
            sticky.check(obj, &field(path, "sticky"))?;
        }
        if let Some(hc) = &self.health_check {
            hc.check(obj, &field(path, "healthCheck"))?;
        }
        if !self.servers_transport.is_empty() {
            obj.reference(field(path, "serversTransport"), &self.servers_transport)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Service;

    fn invalid(json: &str) -> String {
        let s: Service = serde_json::from_str(json).expect("service parses");
        s.validate("api").unwrap_err().to_string()
    }

    #[test]
    fn full_load_balancer_round_trips() {
        let json = r#"{"loadBalancer":{"servers":[{"url":"http://10.0.0.1:8080","weight":3,"preservePath":true},{"url":"h2c://grpc:50051","weight":0}],"strategy":"p2c","sticky":{"cookie":{"name":"lb","secure":true,"httpOnly":true,"sameSite":"lax","maxAge":3600,"path":"/","domain":"example.com"}},"healthCheck":{"scheme":"h2c","mode":"http","path":"/health","method":"HEAD","status":204,"port":8081,"interval":"10s","unhealthyInterval":"2s","timeout":"3s","hostname":"backend.local","followRedirects":false,"headers":{"X-Probe":"1"}},"passHostHeader":false,"responseForwarding":{"flushInterval":"150ms"},"serversTransport":"tls@file"}}"#;
        let s: Service = serde_json::from_str(json).expect("parses");
        assert!(s.validate("api").is_ok(), "{:?}", s.validate("api"));
        assert_eq!(serde_json::to_string(&s).ok().as_deref(), Some(json));
        let lb = s.load_balancer.as_ref().expect("load balancer");
        assert_eq!(lb.strategy(), Strategy::P2c);
        assert!(!lb.passes_host_header());
    }

    #[test]
    fn defaults() {
        let lb = LoadBalancer::default();
        assert_eq!(lb.strategy(), Strategy::Wrr);
        assert!(lb.passes_host_header());
    }

    #[test]
    fn lowercase_healthcheck_alias() {
        let s: Service = serde_json::from_str(
            r#"{"loadBalancer":{"servers":[{"url":"http://a"}],"healthcheck":{"path":"/h"}}}"#,
        )
        .expect("alias parses");
        let out = serde_json::to_string(&s).expect("serializes");
        assert!(out.contains("\"healthCheck\""));
    }

    #[test]
    fn https_is_refused_until_tls_lands() {
        let err = invalid(r#"{"loadBalancer":{"servers":[{"url":"https://a.example"}]}}"#);
        assert!(
            err.starts_with("service \"api\": loadBalancer.servers[0].url: \"https://a.example\": https is not supported yet"),
            "{err}"
        );
        let err = invalid(
            r#"{"loadBalancer":{"servers":[{"url":"http://a"}],"healthCheck":{"scheme":"https"}}}"#,
        );
        assert!(
            err.starts_with(
                "service \"api\": loadBalancer.healthCheck.scheme: https is not supported yet"
            ),
            "{err}"
        );
    }

    #[test]
    fn server_url_errors() {
        assert_eq!(
            invalid(r#"{"loadBalancer":{"servers":[{"url":"http://a"},{"url":"/x"}]}}"#),
            "service \"api\": loadBalancer.servers[1].url: \"/x\" is not an absolute URL: relative URL without a base"
        );
        assert_eq!(
            invalid(r#"{"loadBalancer":{"servers":[{"url":"ftp://a"}]}}"#),
            "service \"api\": loadBalancer.servers[0].url: \"ftp://a\": scheme must be http, https or h2c, not \"ftp\""
        );
        assert_eq!(
            invalid(r#"{"loadBalancer":{"servers":[{}]}}"#),
            "service \"api\": loadBalancer.servers[0].url: is required"
        );
        assert_eq!(
            invalid(r#"{"loadBalancer":{"servers":[{"url":"h2c:backend"}]}}"#),
            "service \"api\": loadBalancer.servers[0].url: \"h2c:backend\" has no host"
        );
    }

    #[test]
    fn unknown_strategy_and_negative_weight_fail_to_parse() {
        let err = serde_json::from_str::<Service>(r#"{"loadBalancer":{"strategy":"random"}}"#)
            .unwrap_err();
        assert!(err.to_string().contains("unknown variant `random`"));
        let err = serde_json::from_str::<Service>(
            r#"{"loadBalancer":{"servers":[{"url":"http://a","weight":-1}]}}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("invalid value: integer `-1`"));
    }

    #[test]
    fn servers_transport_reference() {
        assert_eq!(
            invalid(r#"{"loadBalancer":{"servers":[{"url":"http://a"}],"serversTransport":"x@"}}"#),
            "service \"api\": loadBalancer.serversTransport: \"x@\": provider after '@' must be a non-empty word of [A-Za-z0-9_-]"
        );
    }
}
