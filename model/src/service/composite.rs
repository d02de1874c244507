//! Services built from other services: weighted splits, mirroring and failover.

use serde::{Deserialize, Serialize};

use super::{EmptyHealthCheck, Sticky};
use crate::checks::{field, Object};
use crate::ModelError;

/// Splits requests between services in proportion to their weights.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Weighted {
    /// The services and their weights.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<WeightedService>,
    /// Session affinity by cookie.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sticky: Option<Sticky>,
    /// Follow the health of the child services.
    #[serde(
        default,
        alias = "healthcheck",
        skip_serializing_if = "Option::is_none"
    )]
    pub health_check: Option<EmptyHealthCheck>,
}

/// One service of a weighted split.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WeightedService {
    /// Name of the service (an `@provider` suffix is allowed).
    #[serde(default)]
    pub name: String,
    /// Relative weight; 1 when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
}

/// Sends requests to a main service and copies a share of them to mirror services.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Mirroring {
    /// The service whose responses are returned.
    #[serde(default)]
    pub service: String,
    /// Copy request bodies to mirrors (default `true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror_body: Option<bool>,
    /// Largest body copied to mirrors, in bytes; -1 (default) for no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_body_size: Option<i64>,
    /// The mirrors and the share of requests each receives.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mirrors: Vec<Mirror>,
    /// Follow the health of the main service.
    #[serde(
        default,
        alias = "healthcheck",
        skip_serializing_if = "Option::is_none"
    )]
    pub health_check: Option<EmptyHealthCheck>,
}

/// One mirror of a mirroring service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Mirror {
    /// Name of the mirror service (an `@provider` suffix is allowed).
    #[serde(default)]
    pub name: String,
    /// Percentage of requests copied to it, 0 to 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<u32>,
}

/// Sends requests to a main service, or to the fallback while the main one is unhealthy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Failover {
    /// The main service.
    #[serde(default)]
    pub service: String,
    /// The service used while the main one is down.
    #[serde(default)]
    pub fallback: String,
    /// Follow the health of the child services.
    #[serde(
        default,
        alias = "healthcheck",
        skip_serializing_if = "Option::is_none"
    )]
    pub health_check: Option<EmptyHealthCheck>,
}

impl Weighted {
    pub(crate) fn check(&self, obj: &Object, path: &str) -> Result<(), ModelError> {
        if self.services.is_empty() {
            return Err(obj.invalid(field(path, "services"), "at least one service is required"));
        }
        for (i, s) in self.services.iter().enumerate() {
            let at = field(path, &format!("services[{i}].name"));
            obj.required(&at, &s.name)?;
            obj.reference(&at, &s.name)?;
        }
        if let Some(sticky) = &self.sticky {
            sticky.check(obj, &field(path, "sticky"))?;
        }
        Ok(())
    }
}

impl Mirroring {
    pub(crate) fn check(&self, obj: &Object, path: &str) -> Result<(), ModelError> {
        let at = field(path, "service");
        obj.required(&at, &self.service)?;
        obj.reference(&at, &self.service)?;
        if let Some(size) = self.max_body_size {
            obj.size_limit(field(path, "maxBodySize"), size)?;
        }
        for (i, m) in self.mirrors.iter().enumerate() {
            let at = field(path, &format!("mirrors[{i}]"));
            obj.required(field(&at, "name"), &m.name)?;
            obj.reference(field(&at, "name"), &m.name)?;
            if let Some(p) = m.percent.filter(|p| *p > 100) {
                return Err(obj.invalid(
                    field(&at, "percent"),
                    format!("{p} is not a percentage (0-100)"),
                ));
            }
        }
        Ok(())
    }
}

impl Failover {
    pub(crate) fn check(&self, obj: &Object, path: &str) -> Result<(), ModelError> {
        for (name, value) in [("service", &self.service), ("fallback", &self.fallback)] {
            let at = field(path, name);
            obj.required(&at, value)?;
            obj.reference(&at, value)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::Service;

    fn validate(json: &str) -> Result<(), String> {
        let s: Service = serde_json::from_str(json).expect("parses");
        s.validate("svc").map_err(|e| e.to_string())
    }

    #[test]
    fn round_trips() {
        for json in [
            r#"{"weighted":{"services":[{"name":"a","weight":3},{"name":"b@file"}],"sticky":{"cookie":{"name":"w"}},"healthCheck":{}}}"#,
            r#"{"mirroring":{"service":"main","mirrorBody":false,"maxBodySize":1024,"mirrors":[{"name":"m","percent":10}],"healthCheck":{}}}"#,
            r#"{"failover":{"service":"main","fallback":"backup","healthCheck":{}}}"#,
        ] {
            let s: Service = serde_json::from_str(json).expect("parses");
            assert_eq!(validate(json), Ok(()));
            assert_eq!(serde_json::to_string(&s).ok().as_deref(), Some(json));
        }
    }

    #[test]
    fn weighted_errors() {
        assert_eq!(
            validate(r#"{"weighted":{}}"#),
            Err("service \"svc\": weighted.services: at least one service is required".into())
        );
        assert_eq!(
            validate(r#"{"weighted":{"services":[{"weight":1}]}}"#),
            Err("service \"svc\": weighted.services[0].name: is required".into())
        );
    }

    #[test]
    fn mirroring_errors() {
        assert_eq!(
            validate(r#"{"mirroring":{"mirrors":[]}}"#),
            Err("service \"svc\": mirroring.service: is required".into())
        );
        assert_eq!(
            validate(r#"{"mirroring":{"service":"a","mirrors":[{"name":"m","percent":101}]}}"#),
            Err(
                "service \"svc\": mirroring.mirrors[0].percent: 101 is not a percentage (0-100)"
                    .into()
            )
        );
        assert_eq!(
            validate(r#"{"mirroring":{"service":"a","maxBodySize":-2}}"#),
            Err("service \"svc\": mirroring.maxBodySize: -2 is not a size (use -1 for no limit, or 0 and above)".into())
        );
    }

    #[test]
    fn failover_errors() {
        assert_eq!(
            validate(r#"{"failover":{"service":"a"}}"#),
            Err("service \"svc\": failover.fallback: is required".into())
        );
    }
}
