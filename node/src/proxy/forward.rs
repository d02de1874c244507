//! Header rewriting on the way to the upstream and back: hop-by-hop headers removed, the
//! `X-Forwarded-*` family and `X-Real-Ip` set like Traefik does.
//!
//! From an untrusted peer the incoming values are dropped and replaced. From a peer listed in
//! `--forwarded-headers-trusted-ips` (Traefik's `forwardedHeaders.trustedIPs`) they are kept:
//! the peer's address is appended to `X-Forwarded-For` (all incoming `X-Forwarded-For` lines
//! joined into one), and `X-Real-Ip`, `X-Forwarded-Proto`, `-Host` and `-Port` are only set
//! when absent. `X-Forwarded-Server` is always this node.

use std::net::IpAddr;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// What the forwarding headers describe.
pub struct ForwardInfo<'a> {
    /// The client's address, as a header value (`X-Forwarded-For`, `X-Real-Ip`).
    pub client_ip: &'a HeaderValue,
    /// `http` or `https`.
    pub proto: &'static str,
    /// The Host the client asked for, as sent.
    pub host: Option<&'a HeaderValue>,
    /// The entrypoint's port (used when the Host carries none).
    pub port: &'a HeaderValue,
    /// This node's name (`X-Forwarded-Server`).
    pub server: &'a HeaderValue,
    /// Whether the peer is trusted to send forwarding headers.
    pub trusted: bool,
}

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");
const X_FORWARDED_SERVER: HeaderName = HeaderName::from_static("x-forwarded-server");
const X_REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");
const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
const PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

/// Headers that describe one connection, not the message (RFC 9110 7.6.1).
static HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    KEEP_ALIVE,
    PROXY_CONNECTION,
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
];

/// Where `name` is in [`HOP_BY_HOP`]; `Upgrade` is 8.
fn hop_by_hop_index(name: &HeaderName) -> Option<usize> {
    Some(match name.as_str() {
        "connection" => 0,
        "keep-alive" => 1,
        "proxy-connection" => 2,
        "proxy-authenticate" => 3,
        "proxy-authorization" => 4,
        "te" => 5,
        "trailer" => 6,
        "transfer-encoding" => 7,
        "upgrade" => 8,
        _ => return None,
    })
}

/// Whether a request asks to switch to WebSocket, the one protocol an `Upgrade` is passed on
/// for. Any other (`h2c`, an arbitrary token) would, once a backend answered 101, open a raw
/// tunnel whose later bytes bypass routing and middlewares (h2c smuggling): its `Upgrade` is
/// removed and the request goes on as a plain one.
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::UPGRADE)
        .iter()
        .flat_map(connection_tokens)
        .any(|t| t.eq_ignore_ascii_case(b"websocket"))
        && headers
            .get_all(header::CONNECTION)
            .iter()
            .flat_map(connection_tokens)
            .any(|t| t.eq_ignore_ascii_case(b"upgrade"))
}

/// The comma-separated, trimmed tokens of a `Connection` value.
fn connection_tokens(value: &HeaderValue) -> impl Iterator<Item = &[u8]> {
    value
        .as_bytes()
        .split(|b| *b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|t| !t.is_empty())
}

/// Whether a `Connection` token is an option rather than the name of a header to remove.
fn is_connection_option(token: &[u8]) -> bool {
    token.eq_ignore_ascii_case(b"keep-alive")
        || token.eq_ignore_ascii_case(b"close")
        || token.eq_ignore_ascii_case(b"upgrade")
}

