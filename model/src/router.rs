//! Traefik v3 HTTP routers: which requests (the rule, the entry points) go to which service,
//! through which middlewares, with which TLS settings.

use serde::{Deserialize, Serialize};

use crate::checks::{domain_problem, field, Object};
use crate::name::name_problem;
use crate::rule::{self, Expr, RuleError};
use crate::{validate_name, Kind, ModelError};

/// A Traefik v3 HTTP router.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Router {
    /// The matching rule, in Traefik v3 syntax (see [`crate::rule`]).
    #[serde(default)]
    pub rule: String,
    /// Rule syntax version; only `"v3"` is accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_syntax: Option<String>,
    /// Priority among routers whose rules match; by default the rule's length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    /// Entry points the router listens on; all of them when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entry_points: Vec<String>,
    /// Middlewares applied in order, by name (an `@provider` suffix is allowed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub middlewares: Vec<String>,
    /// The service that answers matched requests (an `@provider` suffix is allowed).
    #[serde(default)]
    pub service: String,
    /// TLS termination for this router; present (even empty) means HTTPS only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<RouterTls>,
    /// Per-router access log, metrics and tracing switches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observability: Option<RouterObservability>,
}

/// TLS settings of a router.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RouterTls {
    /// Certificate resolver (ACME) that obtains certificates for this router's domains.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cert_resolver: String,
    /// Domains to request certificates for; by default those of the rule's `Host` matchers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<Domain>,
    /// Name of the TLS options to use.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub options: String,
}

/// A certificate's main domain and its subject alternative names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Domain {
    /// The main domain; may be a `*.` wildcard.
    #[serde(default)]
    pub main: String,
    /// Subject alternative names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sans: Vec<String>,
}

/// Observability switches of a router; unset means the entry point's default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RouterObservability {
    /// Write access log lines for this router.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_logs: Option<bool>,
    /// Record metrics for this router.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<bool>,
    /// Trace requests of this router.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<bool>,
    /// Tracing detail: `"minimal"` or `"detailed"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_verbosity: Option<String>,
}

/// Traefik's default priority: the rule's length, counted as Go's `len` counts it (in bytes;
/// the same as characters for the usual ASCII rule).
pub fn default_priority(rule: &str) -> i64 {
    i64::try_from(rule.len()).unwrap_or(i64::MAX)
}

/// Traefik's built-in service for routers whose middlewares answer every request (a
/// redirect, say): it answers 418 with an empty body, as Traefik's does.
pub const NOOP_SERVICE: &str = "noop@internal";

/// Router priorities accepted: Traefik's bound on 32-bit platforms (below `i32::MAX - 1000`,
/// the range Traefik keeps for its internal routers), negative values included (a catch-all
/// router below every default priority). `0`, or no priority, means "the rule's length", as in
/// Traefik.
pub const PRIORITY_RANGE: std::ops::RangeInclusive<i64> =
    -(i32::MAX as i64)..=(i32::MAX as i64 - 1000);

impl Router {
    /// The priority the router is ordered by: the one set, else (unset or `0`, as in Traefik)
    /// the rule's length in bytes.
    pub fn effective_priority(&self) -> i64 {
        match self.priority {
            Some(p) if p != 0 => p,
            _ => default_priority(&self.rule),
        }
    }

    /// Parses the router's rule.
    pub fn parsed_rule(&self) -> Result<Expr, RuleError> {
        rule::parse(&self.rule)
    }

    /// The objects this router refers to, as written (they may carry `@provider`): its
    /// middlewares, in order, then its service unless it is a built-in one
    /// ([`NOOP_SERVICE`]).
    pub fn references(&self) -> Vec<(Kind, &str)> {
        let service = (!self.uses_noop()).then_some((Kind::Service, self.service.as_str()));
        self.middlewares
            .iter()
            .map(|m| (Kind::Middleware, m.as_str()))
            .chain(service)
            .collect()
    }

