//! What an active health check sends and expects, compiled from the model's
//! `loadBalancer.healthCheck` with Traefik's defaults filled in.

use std::time::Duration;

use http::header::{HeaderName, HeaderValue};
use http::uri::PathAndQuery;
use http::{HeaderMap, Method, StatusCode};
use raftgate_model::{ServerHealthCheck, TraefikDuration};
use thiserror::Error;

/// Time between probes of a healthy server when unset (Traefik's default).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
/// Time a probe may take when unset (Traefik's default).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// A health-check setting the node cannot run.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HealthCheckSpecError {
    /// `mode` is not `http` (gRPC health checks are not implemented yet).
    #[error("health check mode {0:?} is not supported (only http)")]
    Mode(String),
    /// `scheme` is not `http`, `https` or `h2c`.
    #[error("health check scheme {0:?} must be http, https or h2c")]
    Scheme(String),
    /// `path` is not an absolute path (with an optional query).
    #[error("health check path {0:?} is not an absolute path")]
    Path(String),
    /// `method` is not an HTTP method.
    #[error("health check method {0:?} is not an HTTP method")]
    Method(String),
    /// `status` is not an HTTP status code.
    #[error("health check status {0} is not an HTTP status code")]
    Status(u16),
    /// `port` is 0.
    #[error("health check port must be between 1 and 65535")]
    Port,
    /// `hostname` cannot be a `Host` header.
    #[error("health check hostname {0:?} is not a valid Host header")]
    Hostname(String),
    /// A header name or value is invalid.
    #[error("health check header {0:?} has an invalid name or value")]
    Header(String),
    /// A duration is zero.
    #[error("health check {0} must be greater than zero")]
    ZeroDuration(&'static str),
}

/// The scheme a probe is sent with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProbeScheme {
    /// HTTP/1.1 over TCP.
    Http,
    /// HTTP over TLS (not implemented yet: such checks are not run).
    Https,
    /// HTTP/2 over TCP with prior knowledge.
    H2c,
}

impl ProbeScheme {
    /// `http`, `https` or `h2c` (any ASCII case); `None` otherwise.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "http" => Some(ProbeScheme::Http),
            "https" => Some(ProbeScheme::Https),
            "h2c" => Some(ProbeScheme::H2c),
            _ => None,
        }
    }
}

/// How and how often one server is probed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheckSpec {
    /// Scheme of the probe; the server's when `None`.
    pub scheme: Option<ProbeScheme>,
    /// Path (and query) of the probe; `/` by default.
    pub path: PathAndQuery,
    /// Method of the probe; `GET` by default.
    pub method: Method,
    /// Port to probe instead of the server's.
    pub port: Option<u16>,
    /// `Host` header of the probe; the target's authority when `None`.
    pub hostname: Option<HeaderValue>,
    /// Extra request headers.
    pub headers: HeaderMap,
    /// Time between probes while the server is healthy (30s by default).
    pub interval: Duration,
    /// Time between probes while the server is unhealthy (`interval` by default).
    pub unhealthy_interval: Duration,
    /// Time a probe (redirects included) may take (5s by default).
    pub timeout: Duration,
    /// The status that counts as healthy; any 2xx or 3xx when `None`.
    pub status: Option<StatusCode>,
    /// Follow redirects (by default) and judge the final response.
    pub follow_redirects: bool,
}

impl Default for HealthCheckSpec {
    fn default() -> Self {
        HealthCheckSpec {
            scheme: None,
            path: PathAndQuery::from_static("/"),
            method: Method::GET,
            port: None,
            hostname: None,
            headers: HeaderMap::new(),
            interval: DEFAULT_INTERVAL,
            unhealthy_interval: DEFAULT_INTERVAL,
            timeout: DEFAULT_TIMEOUT,
            status: None,
            follow_redirects: true,
        }
    }
}

