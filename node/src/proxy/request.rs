//! The view of a request that routing reads, and the two normalizations that build it.
//!
//! The proxy normalizes the path and the host of each request once, before routing, and then
//! routes, authorizes and forwards that same normalized path: Traefik (CVE-2025-32431,
//! CVE-2025-66490) and Envoy (CVE-2021-29492) had bypasses where those steps disagreed.
//! [`normalize_path`] removes dot-segments and refuses encodings that different servers decode
//! differently; [`normalize_host`] lowercases the host and strips its port. Both borrow their
//! input when it is already clean, which is the common case, so they do not allocate.

use std::borrow::Cow;
use std::net::IpAddr;

use thiserror::Error;

/// What routing needs of a request, borrowed from it.
#[derive(Debug, Clone, Copy)]
pub struct RequestInfo<'a> {
    /// The request method.
    pub method: &'a http::Method,
    /// The host, normalized by [`normalize_host`]: lowercase, without port or trailing dot. It
    /// comes from the URI authority when the request has one (HTTP/2, absolute-form HTTP/1.1),
    /// else from the `Host` header; see [`raw_host`]. Empty when the request names no host.
    pub host: &'a str,
    /// The path, normalized by [`normalize_path`]: what is forwarded. The `Path*` matchers
    /// decode its remaining escapes but those of reserved characters, as Traefik v3 does.
    pub path: &'a str,
    /// The raw query string, without the `?`.
    pub query: Option<&'a str>,
    /// The request headers.
    pub headers: &'a http::HeaderMap,
    /// The peer address of the connection (forwarding headers are not trusted here).
    pub client_ip: IpAddr,
}

/// Why a request path is refused (the proxy answers 400).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PathError {
    /// The path is empty or does not start with `/` (e.g. `*` or an authority form).
    #[error("the path does not start with '/'")]
    NotAbsolute,
    /// A literal backslash, which some servers treat as a separator.
    #[error("the path holds a backslash at byte {0}")]
    Backslash(usize),
    /// A NUL byte, raw or percent-encoded.
    #[error("the path holds a NUL byte at byte {0}")]
    Nul(usize),
    /// A percent-encoded `.`, `/` or `\`, which servers decode inconsistently.
    #[error("the path encodes {:?} as %{byte:02X} at byte {at}, which is ambiguous", char::from(*byte))]
    AmbiguousEscape {
        /// Byte offset of the `%`.
        at: usize,
        /// The encoded byte.
        byte: u8,
    },
    /// A `%` not followed by two hexadecimal digits.
    #[error("the path has a malformed percent-encoding at byte {0}")]
    BadEscape(usize),
}

/// Normalizes a request path once, so that routing, authorization and forwarding see the same
/// path.
///
/// Removes dot-segments (RFC 3986 section 5.2.4) and keeps duplicate slashes as they are (as
/// Traefik does). Percent-encoded unreserved characters (`A-Z a-z 0-9 - _ ~`) are decoded and
/// the hex digits of the other escapes uppercased (RFC 3986 section 6.2.2), so that
/// ``PathPrefix(`/admin`)`` also sees `/%61dmin`. Refuses ambiguous encodings: a percent-encoded
/// `.`, `/` or `\` (`%2e %2f %5c` in any case), a literal `\`, NUL (raw or `%00`), a malformed
/// escape, and paths that do not start with `/`.
///
/// Returns [`Cow::Borrowed`] when nothing changes, the common case.
///
/// # Errors
///
/// A [`PathError`] saying which ambiguity the path holds and at which byte.
pub fn normalize_path(raw: &str) -> Result<Cow<'_, str>, PathError> {
    if !raw.starts_with('/') {
        return Err(PathError::NotAbsolute);
    }
    let canonical = canonical_escapes(raw)?;
    Ok(match remove_dot_segments(&canonical) {
        Some(out) => Cow::Owned(out),
        None => canonical,
    })
}

/// Lowercases a `Host` header value or URI authority and strips its port and one trailing dot
/// (`Example.COM.:8080` → `example.com`). IPv6 literals keep their brackets (`[::1]:80` →
/// `[::1]`). Returns [`Cow::Borrowed`] when the value is already clean.
pub fn normalize_host(raw: &str) -> Cow<'_, str> {
    // Byte scans: this runs on every request and the values are short.
    let raw = raw.trim_ascii();
    let bytes = raw.as_bytes();
    let end = if bytes.first() == Some(&b'[') {
        bytes
            .iter()
            .position(|b| *b == b']')
            .map_or(bytes.len(), |i| i + 1)
    } else {
        match bytes.iter().position(|b| *b == b':') {
            // One colon: `host:port`. More: a bare IPv6 address, left as it is.
            Some(i) if !bytes[i + 1..].contains(&b':') => i,
            _ => bytes.len(),
        }
    };
    let host = &raw[..end];
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(host.to_ascii_lowercase())
    } else {
        Cow::Borrowed(host)
    }
}

