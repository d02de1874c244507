//! Servers transports: each one compiled into its own pooled upstream client, on top of the
//! node's defaults (the `--upstream-*` flags). A transport whose config is unchanged keeps
//! its client — and so its idle connections — across config revisions.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use raftgate_model::ServersTransport;

use super::upstream::{Upstream, UpstreamConfig};

/// The compiled transports of one revision, by name.
pub type TransportMap = HashMap<String, Arc<Upstream>>;

/// Compiles transports, remembering the previous revision's.
pub struct Transports {
    defaults: UpstreamConfig,
    cache: Mutex<HashMap<String, (ServersTransport, Arc<Upstream>)>>,
}

impl Transports {
    /// Transports built on `defaults`.
    pub fn new(defaults: UpstreamConfig) -> Self {
        Self {
            defaults,
            cache: Mutex::default(),
        }
    }

    /// The clients of `transports`, reusing those whose config did not change.
    pub fn compile<'a>(
        &self,
        transports: impl Iterator<Item = (&'a str, &'a ServersTransport)>,
    ) -> TransportMap {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let mut next = HashMap::new();
        for (name, transport) in transports {
            let client = match cache.remove(name) {
                Some((old, client)) if old == *transport => client,
                _ => Arc::new(Upstream::new(&settings(&self.defaults, transport))),
            };
            next.insert(name.to_string(), (transport.clone(), client));
        }
        let out = next
            .iter()
            .map(|(name, (_, client))| (name.clone(), client.clone()))
            .collect();
        *cache = next;
        out
    }
}

/// The upstream settings of a transport: its own values where set, the node's otherwise.
pub fn settings(defaults: &UpstreamConfig, transport: &ServersTransport) -> UpstreamConfig {
    let mut out = defaults.clone();
    match transport.max_idle_conns_per_host {
        Some(n) if n > 0 => out.max_idle_per_host = n as usize,
        Some(n) if n < 0 => out.max_idle_per_host = 0,
        _ => {}
    }
    if let Some(t) = &transport.forwarding_timeouts {
        if let Some(d) = &t.dial_timeout {
            out.dial_timeout = d.as_duration();
        }
        if let Some(d) = &t.response_header_timeout {
            out.response_timeout = (!d.is_zero()).then(|| d.as_duration());
        }
        if let Some(d) = &t.idle_conn_timeout {
            out.idle_timeout = d.as_duration();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn transport(json: &str) -> ServersTransport {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn set_fields_override_the_node_defaults() {
        let defaults = UpstreamConfig::default();
        let t = transport(
            r#"{"maxIdleConnsPerHost":-1,"forwardingTimeouts":{"dialTimeout":"2s","responseHeaderTimeout":"250ms"}}"#,
        );
        let s = settings(&defaults, &t);
        assert_eq!(s.max_idle_per_host, 0);
        assert_eq!(s.dial_timeout, Duration::from_secs(2));
        assert_eq!(s.response_timeout, Some(Duration::from_millis(250)));
        assert_eq!(s.idle_timeout, defaults.idle_timeout);
        let zero = transport(r#"{"forwardingTimeouts":{"responseHeaderTimeout":"0s"}}"#);
        assert_eq!(settings(&defaults, &zero).response_timeout, None);
    }

    #[test]
    fn unchanged_transports_keep_their_client() {
        let transports = Transports::new(UpstreamConfig::default());
        let (a, b) = (transport(r#"{"maxIdleConnsPerHost":3}"#), transport("{}"));
        let first = transports.compile([("a", &a), ("b", &b)].into_iter());
        let b2 = transport(r#"{"maxIdleConnsPerHost":4}"#);
        let second = transports.compile([("a", &a), ("b", &b2)].into_iter());
        assert!(Arc::ptr_eq(&first["a"], &second["a"]));
        assert!(!Arc::ptr_eq(&first["b"], &second["b"]));
        let third = transports.compile(std::iter::empty());
        assert!(third.is_empty());
    }
}