impl HealthCheckSpec {
    /// Compiles the model's health check, applying Traefik's defaults.
    pub fn from_config(cfg: &ServerHealthCheck) -> Result<Self, HealthCheckSpecError> {
        use HealthCheckSpecError as E;
        if !matches!(cfg.mode.as_str(), "" | "http") {
            return Err(E::Mode(cfg.mode.clone()));
        }
        let scheme = match cfg.scheme.as_str() {
            "" => None,
            s => Some(ProbeScheme::parse(s).ok_or_else(|| E::Scheme(s.to_string()))?),
        };
        let path = match cfg.path.as_str() {
            "" => PathAndQuery::from_static("/"),
            p if p.starts_with('/') => p.parse().map_err(|_| E::Path(p.to_string()))?,
            p => return Err(E::Path(p.to_string())),
        };
        let method = match cfg.method.as_str() {
            "" => Method::GET,
            m => Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                .map_err(|_| E::Method(m.to_string()))?,
        };
        let status = cfg
            .status
            .map(|s| StatusCode::from_u16(s).map_err(|_| E::Status(s)))
            .transpose()?;
        if cfg.port == Some(0) {
            return Err(E::Port);
        }
        let hostname = match cfg.hostname.as_str() {
            "" => None,
            h => Some(HeaderValue::from_str(h).map_err(|_| E::Hostname(h.to_string()))?),
        };
        let mut headers = HeaderMap::new();
        for (name, value) in &cfg.headers {
            let n = HeaderName::from_bytes(name.as_bytes()).map_err(|_| E::Header(name.clone()))?;
            let v = HeaderValue::from_str(value).map_err(|_| E::Header(name.clone()))?;
            headers.append(n, v);
        }
        let duration = |d: &Option<TraefikDuration>, default: Duration, name: &'static str| {
            let d = d.as_ref().map_or(default, TraefikDuration::as_duration);
            if d.is_zero() {
                Err(E::ZeroDuration(name))
            } else {
                Ok(d)
            }
        };
        let interval = duration(&cfg.interval, DEFAULT_INTERVAL, "interval")?;
        Ok(HealthCheckSpec {
            scheme,
            path,
            method,
            port: cfg.port,
            hostname,
            headers,
            interval,
            unhealthy_interval: duration(&cfg.unhealthy_interval, interval, "unhealthyInterval")?,
            timeout: duration(&cfg.timeout, DEFAULT_TIMEOUT, "timeout")?,
            status,
            follow_redirects: cfg.follow_redirects.unwrap_or(true),
        })
    }

    /// Whether `status` counts as healthy.
    pub fn accepts(&self, status: StatusCode) -> bool {
        match self.status {
            Some(want) => status == want,
            None => status.is_success() || status.is_redirection(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> Result<HealthCheckSpec, String> {
        let cfg: ServerHealthCheck = serde_json::from_str(json).expect("parses");
        HealthCheckSpec::from_config(&cfg).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_follow_traefik() {
        let s = spec("{}").expect("valid");
        assert_eq!(s, HealthCheckSpec::default());
        assert_eq!(s.interval, Duration::from_secs(30));
        assert_eq!(s.unhealthy_interval, Duration::from_secs(30));
        assert_eq!(s.timeout, Duration::from_secs(5));
        assert_eq!(s.path.as_str(), "/");
        assert_eq!(s.method, Method::GET);
        assert!(s.follow_redirects);
        assert!(s.accepts(StatusCode::OK) && s.accepts(StatusCode::FOUND));
        assert!(!s.accepts(StatusCode::NOT_FOUND) && !s.accepts(StatusCode::BAD_GATEWAY));
    }

    #[test]
    fn every_field_is_read() {
        let s = spec(
            r#"{"scheme":"h2c","path":"/health?full=1","method":"head","status":204,"port":8081,
                "interval":"10s","unhealthyInterval":"2s","timeout":"3s","hostname":"backend.local",
                "followRedirects":false,"headers":{"X-Probe":"1"}}"#,
        )
        .expect("valid");
        assert_eq!(s.scheme, Some(ProbeScheme::H2c));
        assert_eq!(s.path.as_str(), "/health?full=1");
        assert_eq!(s.method, Method::HEAD);
        assert_eq!(s.status, Some(StatusCode::NO_CONTENT));
        assert_eq!(s.port, Some(8081));
        assert_eq!(s.interval, Duration::from_secs(10));
        assert_eq!(s.unhealthy_interval, Duration::from_secs(2));
        assert_eq!(s.timeout, Duration::from_secs(3));
        assert_eq!(s.hostname, Some(HeaderValue::from_static("backend.local")));
        assert!(!s.follow_redirects);
        assert_eq!(
            s.headers.get("x-probe"),
            Some(&HeaderValue::from_static("1"))
        );
        assert!(s.accepts(StatusCode::NO_CONTENT) && !s.accepts(StatusCode::OK));
    }

    #[test]
    fn unhealthy_interval_defaults_to_interval() {
        let s = spec(r#"{"interval":"50ms"}"#).expect("valid");
        assert_eq!(s.unhealthy_interval, Duration::from_millis(50));
    }

    #[test]
    fn unsupported_or_invalid_settings_are_refused() {
        assert_eq!(
            spec(r#"{"mode":"grpc"}"#),
            Err("health check mode \"grpc\" is not supported (only http)".into())
        );
        assert_eq!(
            spec(r#"{"scheme":"ftp"}"#),
            Err("health check scheme \"ftp\" must be http, https or h2c".into())
        );
        assert_eq!(
            spec(r#"{"path":"health"}"#),
            Err("health check path \"health\" is not an absolute path".into())
        );
        assert_eq!(
            spec(r#"{"status":1000}"#),
            Err("health check status 1000 is not an HTTP status code".into())
        );
        assert_eq!(
            spec(r#"{"port":0}"#),
            Err("health check port must be between 1 and 65535".into())
        );
        assert_eq!(
            spec(r#"{"timeout":"0s"}"#),
            Err("health check timeout must be greater than zero".into())
        );
        assert!(spec(r#"{"method":"GE T"}"#).is_err());
        assert!(spec(r#"{"headers":{"X Y":"1"}}"#).is_err());
        assert!(spec(r#"{"hostname":"a\nb"}"#).is_err());
    }
}
