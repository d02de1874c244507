//! Which address is the client's: Traefik's `ipStrategy`.
//!
//! - no `depth` and no `excludedIPs`: the TCP peer's address;
//! - `depth: n`: the `n`th address from the right of `X-Forwarded-For` (1 is the rightmost);
//!   none when the header has fewer entries;
//! - `excludedIPs`: the rightmost `X-Forwarded-For` address not within these ranges; none when
//!   every entry is excluded. With a `depth` too, depth wins and the exclusions are ignored,
//!   as in Traefik.
//!
//! `ipv6Subnet` then replaces an IPv6 address by its network address of that prefix length,
//! so a whole subnet counts as one client. An entry that is not an IP address yields no client
//! (Traefik hands on the raw text, which its IP checks then refuse); IPv4-mapped IPv6
//! addresses are taken as IPv4. The proxy joins every incoming `X-Forwarded-For` line into one
//! before the chain runs, so all lines count.

use std::net::IpAddr;

use http::{HeaderMap, HeaderName};
use ipnet::{IpNet, Ipv6Net};

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// A compiled `ipStrategy`.
#[derive(Debug, Clone)]
pub struct IpStrategy {
    pick: Pick,
    ipv6_subnet: Option<u8>,
}

#[derive(Debug, Clone)]
enum Pick {
    Peer,
    Depth(usize),
    Excluding(Vec<IpNet>),
}

/// Parses an IP address or CIDR range into a network.
pub fn parse_net(value: &str) -> Result<IpNet, String> {
    let value = value.trim();
    match value.parse::<IpAddr>() {
        Ok(ip) => Ok(IpNet::from(ip)),
        Err(_) => value
            .parse::<IpNet>()
            .map_err(|_| format!("{value:?} is neither an IP address nor a CIDR range")),
    }
}

impl IpStrategy {
    /// Compiles `config`; `None` is the peer-address strategy.
    pub fn new(config: Option<&raftgate_model::IpStrategy>) -> Result<Self, String> {
        let Some(c) = config else {
            return Ok(Self {
                pick: Pick::Peer,
                ipv6_subnet: None,
            });
        };
        let pick = match c.depth.filter(|d| *d > 0) {
            Some(d) => Pick::Depth(d as usize),
            None if !c.excluded_ips.is_empty() => Pick::Excluding(
                c.excluded_ips
                    .iter()
                    .map(|s| parse_net(s))
                    .collect::<Result<_, _>>()?,
            ),
            None => Pick::Peer,
        };
        let ipv6_subnet = match c.ipv6_subnet {
            Some(bits) if bits <= 128 => Some(bits as u8),
            Some(bits) => return Err(format!("ipv6Subnet {bits} is above 128")),
            None => None,
        };
        Ok(Self { pick, ipv6_subnet })
    }

    /// The client's address for a request with `headers` from `peer`, if the strategy finds one.
    pub fn client_ip(&self, headers: &HeaderMap, peer: IpAddr) -> Option<IpAddr> {
        let ip = match &self.pick {
            Pick::Peer => peer,
            Pick::Depth(depth) => {
                let entries = forwarded_for(headers);
                let i = entries.len().checked_sub(*depth)?;
                entries[i].parse().ok()?
            }
            Pick::Excluding(excluded) => {
                let entries = forwarded_for(headers);
                let found = entries.iter().rev().find(|e| {
                    e.parse::<IpAddr>()
                        .map(|ip| !excluded.iter().any(|n| n.contains(&ip.to_canonical())))
                        .unwrap_or(true)
                })?;
                found.parse().ok()?
            }
        };
        let ip = ip.to_canonical();
        Some(match (ip, self.ipv6_subnet) {
            (IpAddr::V6(v6), Some(bits)) => Ipv6Net::new(v6, bits)
                .map(|n| IpAddr::V6(n.network()))
                .unwrap_or(ip),
            _ => ip,
        })
    }
}

/// The entries of the `X-Forwarded-For` header(s), left to right, trimmed, empty ones dropped.
fn forwarded_for(headers: &HeaderMap) -> Vec<&str> {
    headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn strategy(json: serde_json::Value) -> IpStrategy {
        IpStrategy::new(Some(&serde_json::from_value(json).unwrap())).unwrap()
    }

    fn xff(v: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(X_FORWARDED_FOR, HeaderValue::from_static(v));
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn depth_counts_from_the_right() {
        let h = xff("1.1.1.1, 2.2.2.2,3.3.3.3");
        let peer = ip("9.9.9.9");
        assert_eq!(
            strategy(serde_json::json!({"depth": 1})).client_ip(&h, peer),
            Some(ip("3.3.3.3"))
        );
        assert_eq!(
            strategy(serde_json::json!({"depth": 3})).client_ip(&h, peer),
            Some(ip("1.1.1.1"))
        );
        assert_eq!(
            strategy(serde_json::json!({"depth": 4})).client_ip(&h, peer),
            None
        );
        assert_eq!(
            strategy(serde_json::json!({"depth": 0})).client_ip(&h, peer),
            Some(peer)
        );
        assert_eq!(
            IpStrategy::new(None).unwrap().client_ip(&h, peer),
            Some(peer)
        );
    }

    #[test]
    fn depth_wins_over_excluded_ips_as_in_traefik() {
        let h = xff("1.1.1.1, 10.0.0.1, 2.2.2.2");
        let peer = "9.9.9.9".parse().unwrap();
        let s = strategy(serde_json::json!({"depth": 2, "excludedIPs": ["10.0.0.0/8"]}));
        assert_eq!(s.client_ip(&h, peer), Some("10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn excluded_ips_skip_trusted_proxies_from_the_right() {
        let s = strategy(serde_json::json!({"excludedIPs": ["10.0.0.0/8", "3.3.3.3"]}));
        let peer = ip("9.9.9.9");
        assert_eq!(
            s.client_ip(&xff("1.1.1.1, 2.2.2.2, 3.3.3.3, 10.0.0.7"), peer),
            Some(ip("2.2.2.2"))
        );
        assert_eq!(s.client_ip(&xff("10.0.0.1, 3.3.3.3"), peer), None);
        assert_eq!(s.client_ip(&xff("garbage, 10.0.0.1"), peer), None);
    }

    #[test]
    fn ipv6_subnets_group_addresses() {
        let s = strategy(serde_json::json!({"ipv6Subnet": 64}));
        let h = HeaderMap::new();
        assert_eq!(
            s.client_ip(&h, ip("2001:db8:1:2:3:4:5:6")),
            Some(ip("2001:db8:1:2::"))
        );
        assert_eq!(s.client_ip(&h, ip("10.1.2.3")), Some(ip("10.1.2.3")));
        assert_eq!(s.client_ip(&h, ip("::ffff:10.1.2.3")), Some(ip("10.1.2.3")));
    }
}