/// The host a request names, before normalization: the URI authority when present (HTTP/2's
/// `:authority`, absolute-form HTTP/1.1 targets), else the `Host` header. `None` when neither
/// is there or the header is not visible ASCII.
pub fn raw_host<'a>(uri: &'a http::Uri, headers: &'a http::HeaderMap) -> Option<&'a str> {
    if let Some(authority) = uri.authority() {
        // Userinfo (`user@host`) is not part of the host.
        let a = authority.as_str();
        return Some(a.rsplit_once('@').map_or(a, |(_, host)| host));
    }
    headers.get(http::header::HOST)?.to_str().ok()
}

/// Checks every `%` escape and rewrites those RFC 3986 wants normalized; borrows `raw` when none.
fn canonical_escapes(raw: &str) -> Result<Cow<'_, str>, PathError> {
    let bytes = raw.as_bytes();
    let mut rewrite = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => return Err(PathError::Backslash(i)),
            0 => return Err(PathError::Nul(i)),
            b'%' => {
                let byte = escaped_byte(bytes, i)?;
                rewrite |=
                    is_unreserved(byte) || bytes[i + 1..i + 3].iter().any(u8::is_ascii_lowercase);
                i += 3;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    if !rewrite {
        return Ok(Cow::Borrowed(raw));
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(pos) = rest.find('%') {
        out.push_str(&rest[..pos]);
        // Validated above: two hex digits follow every '%'.
        let byte = escaped_byte(rest.as_bytes(), pos)?;
        if is_unreserved(byte) {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push_str(&rest[pos + 1..pos + 3].to_ascii_uppercase());
        }
        rest = &rest[pos + 3..];
    }
    out.push_str(rest);
    Ok(Cow::Owned(out))
}

/// The byte encoded by the escape at `bytes[at] == b'%'`, refusing malformed and ambiguous ones.
fn escaped_byte(bytes: &[u8], at: usize) -> Result<u8, PathError> {
    let hex = |i: usize| {
        bytes
            .get(i)
            .and_then(|b| char::from(*b).to_digit(16))
            .ok_or(PathError::BadEscape(at))
    };
    // Both digits are below 16, so the value fits a byte.
    let byte =
        u8::try_from(hex(at + 1)? * 16 + hex(at + 2)?).map_err(|_| PathError::BadEscape(at))?;
    match byte {
        0 => Err(PathError::Nul(at)),
        b'.' | b'/' | b'\\' => Err(PathError::AmbiguousEscape { at, byte }),
        _ => Ok(byte),
    }
}

/// RFC 3986 unreserved characters, minus `.`, which is refused when encoded.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~')
}

