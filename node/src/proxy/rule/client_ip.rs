//! `ClientIP`: the peer address of the connection, within an IP address or CIDR range.
//!
//! Forwarding headers (`X-Forwarded-For`, `X-Real-Ip`) are not trusted here. An IPv4 client
//! seen on a dual-stack socket as `::ffff:a.b.c.d` matches IPv4 ranges, as in Go.

use ipnet::IpNet;

use super::RequestInfo;

/// ``ClientIP(`10.0.0.0/8`)`` or ``ClientIP(`::1`)``.
#[derive(Debug)]
pub(super) struct ClientIpMatcher(IpNet);

impl ClientIpMatcher {
    pub(super) fn compile(net: IpNet) -> Self {
        ClientIpMatcher(net)
    }

    pub(super) fn matches(&self, req: &RequestInfo<'_>) -> bool {
        self.0.contains(&req.client_ip.to_canonical())
    }
}

#[cfg(test)]
mod tests {
    use crate::proxy::rule::test_support::{compile, Req};

    fn matches(rule: &str, ip: &str) -> bool {
        let ip = ip.parse().expect("test IP");
        compile(rule).matches(&Req::get("a.com", "/").client_ip(ip).info())
    }

    #[test]
    fn ipv4_ranges_and_addresses() {
        assert!(matches("ClientIP(`10.0.0.0/8`)", "10.1.2.3"));
        assert!(!matches("ClientIP(`10.0.0.0/8`)", "11.0.0.1"));
        assert!(matches("ClientIP(`192.168.1.7`)", "192.168.1.7"));
        assert!(!matches("ClientIP(`192.168.1.7`)", "192.168.1.8"));
        assert!(matches("ClientIP(`10.0.0.0/8`)", "::ffff:10.0.0.1"));
        assert!(!matches("ClientIP(`10.0.0.0/8`)", "::1"));
    }

    #[test]
    fn ipv6_ranges_and_addresses() {
        assert!(matches("ClientIP(`2001:db8::/32`)", "2001:db8:1::5"));
        assert!(!matches("ClientIP(`2001:db8::/32`)", "2001:db9::5"));
        assert!(matches("ClientIP(`::1`)", "::1"));
        assert!(!matches("ClientIP(`::1`)", "127.0.0.1"));
        assert!(!matches("ClientIP(`2001:db8::/32`)", "10.0.0.1"));
    }
}