    /// Whether the router's service is Traefik's built-in `noop@internal`.
    pub fn uses_noop(&self) -> bool {
        self.service == NOOP_SERVICE
    }

    /// Checks the router named `name` on its own: its name, rule syntax, entry point names,
    /// middleware and service references, and TLS domains. References are resolved by
    /// [`crate::DynamicConfig::check_references`].
    pub fn validate(&self, name: &str) -> Result<(), ModelError> {
        validate_name(Kind::Router, name)?;
        let obj = Object::new(Kind::Router, name);
        if let Some(syntax) = &self.rule_syntax {
            if syntax != "v3" {
                return Err(obj.invalid(
                    "ruleSyntax",
                    format!("{syntax:?} is not supported (only \"v3\")"),
                ));
            }
        }
        self.parsed_rule().map_err(|source| ModelError::Rule {
            router: name.to_string(),
            source,
        })?;
        if let Some(p) = self.priority {
            if !PRIORITY_RANGE.contains(&p) {
                return Err(obj.invalid(
                    "priority",
                    format!(
                        "{p} is outside {}..={} (0 means the rule's length)",
                        PRIORITY_RANGE.start(),
                        PRIORITY_RANGE.end()
                    ),
                ));
            }
        }
        for (i, ep) in self.entry_points.iter().enumerate() {
            if let Some(reason) = name_problem(ep) {
                return Err(obj.invalid(format!("entryPoints[{i}]"), format!("{ep:?}: {reason}")));
            }
        }
        for (i, mw) in self.middlewares.iter().enumerate() {
            obj.reference(format!("middlewares[{i}]"), mw)?;
        }
        obj.required("service", &self.service)?;
        obj.reference("service", &self.service)?;
        if self.service.ends_with("@internal") && !self.uses_noop() {
            return Err(obj.invalid(
                "service",
                format!(
                    "{:?}: the only built-in service raftgate has is {NOOP_SERVICE} (the API, \
                     dashboard and metrics are on the ops port)",
                    self.service
                ),
            ));
        }
        if let Some(tls) = &self.tls {
            tls.check(&obj, "tls")?;
        }
        if let Some(o) = &self.observability {
            if let Some(v) = &o.trace_verbosity {
                if v != "minimal" && v != "detailed" {
                    return Err(obj.invalid(
                        "observability.traceVerbosity",
                        format!("{v:?} must be \"minimal\" or \"detailed\""),
                    ));
                }
            }
        }
        Ok(())
    }
}

