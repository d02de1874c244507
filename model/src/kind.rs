//! The kinds of config object raftgate stores: routers, services, middlewares and servers
//! transports.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ModelError;

/// The kind of a config object. Objects are unique by `(Kind, name)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// An HTTP router: a rule that selects requests and the service that answers them.
    Router,
    /// An HTTP service: where matched requests are sent.
    Service,
    /// An HTTP middleware: a request or response transformation.
    Middleware,
    /// How a load balancer reaches its servers (Traefik's `serversTransport`).
    #[serde(rename = "serversTransport")]
    ServersTransport,
}

impl Kind {
    /// All kinds, in their canonical order.
    pub const ALL: [Kind; 4] = [
        Kind::Router,
        Kind::Service,
        Kind::Middleware,
        Kind::ServersTransport,
    ];

    /// The singular lowercase name: `"router"`, `"service"` or `"middleware"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Router => "router",
            Kind::Service => "service",
            Kind::Middleware => "middleware",
            Kind::ServersTransport => "serversTransport",
        }
    }

    /// The plural lowercase name, as used in Traefik's dynamic configuration (`"routers"`, …).
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Router => "routers",
            Kind::Service => "services",
            Kind::Middleware => "middlewares",
            Kind::ServersTransport => "serversTransports",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = ModelError;

    /// Accepts the singular or plural name, in any ASCII case (`"router"`, `"Routers"`, …).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|k| s.eq_ignore_ascii_case(k.as_str()) || s.eq_ignore_ascii_case(k.plural()))
            .ok_or_else(|| ModelError::UnknownKind(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_singular_and_plural() {
        assert_eq!("router".parse::<Kind>().ok(), Some(Kind::Router));
        assert_eq!("routers".parse::<Kind>().ok(), Some(Kind::Router));
        assert_eq!("Services".parse::<Kind>().ok(), Some(Kind::Service));
        assert_eq!("middleware".parse::<Kind>().ok(), Some(Kind::Middleware));
        assert_eq!("middlewares".parse::<Kind>().ok(), Some(Kind::Middleware));
    }

    #[test]
    fn rejects_unknown_kind() {
        let err = "cert".parse::<Kind>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown kind \"cert\" (expected router, service or middleware)"
        );
    }

    #[test]
    fn displays_and_serializes_lowercase() {
        assert_eq!(Kind::Middleware.to_string(), "middleware");
        assert_eq!(
            serde_json::to_string(&Kind::Service).ok().as_deref(),
            Some("\"service\"")
        );
        let k: Kind = serde_json::from_str("\"router\"").expect("valid kind");
        assert_eq!(k, Kind::Router);
        let k: Kind = serde_json::from_str("\"serversTransport\"").expect("valid kind");
        assert_eq!(k, Kind::ServersTransport);
        assert_eq!(
            "ServersTransports".parse::<Kind>().ok(),
            Some(Kind::ServersTransport)
        );
    }

    #[test]
    fn orders_router_service_middleware() {
        let mut kinds = vec![
            Kind::ServersTransport,
            Kind::Middleware,
            Kind::Router,
            Kind::Service,
        ];
        kinds.sort();
        assert_eq!(kinds, Kind::ALL);
    }
}
