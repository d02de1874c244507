//! `serversTransport`: how a load balancer reaches its servers — idle connections kept per
//! server and the forwarding timeouts. Referenced by name from a load balancer's
//! `serversTransport`; load balancers without one use the node's defaults (its
//! `--upstream-*` flags).
//!
//! The TLS fields of Traefik's schema (`serverName`, `insecureSkipVerify`, `rootCAs`,
//! `certificates`, `peerCertURI`, `spiffe`) are parsed so Traefik files read, but refused when set: they
//! only matter for HTTPS servers, which come with the TLS issue. `disableHTTP2` is accepted; it
//! has no effect on `http://` servers (`h2c://` URLs choose HTTP/2 explicitly).

use serde::{Deserialize, Serialize};

use crate::checks::Object;
use crate::serde_util::is_false;
use crate::{validate_name, Kind, ModelError, TraefikDuration};

/// A named set of upstream connection settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServersTransport {
    /// Idle keep-alive connections kept per server: 0 or unset means the node's default,
    /// a negative value keeps none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_idle_conns_per_host: Option<i64>,
    /// Dial, response-header and idle timeouts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarding_timeouts: Option<ForwardingTimeouts>,
    /// Disables HTTP/2 towards HTTPS servers (no effect on `http://` servers).
    #[serde(default, rename = "disableHTTP2", skip_serializing_if = "is_false")]
    pub disable_http2: bool,
    /// TLS server name (HTTPS servers; not supported yet).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub server_name: String,
    /// Skip verifying server certificates (HTTPS servers; not supported yet).
    #[serde(default, skip_serializing_if = "is_false")]
    pub insecure_skip_verify: bool,
    /// CA files trusted for server certificates (HTTPS servers; not supported yet).
    #[serde(default, rename = "rootCAs", skip_serializing_if = "Vec::is_empty")]
    pub root_cas: Vec<String>,
    /// Client certificates (HTTPS servers; not supported yet).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<CertificateFiles>,
    /// Expected URI SAN of server certificates (HTTPS servers; not supported yet).
    #[serde(
        default,
        rename = "peerCertURI",
        skip_serializing_if = "String::is_empty"
    )]
    pub peer_cert_uri: String,
    /// SPIFFE identities of HTTPS servers (`ids`, `trustDomain`; not supported yet): kept as
    /// written so the file reads, refused when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spiffe: Option<serde_json::Value>,
}

/// A certificate and its key, as files.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CertificateFiles {
    /// The certificate file.
    #[serde(default)]
    pub cert_file: String,
    /// The key file.
    #[serde(default)]
    pub key_file: String,
}

/// Timeouts of forwarding to a server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForwardingTimeouts {
    /// Time allowed to connect (Traefik's default 30s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dial_timeout: Option<TraefikDuration>,
    /// Time allowed for the response headers once the request is sent (0: unbounded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_header_timeout: Option<TraefikDuration>,
    /// How long an idle keep-alive connection is kept (Traefik's default 90s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_conn_timeout: Option<TraefikDuration>,
    /// HTTP/2 health ping after this much read inactivity (accepted, not used yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_idle_timeout: Option<TraefikDuration>,
    /// HTTP/2 ping answer timeout (accepted, not used yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ping_timeout: Option<TraefikDuration>,
}

impl ServersTransport {
    /// Checks the transport named `name`.
    pub fn validate(&self, name: &str) -> Result<(), ModelError> {
        validate_name(Kind::ServersTransport, name)?;
        let obj = Object::new(Kind::ServersTransport, name);
        let tls_fields = [
            ("serverName", !self.server_name.is_empty()),
            ("insecureSkipVerify", self.insecure_skip_verify),
            ("rootCAs", !self.root_cas.is_empty()),
            ("certificates", !self.certificates.is_empty()),
            ("peerCertURI", !self.peer_cert_uri.is_empty()),
            ("spiffe", self.spiffe.is_some()),
        ];
        if let Some((field, _)) = tls_fields.iter().find(|(_, set)| *set) {
            return Err(obj.invalid(
                field,
                "not yet supported: it only applies to HTTPS servers, which come with TLS support",
            ));
        }
        if let Some(t) = &self.forwarding_timeouts {
            if t.dial_timeout
                .as_ref()
                .is_some_and(TraefikDuration::is_zero)
            {
                return Err(obj.invalid(
                    "forwardingTimeouts.dialTimeout",
                    "must be greater than zero",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<ServersTransport, String> {
        let t: ServersTransport = serde_json::from_str(json).map_err(|e| e.to_string())?;
        t.validate("t").map_err(|e| e.to_string())?;
        Ok(t)
    }

    #[test]
    fn timeouts_and_idle_connections_round_trip() {
        let json = r#"{"maxIdleConnsPerHost":7,"forwardingTimeouts":{"dialTimeout":"2s","responseHeaderTimeout":"1500ms","idleConnTimeout":"42s"}}"#;
        let t = parse(json).unwrap();
        assert_eq!(t.max_idle_conns_per_host, Some(7));
        let timeouts = t.forwarding_timeouts.as_ref().unwrap();
        assert_eq!(
            timeouts
                .response_header_timeout
                .as_ref()
                .unwrap()
                .as_duration(),
            std::time::Duration::from_millis(1500)
        );
        assert_eq!(serde_json::to_string(&t).unwrap(), json);
    }

    #[test]
    fn tls_settings_and_bad_values_are_refused() {
        let e = parse(r#"{"insecureSkipVerify":true}"#).unwrap_err();
        assert!(e.contains("insecureSkipVerify: not yet supported"), "{e}");
        let e = parse(r#"{"spiffe":{"ids":["spiffe://d/x"],"trustDomain":"d"}}"#).unwrap_err();
        assert!(e.contains("spiffe: not yet supported"), "{e}");
        let e = parse(r#"{"forwardingTimeouts":{"dialTimeout":"0s"}}"#).unwrap_err();
        assert!(e.contains("dialTimeout: must be greater than zero"), "{e}");
        let e = parse(r#"{"maxIdleConns":3}"#).unwrap_err();
        assert!(e.contains("unknown field `maxIdleConns`"), "{e}");
    }
}