impl RouterTls {
    fn check(&self, obj: &Object, path: &str) -> Result<(), ModelError> {
        if !self.cert_resolver.is_empty() {
            if let Some(reason) = name_problem(&self.cert_resolver) {
                return Err(obj.invalid(field(path, "certResolver"), reason));
            }
        }
        if !self.options.is_empty() {
            obj.reference(field(path, "options"), &self.options)?;
        }
        for (i, d) in self.domains.iter().enumerate() {
            let at = field(path, &format!("domains[{i}]"));
            if let Some(reason) = domain_problem(&d.main) {
                return Err(obj.invalid(field(&at, "main"), reason));
            }
            for (j, san) in d.sans.iter().enumerate() {
                if let Some(reason) = domain_problem(san) {
                    return Err(obj.invalid(field(&at, &format!("sans[{j}]")), reason));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(json: &str) -> Router {
        serde_json::from_str(json).expect("router parses")
    }

    fn invalid(json: &str) -> String {
        router(json).validate("web").unwrap_err().to_string()
    }

    #[test]
    fn full_router_round_trips() {
        let json = r#"{"rule":"Host(`a.com`) && PathPrefix(`/api`)","ruleSyntax":"v3","priority":10,"entryPoints":["web","websecure"],"middlewares":["auth@file","strip"],"service":"api@file","tls":{"certResolver":"le","domains":[{"main":"a.com","sans":["*.a.com"]}],"options":"modern"},"observability":{"accessLogs":false,"metrics":true,"tracing":true,"traceVerbosity":"detailed"}}"#;
        let r = router(json);
        assert!(r.validate("web").is_ok());
        assert_eq!(serde_json::to_string(&r).ok().as_deref(), Some(json));
    }

    #[test]
    fn minimal_router_serializes_minimally() {
        let r = router(r#"{"rule":"Host(`a`)","service":"api","tls":{}}"#);
        assert_eq!(
            serde_json::to_string(&r).ok().as_deref(),
            Some(r#"{"rule":"Host(`a`)","service":"api","tls":{}}"#)
        );
        assert_eq!(r.tls, Some(RouterTls::default()));
    }

    #[test]
    fn yaml_round_trip() {
        let yaml = "rule: Path(`/`)\nentryPoints:\n- web\nservice: api\n";
        let r: Router = serde_yaml_ng::from_str(yaml).expect("yaml router");
        let out = serde_yaml_ng::to_string(&r).expect("serializes");
        assert_eq!(out, yaml);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = serde_json::from_str::<Router>(r#"{"rule":"Host(`a`)","service":"a","prio":1}"#)
            .unwrap_err();
        assert!(err.to_string().contains("unknown field `prio`"));
    }

    #[test]
    fn validation_errors() {
        assert_eq!(
            invalid(r#"{"rule":"Host(`a`) &&","service":"api"}"#),
            "router \"web\": rule: column 13: expected a matcher, `!` or `(`, found end of rule"
        );
        assert_eq!(
            invalid(r#"{"rule":"Host(`a`)","ruleSyntax":"v2","service":"api"}"#),
            "router \"web\": ruleSyntax: \"v2\" is not supported (only \"v3\")"
        );
        assert_eq!(
            invalid(r#"{"rule":"Host(`a`)"}"#),
            "router \"web\": service: is required"
        );
        assert_eq!(
            invalid(r#"{"rule":"Host(`a`)","service":"a b"}"#),
            "router \"web\": service: \"a b\": character ' ' at position 2 is not allowed (use A-Z, a-z, 0-9, '.', '_', '-')"
        );
        assert_eq!(
            invalid(r#"{"rule":"Host(`a`)","service":"a","middlewares":["ok",""]}"#),
            "router \"web\": middlewares[1]: must not be empty"
        );
        assert_eq!(
            invalid(r#"{"rule":"Host(`a`)","service":"a","entryPoints":["we b"]}"#),
            "router \"web\": entryPoints[0]: \"we b\": character ' ' at position 3 is not allowed (use A-Z, a-z, 0-9, '.', '_', '-')"
        );
        assert_eq!(
            invalid(r#"{"rule":"Host(`a`)","service":"a","tls":{"domains":[{"main":"a..com"}]}}"#),
            "router \"web\": tls.domains[0].main: \"a..com\" is not a valid domain name"
        );
        assert_eq!(
            invalid(
                r#"{"rule":"Host(`a`)","service":"a","tls":{"domains":[{"main":"a.com","sans":["b c"]}]}}"#
            ),
            "router \"web\": tls.domains[0].sans[0]: \"b c\" is not a valid domain name"
        );
        assert_eq!(
            invalid(r#"{"rule":"Host(`a`)","service":"a","observability":{"traceVerbosity":"max"}}"#),
            "router \"web\": observability.traceVerbosity: \"max\" must be \"minimal\" or \"detailed\""
        );
    }

    #[test]
    fn invalid_router_name() {
        let r = router(r#"{"rule":"Host(`a`)","service":"a"}"#);
        assert!(matches!(
            r.validate("-x"),
            Err(ModelError::InvalidName {
                kind: Kind::Router,
                ..
            })
        ));
    }

    #[test]
    fn rule_error_keeps_column() {
        let r = router(r#"{"rule":"Host(`a`) Path(`/`)","service":"a"}"#);
        match r.validate("web") {
            Err(ModelError::Rule { router, source }) => {
                assert_eq!(router, "web");
                assert_eq!(source.column, 11);
            }
            other => panic!("expected a rule error, got {other:?}"),
        }
    }
}