/// Removes `.` and `..` segments from an absolute path; `None` when it has none.
fn remove_dot_segments(path: &str) -> Option<String> {
    // Skip the empty segment before the leading '/'.
    if !path
        .as_bytes()
        .split(|b| *b == b'/')
        .skip(1)
        .any(|s| s == b"." || s == b"..")
    {
        return None;
    }
    let mut out = String::with_capacity(path.len());
    let mut segments = path.split('/').skip(1).peekable();
    while let Some(segment) = segments.next() {
        match segment {
            "." => {}
            ".." => {
                let parent = out.rfind('/').unwrap_or(0);
                out.truncate(parent);
            }
            _ => {
                out.push('/');
                out.push_str(segment);
                continue;
            }
        }
        // A trailing dot-segment leaves a directory path: `/a/b/..` → `/a/`.
        if segments.peek().is_none() {
            out.push('/');
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(raw: &str) -> Result<String, PathError> {
        normalize_path(raw).map(Cow::into_owned)
    }

    #[test]
    fn clean_paths_are_borrowed() {
        for raw in [
            "/",
            "/api/v1",
            "//a//b/",
            "/a%20b",
            "/caf%C3%A9",
            "/.well-known/x",
            "/a..b/c.",
        ] {
            assert!(
                matches!(normalize_path(raw), Ok(Cow::Borrowed(p)) if p == raw),
                "{raw}"
            );
        }
    }

    #[test]
    fn removes_dot_segments() {
        let cases = [
            ("/a/b/c/./../../g", "/a/g"),
            ("/a/./b", "/a/b"),
            ("/a/b/.", "/a/b/"),
            ("/a/b/..", "/a/"),
            ("/a/..", "/"),
            ("/..", "/"),
            ("/../..", "/"),
            ("/.", "/"),
            ("/../a", "/a"),
            ("/a/../../b", "/b"),
            ("/a//../b", "/a/b"),
            ("//./a", "//a"),
            ("/admin/../public/./x", "/public/x"),
        ];
        for (raw, want) in cases {
            assert_eq!(path(raw).as_deref(), Ok(want), "{raw}");
        }
    }

    #[test]
    fn keeps_duplicate_slashes() {
        assert_eq!(path("/a//b///c").as_deref(), Ok("/a//b///c"));
    }

    #[test]
    fn decodes_unreserved_and_uppercases_escapes() {
        assert_eq!(path("/%61dmin").as_deref(), Ok("/admin"));
        assert_eq!(path("/%7E%5F%2D%30").as_deref(), Ok("/~_-0"));
        assert_eq!(path("/caf%c3%a9").as_deref(), Ok("/caf%C3%A9"));
        assert_eq!(path("/a%20b/%61/../c").as_deref(), Ok("/a%20b/c"));
    }

    #[test]
    fn refuses_ambiguous_encodings() {
        let ambiguous = |at, byte| Err(PathError::AmbiguousEscape { at, byte });
        assert_eq!(path("/%2e%2e/admin"), ambiguous(1, b'.'));
        assert_eq!(path("/%2E./admin"), ambiguous(1, b'.'));
        assert_eq!(path("/a%2fb"), ambiguous(2, b'/'));
        assert_eq!(path("/a%2Fb"), ambiguous(2, b'/'));
        assert_eq!(path("/a%5cb"), ambiguous(2, b'\\'));
        assert_eq!(path("/a%5Cb"), ambiguous(2, b'\\'));
        assert_eq!(path("/a\\b"), Err(PathError::Backslash(2)));
        assert_eq!(path("/a\0b"), Err(PathError::Nul(2)));
        assert_eq!(path("/a%00b"), Err(PathError::Nul(2)));
        assert_eq!(path("/a%zzb"), Err(PathError::BadEscape(2)));
        assert_eq!(path("/a%4"), Err(PathError::BadEscape(2)));
        assert_eq!(path("/a%"), Err(PathError::BadEscape(2)));
        assert_eq!(path("a/b"), Err(PathError::NotAbsolute));
        assert_eq!(path("*"), Err(PathError::NotAbsolute));
        assert_eq!(path(""), Err(PathError::NotAbsolute));
    }

    #[test]
    fn path_errors_say_what_and_where() {
        let err = path("/x/%2F").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the path encodes '/' as %2F at byte 3, which is ambiguous"
        );
    }

    #[test]
    fn hosts_are_lowercased_and_lose_their_port() {
        let cases = [
            ("example.com", "example.com"),
            ("Example.COM", "example.com"),
            ("example.com:8080", "example.com"),
            ("EXAMPLE.com:443", "example.com"),
            ("example.com.", "example.com"),
            ("example.com.:80", "example.com"),
            ("example.com:", "example.com"),
            ("[::1]:8443", "[::1]"),
            ("[::1]", "[::1]"),
            ("[2001:DB8::1]:80", "[2001:db8::1]"),
            ("2001:db8::1", "2001:db8::1"),
            ("10.0.0.1:80", "10.0.0.1"),
            (" a.com ", "a.com"),
            ("", ""),
        ];
        for (raw, want) in cases {
            assert_eq!(normalize_host(raw), want, "{raw}");
        }
    }

    #[test]
    fn clean_hosts_are_borrowed() {
        assert!(matches!(
            normalize_host("a.example.com:80"),
            Cow::Borrowed("a.example.com")
        ));
        assert!(matches!(normalize_host("A.example.com"), Cow::Owned(_)));
    }

    #[test]
    fn raw_host_prefers_the_authority() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::HOST,
            http::HeaderValue::from_static("header.example"),
        );
        let origin: http::Uri = "/path?q".parse().expect("uri");
        assert_eq!(raw_host(&origin, &headers), Some("header.example"));
        let absolute: http::Uri = "https://user@Auth.example:8443/x".parse().expect("uri");
        assert_eq!(raw_host(&absolute, &headers), Some("Auth.example:8443"));
        assert_eq!(raw_host(&origin, &http::HeaderMap::new()), None);
    }
}