/// Removes hop-by-hop headers, including those named in `Connection`. For an upgrade,
/// `Connection: upgrade` and `Upgrade` are kept so the switch reaches the other side.
pub fn strip_hop_by_hop(headers: &mut HeaderMap, upgrade: bool) {
    // One pass over the headers first: a lookup by name costs as much when the name is
    // absent, and most messages carry one of these at most (`Connection: keep-alive`).
    let mut present = [false; 9];
    let mut names_headers = false;
    for (name, value) in headers.iter() {
        if let Some(i) = hop_by_hop_index(name) {
            present[i] = true;
            names_headers |= i == 0 && connection_tokens(value).any(|t| !is_connection_option(t));
        }
    }
    let has_upgrade = present[8];
    if names_headers {
        let named: Vec<HeaderName> = headers
            .get_all(header::CONNECTION)
            .iter()
            .flat_map(connection_tokens)
            .filter(|t| !is_connection_option(t))
            .filter_map(|t| HeaderName::from_bytes(t).ok())
            .collect();
        for name in &named {
            headers.remove(name);
        }
    }
    for (name, _) in HOP_BY_HOP.iter().zip(present).filter(|(_, here)| *here) {
        headers.remove(name);
    }
    if upgrade {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        // Only WebSocket goes through, whatever else the client listed.
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    } else if has_upgrade {
        headers.remove(header::UPGRADE);
    }
}

/// Rewrites a request's headers for the upstream.
pub fn request_headers(headers: &mut HeaderMap, info: &ForwardInfo<'_>, upgrade: bool) {
    strip_hop_by_hop(headers, upgrade);
    // Room for the six headers below: at most one growth of the map.
    headers.reserve(6);
    if info.trusted {
        keep_forwarded(headers, info);
    } else {
        drop_spoofable(headers);
        // `insert` replaces whatever the client sent: one lookup per header.
        headers.insert(X_FORWARDED_FOR, info.client_ip.clone());
        headers.insert(X_REAL_IP, info.client_ip.clone());
        headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static(info.proto));
        match info.host {
            Some(host) => headers.insert(X_FORWARDED_HOST, host.clone()),
            None => headers.remove(X_FORWARDED_HOST),
        };
        headers.insert(X_FORWARDED_PORT, forwarded_port(info));
    }
    headers.insert(X_FORWARDED_SERVER, info.server.clone());
}

/// Headers that vouch for what a proxy saw and that raftgate does not set itself: from an
/// untrusted peer they are dropped, as Traefik drops its `X-Forwarded-*` set (`Forwarded` too,
/// which Traefik passes on: a backend reading `for=` would otherwise believe the client).
const SPOOFABLE: [&str; 5] = [
    "forwarded",
    "x-forwarded-uri",
    "x-forwarded-method",
    "x-forwarded-tls-client-cert",
    "x-forwarded-tls-client-cert-info",
];

/// Removes the [`SPOOFABLE`] headers, after one pass that finds none in the common case.
fn drop_spoofable(headers: &mut HeaderMap) {
    if headers.keys().any(|n| SPOOFABLE.contains(&n.as_str())) {
        for name in SPOOFABLE {
            headers.remove(name);
        }
    }
}

/// The forwarding headers of a trusted peer: its `X-Forwarded-For` chain extended with the
/// peer, the others set only where absent.
fn keep_forwarded(headers: &mut HeaderMap, info: &ForwardInfo<'_>) {
    let peer = info.client_ip.to_str().unwrap_or_default();
    let chain: Vec<&str> = headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .chain(std::iter::once(peer))
        .collect();
    if let Ok(xff) = HeaderValue::from_str(&chain.join(", ")) {
        headers.insert(X_FORWARDED_FOR, xff);
    }
    headers
        .entry(X_REAL_IP)
        .or_insert_with(|| info.client_ip.clone());
    headers
        .entry(X_FORWARDED_PROTO)
        .or_insert_with(|| HeaderValue::from_static(info.proto));
    if let Some(host) = info.host {
        headers
            .entry(X_FORWARDED_HOST)
            .or_insert_with(|| host.clone());
    }
    headers
        .entry(X_FORWARDED_PORT)
        .or_insert_with(|| forwarded_port(info));
}

/// `X-Forwarded-Port`: the Host's port, else the entrypoint's.
fn forwarded_port(info: &ForwardInfo<'_>) -> HeaderValue {
    match info.host.and_then(|h| host_port(h.as_bytes())) {
        // Usually the Host names the entrypoint's own port: no new value to build.
        Some(port) if port != info.port.as_bytes() => {
            HeaderValue::from_bytes(port).unwrap_or_else(|_| info.port.clone())
        }
        _ => info.port.clone(),
    }
}

