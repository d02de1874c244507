//! Traefik v3 HTTP services: a load balancer over servers, or a weighted, mirroring or
//! failover service built from other services.

mod composite;
mod health_check;
mod load_balancer;
mod sticky;

pub use composite::{Failover, Mirror, Mirroring, Weighted, WeightedService};
pub use health_check::{EmptyHealthCheck, ServerHealthCheck};
pub use load_balancer::{LoadBalancer, ResponseForwarding, Server, Strategy};
pub use sticky::{Cookie, Sticky};

use serde::{Deserialize, Serialize};

use crate::checks::Object;
use crate::{validate_name, Kind, ModelError};

/// A Traefik v3 HTTP service: exactly one of the four fields is set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Service {
    /// Balances requests over a set of servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<LoadBalancer>,
    /// Splits requests between services by weight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weighted: Option<Weighted>,
    /// Sends requests to a main service and copies some of them to mirrors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirroring: Option<Mirroring>,
    /// Sends requests to a main service, or to a fallback while the main one is down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover: Option<Failover>,
}

/// A borrowed view of the one variant a valid [`Service`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceSpec<'a> {
    /// A load balancer over servers.
    LoadBalancer(&'a LoadBalancer),
    /// A weighted split between services.
    Weighted(&'a Weighted),
    /// A mirroring service.
    Mirroring(&'a Mirroring),
    /// A failover pair.
    Failover(&'a Failover),
}

impl Service {
    /// A load-balancer service over `urls`, each with the default weight.
    pub fn load_balancer<I, S>(urls: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Service {
            load_balancer: Some(LoadBalancer {
                servers: urls
                    .into_iter()
                    .map(|u| Server {
                        url: u.into(),
                        ..Server::default()
                    })
                    .collect(),
                ..LoadBalancer::default()
            }),
            ..Service::default()
        }
    }

    /// The variant this service holds, or `None` unless exactly one is set.
    pub fn spec(&self) -> Option<ServiceSpec<'_>> {
        let mut specs = self.specs();
        match (specs.next(), specs.next()) {
            (Some(spec), None) => Some(spec),
            _ => None,
        }
    }

    fn specs(&self) -> impl Iterator<Item = ServiceSpec<'_>> {
        [
            self.load_balancer.as_ref().map(ServiceSpec::LoadBalancer),
            self.weighted.as_ref().map(ServiceSpec::Weighted),
            self.mirroring.as_ref().map(ServiceSpec::Mirroring),
            self.failover.as_ref().map(ServiceSpec::Failover),
        ]
        .into_iter()
        .flatten()
    }

    /// The services this one sends requests to and its servers transport, as written (they
    /// may carry `@provider`).
    pub fn references(&self) -> Vec<(Kind, &str)> {
        let mut out = Vec::new();
        if let Some(w) = &self.weighted {
            out.extend(w.services.iter().map(|s| (Kind::Service, s.name.as_str())));
        }
        if let Some(m) = &self.mirroring {
            out.push((Kind::Service, m.service.as_str()));
            out.extend(m.mirrors.iter().map(|s| (Kind::Service, s.name.as_str())));
        }
        if let Some(f) = &self.failover {
            out.push((Kind::Service, f.service.as_str()));
            out.push((Kind::Service, f.fallback.as_str()));
        }
        if let Some(lb) = &self.load_balancer {
            if !lb.servers_transport.is_empty() {
                out.push((Kind::ServersTransport, lb.servers_transport.as_str()));
            }
        }
        out
    }

    /// Checks the service named `name` on its own: exactly one variant, server URLs, durations,
    /// percentages, reference names. References are resolved by
    /// [`crate::DynamicConfig::check_references`].
    pub fn validate(&self, name: &str) -> Result<(), ModelError> {
        validate_name(Kind::Service, name)?;
        let obj = Object::new(Kind::Service, name);
        let set: Vec<&str> = self.specs().map(spec_key).collect();
        match set.as_slice() {
            [_] => {}
            [] => {
                return Err(obj.invalid(
                    "",
                    "one of loadBalancer, weighted, mirroring or failover is required",
                ))
            }
            several => {
                return Err(obj.invalid(
                    "",
                    format!(
                        "only one of loadBalancer, weighted, mirroring or failover may be set, found {}",
                        several.join(" and ")
                    ),
                ))
            }
        }
        match self.spec() {
            Some(ServiceSpec::LoadBalancer(lb)) => lb.check(&obj, "loadBalancer"),
            Some(ServiceSpec::Weighted(w)) => w.check(&obj, "weighted"),
            Some(ServiceSpec::Mirroring(m)) => m.check(&obj, "mirroring"),
            Some(ServiceSpec::Failover(f)) => f.check(&obj, "failover"),
            None => Ok(()),
        }?;
        if self
            .references()
            .iter()
            .any(|(_, r)| crate::strip_provider(r) == name)
        {
            return Err(obj.invalid(
                spec_key_of(self),
                format!("service {name:?} refers to itself"),
            ));
        }
        Ok(())
    }
}

/// The Traefik key of a variant.
fn spec_key(spec: ServiceSpec<'_>) -> &'static str {
    match spec {
        ServiceSpec::LoadBalancer(_) => "loadBalancer",
        ServiceSpec::Weighted(_) => "weighted",
        ServiceSpec::Mirroring(_) => "mirroring",
        ServiceSpec::Failover(_) => "failover",
    }
}

/// The Traefik key of the service's variant, or `""`.
fn spec_key_of(service: &Service) -> &'static str {
    service.spec().map(spec_key).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(json: &str) -> Service {
        serde_json::from_str(json).expect("service parses")
    }

    fn invalid(json: &str) -> String {
        service(json).validate("api").unwrap_err().to_string()
    }

    #[test]
    fn exactly_one_variant() {
        assert_eq!(
            invalid("{}"),
            "service \"api\": one of loadBalancer, weighted, mirroring or failover is required"
        );
        assert_eq!(
            invalid(r#"{"loadBalancer":{"servers":[{"url":"http://a"}]},"weighted":{"services":[{"name":"b"}]}}"#),
            "service \"api\": only one of loadBalancer, weighted, mirroring or failover may be set, found loadBalancer and weighted"
        );
        assert!(service(r#"{"loadBalancer":{},"failover":{}}"#)
            .spec()
            .is_none());
    }

    #[test]
    fn self_reference_is_refused() {
        assert_eq!(
            invalid(r#"{"failover":{"service":"api@file","fallback":"b"}}"#),
            "service \"api\": failover: service \"api\" refers to itself"
        );
    }

    #[test]
    fn references_lists_every_target() {
        let s = service(
            r#"{"mirroring":{"service":"main","mirrors":[{"name":"m1","percent":10},{"name":"m2@file"}]}}"#,
        );
        assert_eq!(
            s.references(),
            vec![
                (Kind::Service, "main"),
                (Kind::Service, "m1"),
                (Kind::Service, "m2@file")
            ]
        );
        assert!(Service::load_balancer(["http://a"]).references().is_empty());
    }

    #[test]
    fn constructor_builds_valid_load_balancer() {
        let s = Service::load_balancer(["http://10.0.0.1:80", "h2c://b.example"]);
        assert!(s.validate("api").is_ok());
        assert!(matches!(s.spec(), Some(ServiceSpec::LoadBalancer(lb)) if lb.servers.len() == 2));
        assert_eq!(
            serde_json::to_string(&s).ok().as_deref(),
            Some(
                r#"{"loadBalancer":{"servers":[{"url":"http://10.0.0.1:80"},{"url":"h2c://b.example"}]}}"#
            )
        );
    }

    #[test]
    fn invalid_service_name() {
        let s = Service::load_balancer(["http://a"]);
        assert!(matches!(
            s.validate(""),
            Err(ModelError::InvalidName { .. })
        ));
    }
}