/// The header value of a client address.
pub fn ip_header(ip: IpAddr) -> HeaderValue {
    HeaderValue::from_str(&ip.to_string()).expect("an IP address is a valid header value")
}

/// The port of a `host[:port]` value, if it has one (digits only, as it was written).
fn host_port(host: &[u8]) -> Option<&[u8]> {
    let colon = host.iter().rposition(|b| *b == b':')?;
    let (name, port) = (&host[..colon], &host[colon + 1..]);
    // `[::1]` has colons but no port.
    if name.first() == Some(&b'[') && name.last() != Some(&b']') {
        return None;
    }
    if port.is_empty() || port.len() > 5 || !port.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = port.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
    (value <= u32::from(u16::MAX)).then_some(port)
}

#[cfg(test)]
mod tests {
    use super::*;

    static CLIENT: HeaderValue = HeaderValue::from_static("10.1.2.3");
    static PORT: HeaderValue = HeaderValue::from_static("8080");

    fn info<'a>(host: Option<&'a HeaderValue>, server: &'a HeaderValue) -> ForwardInfo<'a> {
        ForwardInfo {
            client_ip: &CLIENT,
            proto: "http",
            host,
            port: &PORT,
            server,
            trusted: false,
        }
    }

    #[test]
    fn forwarding_headers_replace_what_the_client_sent() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("6.6.6.6"));
        h.insert("x-real-ip", HeaderValue::from_static("6.6.6.6"));
        h.insert(
            "connection",
            HeaderValue::from_static("keep-alive, x-secret"),
        );
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert("te", HeaderValue::from_static("gzip"));
        h.insert("accept", HeaderValue::from_static("*/*"));
        let host = HeaderValue::from_static("example.com:8443");
        let server = HeaderValue::from_static("node-1");
        request_headers(&mut h, &info(Some(&host), &server), false);
        assert_eq!(h["x-forwarded-for"], "10.1.2.3");
        assert_eq!(h["x-real-ip"], "10.1.2.3");
        assert_eq!(h["x-forwarded-host"], "example.com:8443");
        assert_eq!(h["x-forwarded-port"], "8443");
        assert_eq!(h["x-forwarded-proto"], "http");
        assert_eq!(h["x-forwarded-server"], "node-1");
        for gone in ["connection", "x-secret", "keep-alive", "te"] {
            assert!(!h.contains_key(gone), "{gone} kept");
        }
        assert_eq!(h["accept"], "*/*");
    }

    #[test]
    fn a_trusted_peer_keeps_its_forwarding_headers_and_is_appended() {
        let mut h = HeaderMap::new();
        h.append(
            "x-forwarded-for",
            HeaderValue::from_static("1.1.1.1, 2.2.2.2"),
        );
        h.append("x-forwarded-for", HeaderValue::from_static("3.3.3.3"));
        h.insert("x-real-ip", HeaderValue::from_static("1.1.1.1"));
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        h.insert(
            "x-forwarded-host",
            HeaderValue::from_static("public.example"),
        );
        h.insert("x-forwarded-port", HeaderValue::from_static("443"));
        h.insert("x-forwarded-server", HeaderValue::from_static("edge"));
        let host = HeaderValue::from_static("internal:8080");
        let server = HeaderValue::from_static("node-1");
        let mut trusted = info(Some(&host), &server);
        trusted.trusted = true;
        let mut kept = h.clone();
        request_headers(&mut kept, &trusted, false);
        assert_eq!(
            kept["x-forwarded-for"],
            "1.1.1.1, 2.2.2.2, 3.3.3.3, 10.1.2.3"
        );
        assert_eq!(kept.get_all("x-forwarded-for").iter().count(), 1);
        assert_eq!(kept["x-real-ip"], "1.1.1.1");
        assert_eq!(kept["x-forwarded-proto"], "https");
        assert_eq!(kept["x-forwarded-host"], "public.example");
        assert_eq!(kept["x-forwarded-port"], "443");
        assert_eq!(kept["x-forwarded-server"], "node-1");

        // The same headers from an untrusted peer are all replaced.
        let mut replaced = h;
        request_headers(&mut replaced, &info(Some(&host), &server), false);
        assert_eq!(replaced["x-forwarded-for"], "10.1.2.3");
        assert_eq!(replaced["x-real-ip"], "10.1.2.3");
        assert_eq!(replaced["x-forwarded-proto"], "http");
        assert_eq!(replaced["x-forwarded-host"], "internal:8080");
        assert_eq!(replaced["x-forwarded-port"], "8080");

        // A trusted peer that sent nothing gets the usual headers.
        let mut bare = HeaderMap::new();
        request_headers(&mut bare, &trusted, false);
        assert_eq!(bare["x-forwarded-for"], "10.1.2.3");
        assert_eq!(bare["x-forwarded-proto"], "http");
    }

    #[test]
    fn the_port_falls_back_to_the_entrypoint_and_ipv6_hosts_parse() {
        let server = HeaderValue::from_static("n");
        for (host, port) in [
            ("a.com", "8080"),
            ("a.com:443", "443"),
            ("[::1]:9000", "9000"),
            ("[::1]", "8080"),
            ("a.com:65536", "8080"),
            ("a.com:x1", "8080"),
            ("a.com:", "8080"),
        ] {
            let mut h = HeaderMap::new();
            let v = HeaderValue::from_static(host);
            request_headers(&mut h, &info(Some(&v), &server), false);
            assert_eq!(h["x-forwarded-port"], port, "{host}");
        }
    }

    #[test]
    fn the_name_match_agrees_with_the_hop_by_hop_list() {
        for (i, name) in HOP_BY_HOP.iter().enumerate() {
            assert_eq!(hop_by_hop_index(name), Some(i), "{name}");
        }
        assert_eq!(hop_by_hop_index(&header::UPGRADE), Some(8));
        assert_eq!(hop_by_hop_index(&header::ACCEPT), None);
    }

    #[test]
    fn upgrades_keep_their_upgrade_headers() {
        let mut h = HeaderMap::new();
        h.insert("connection", HeaderValue::from_static("Upgrade"));
        h.insert("upgrade", HeaderValue::from_static("websocket"));
        assert!(is_upgrade(&h));
        strip_hop_by_hop(&mut h, true);
        assert_eq!(h["upgrade"], "websocket");
        assert_eq!(h["connection"], "upgrade");
        let mut plain = h.clone();
        strip_hop_by_hop(&mut plain, false);
        assert!(!plain.contains_key("upgrade") && !plain.contains_key("connection"));
    }

    #[test]
    fn only_websocket_upgrades_go_through() {
        for (upgrade, passes) in [
            ("websocket", true),
            ("WebSocket", true),
            ("h2c, websocket", true),
            ("h2c", false),
            ("HTTP/2.0", false),
            ("tls/1.2", false),
        ] {
            let mut h = HeaderMap::new();
            h.insert(
                "connection",
                HeaderValue::from_static("keep-alive, Upgrade"),
            );
            h.insert("upgrade", HeaderValue::from_str(upgrade).unwrap());
            assert_eq!(is_upgrade(&h), passes, "{upgrade}");
            strip_hop_by_hop(&mut h, passes);
            if passes {
                assert_eq!(h["upgrade"], "websocket", "{upgrade}");
            } else {
                assert!(!h.contains_key("upgrade") && !h.contains_key("connection"));
            }
        }
    }

    #[test]
    fn untrusted_peers_cannot_vouch_for_what_a_proxy_saw() {
        let server = HeaderValue::from_static("node-1");
        let mut sent = HeaderMap::new();
        for name in SPOOFABLE {
            sent.insert(name, HeaderValue::from_static("for=6.6.6.6"));
        }
        sent.insert("x-custom", HeaderValue::from_static("kept"));
        let mut h = sent.clone();
        request_headers(&mut h, &info(None, &server), false);
        for name in SPOOFABLE {
            assert!(!h.contains_key(name), "{name}");
        }
        assert_eq!(h["x-custom"], "kept");
        let mut trusted = info(None, &server);
        trusted.trusted = true;
        let mut h = sent;
        request_headers(&mut h, &trusted, false);
        assert_eq!(
            h["forwarded"], "for=6.6.6.6",
            "a trusted peer's headers are kept"
        );
    }
}
