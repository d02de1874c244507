//! Sticky sessions, Traefik style: a cookie that names the server a client was sent to.
//!
//! The cookie's value is the server's [`ServerState::sticky_id`] (the hex of the first 8
//! bytes of the SHA-256 of its URL), so every node of the cluster reads and writes the same
//! value for the same server, and the URL itself is not disclosed. When the configuration
//! leaves the cookie name empty it is derived from the service name: `_` followed by the
//! first 6 hex digits of the SHA-256 of the name (Traefik does the same with SHA-1).

use std::sync::Arc;

use http::header::{HeaderMap, HeaderValue, COOKIE};
use raftgate_model::Cookie;
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::ServerState;

/// A sticky-cookie setting that cannot be rendered into a `Set-Cookie` header.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StickyCookieError {
    /// The name holds characters a cookie name may not.
    #[error("sticky cookie name {0:?} is not a valid cookie name")]
    Name(String),
    /// `sameSite` is not `none`, `lax` or `strict`.
    #[error("sticky cookie sameSite {0:?} must be none, lax or strict")]
    SameSite(String),
    /// An attribute value holds `;`, a control or a non-ASCII character.
    #[error("sticky cookie {attribute} {value:?} holds ';', a control or a non-ASCII character")]
    Attribute {
        /// `path` or `domain`.
        attribute: &'static str,
        /// The value given.
        value: String,
    },
}

/// The `SameSite` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// `SameSite=None`.
    None,
    /// `SameSite=Lax`.
    Lax,
    /// `SameSite=Strict`.
    Strict,
}

/// The sticky cookie of one service, with its attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StickyCookie {
    /// Cookie name.
    pub name: String,
    /// Send the `Secure` attribute.
    pub secure: bool,
    /// Send the `HttpOnly` attribute.
    pub http_only: bool,
    /// The `SameSite` attribute, if any.
    pub same_site: Option<SameSite>,
    /// `Max-Age` in seconds: positive sets it, negative sends `Max-Age=0` (expire), zero
    /// or `None` makes a session cookie.
    pub max_age: Option<i64>,
    /// `Path` attribute (`/` by default).
    pub path: String,
    /// `Domain` attribute, if any.
    pub domain: Option<String>,
    /// `; Path=…; …` rendered once, appended to every `Set-Cookie`.
    attributes: String,
}

impl StickyCookie {
    /// The cookie of service `service_name` as configured by `cfg`.
    pub fn from_config(service_name: &str, cfg: &Cookie) -> Result<Self, StickyCookieError> {
        let name = if cfg.name.is_empty() {
            default_name(service_name)
        } else if is_token(&cfg.name) {
            cfg.name.clone()
        } else {
            return Err(StickyCookieError::Name(cfg.name.clone()));
        };
        let same_site = match cfg.same_site.to_ascii_lowercase().as_str() {
            "" => None,
            "none" => Some(SameSite::None),
            "lax" => Some(SameSite::Lax),
            "strict" => Some(SameSite::Strict),
            _ => return Err(StickyCookieError::SameSite(cfg.same_site.clone())),
        };
        let path = cfg.path.clone().unwrap_or_else(|| "/".to_string());
        let domain = Some(cfg.domain.clone()).filter(|d| !d.is_empty());
        for (attribute, value) in [("path", Some(&path)), ("domain", domain.as_ref())] {
            if let Some(value) = value.filter(|v| !is_attribute_value(v)) {
                return Err(StickyCookieError::Attribute {
                    attribute,
                    value: value.clone(),
                });
            }
        }
        let mut cookie = StickyCookie {
            name,
            secure: cfg.secure,
            http_only: cfg.http_only,
            same_site,
            max_age: cfg.max_age,
            path,
            domain,
            attributes: String::new(),
        };
        cookie.attributes = cookie.render_attributes();
        Ok(cookie)
    }

    /// Index of the server pinned by the request's `Cookie` header(s), if one of the cookies
    /// with this name names a healthy server.
    pub fn pinned(&self, headers: &HeaderMap, servers: &[Arc<ServerState>]) -> Option<usize> {
        self.pinned_by(headers, |value| {
            servers
                .iter()
                .position(|s| s.sticky_id() == value && s.is_healthy())
        })
    }

    /// The first value of this cookie in the request that `lookup` maps to an index.
    pub fn pinned_by(
        &self,
        headers: &HeaderMap,
        lookup: impl Fn(&str) -> Option<usize>,
    ) -> Option<usize> {
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|h| h.to_str().ok())
            .flat_map(|h| h.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .filter(|(name, _)| *name == self.name)
            .map(|(_, value)| value.trim_matches('"'))
            .find_map(lookup)
    }

    /// The `Set-Cookie` header value that pins `server`.
    pub fn set_cookie(&self, server: &ServerState) -> HeaderValue {
        self.set_cookie_for(server.sticky_id())
    }

    /// The `Set-Cookie` header value that pins whatever `id` identifies (hex text).
    pub fn set_cookie_for(&self, id: &str) -> HeaderValue {
        let text = format!("{}={}{}", self.name, id, self.attributes);
        // Cannot fail: the name is a token, the id is hex and every attribute was checked to
        // be visible ASCII by `from_config`; an empty value stands in rather than a panic.
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    fn render_attributes(&self) -> String {
        let mut out = format!("; Path={}", self.path);
        if let Some(domain) = &self.domain {
            out.push_str("; Domain=");
            out.push_str(domain);
        }
        match self.max_age {
            Some(age) if age > 0 => out.push_str(&format!("; Max-Age={age}")),
            Some(age) if age < 0 => out.push_str("; Max-Age=0"),
            _ => {}
        }
        if self.http_only {
            out.push_str("; HttpOnly");
        }
        if self.secure {
            out.push_str("; Secure");
        }
        match self.same_site {
            Some(SameSite::None) => out.push_str("; SameSite=None"),
            Some(SameSite::Lax) => out.push_str("; SameSite=Lax"),
            Some(SameSite::Strict) => out.push_str("; SameSite=Strict"),
            None => {}
        }
        out
    }
}

/// `_` and the first 6 hex digits of the SHA-256 of the service name.
fn default_name(service_name: &str) -> String {
    let digest = Sha256::digest(service_name.as_bytes());
    format!("_{}", &hex::encode(&digest[..3]))
}

/// RFC 7230 token: visible ASCII without separators.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
}

/// A cookie attribute value: visible ASCII (or space) without `;`.
fn is_attribute_value(s: &str) -> bool {
    s.bytes()
        .all(|b| (b == b' ' || b.is_ascii_graphic()) && b != b';')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cookie(json: &str) -> StickyCookie {
        let cfg: Cookie = serde_json::from_str(json).expect("cookie parses");
        StickyCookie::from_config("api", &cfg).expect("valid cookie")
    }

    fn servers() -> Vec<Arc<ServerState>> {
        ["http://a:1", "http://b:2", "http://c:3"]
            .iter()
            .map(|u| ServerState::parse(u).expect("valid url"))
            .collect()
    }

    fn headers(cookies: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for c in cookies {
            h.append(COOKIE, HeaderValue::from_str(c).expect("valid header"));
        }
        h
    }

    #[test]
    fn default_name_is_derived_from_the_service() {
        let c = cookie("{}");
        assert_eq!(c.name.len(), 7);
        assert!(c.name.starts_with('_'));
        assert_eq!(c.name, cookie("{}").name);
        let other = StickyCookie::from_config("web", &Cookie::default()).expect("valid");
        assert_ne!(c.name, other.name);
        assert_eq!(cookie(r#"{"name":"lb"}"#).name, "lb");
    }

    #[test]
    fn pins_to_the_named_server() {
        let c = cookie(r#"{"name":"lb"}"#);
        let s = servers();
        let value = format!("other=1; lb={}; x=y", s[1].sticky_id());
        assert_eq!(c.pinned(&headers(&[&value]), &s), Some(1));
        let quoted = format!("lb=\"{}\"", s[2].sticky_id());
        assert_eq!(c.pinned(&headers(&["a=b", &quoted]), &s), Some(2));
    }

    #[test]
    fn unknown_or_unhealthy_pins_are_ignored() {
        let c = cookie(r#"{"name":"lb"}"#);
        let s = servers();
        assert_eq!(c.pinned(&headers(&["lb=0123456789abcdef"]), &s), None);
        assert_eq!(c.pinned(&headers(&[]), &s), None);
        let other_name = format!("lb2={}", s[0].sticky_id());
        assert_eq!(c.pinned(&headers(&[&other_name]), &s), None);
        s[0].set_healthy(false);
        let pinned = format!("lb={}", s[0].sticky_id());
        assert_eq!(c.pinned(&headers(&[&pinned]), &s), None);
        // A second cookie of the same name naming a healthy server wins.
        let two = format!("lb={}; lb={}", s[0].sticky_id(), s[1].sticky_id());
        assert_eq!(c.pinned(&headers(&[&two]), &s), Some(1));
    }

    #[test]
    fn set_cookie_renders_every_attribute() {
        let s = servers();
        let c = cookie(
            r#"{"name":"lb","secure":true,"httpOnly":true,"sameSite":"Strict","maxAge":3600,"path":"/app","domain":"example.com"}"#,
        );
        assert_eq!(
            c.set_cookie(&s[0]),
            format!(
                "lb={}; Path=/app; Domain=example.com; Max-Age=3600; HttpOnly; Secure; SameSite=Strict",
                s[0].sticky_id()
            )
            .as_str()
        );
        let c = cookie(r#"{"name":"lb","sameSite":"none","maxAge":-1}"#);
        assert_eq!(
            c.set_cookie(&s[1]),
            format!("lb={}; Path=/; Max-Age=0; SameSite=None", s[1].sticky_id()).as_str()
        );
        let c = cookie(r#"{"name":"lb","sameSite":"lax","maxAge":0}"#);
        assert_eq!(
            c.set_cookie(&s[2]),
            format!("lb={}; Path=/; SameSite=Lax", s[2].sticky_id()).as_str()
        );
    }

    #[test]
    fn set_cookie_round_trips_through_pinned() {
        let s = servers();
        let c = cookie("{}");
        let set = c.set_cookie(&s[2]);
        let pair = set
            .to_str()
            .expect("ascii")
            .split(';')
            .next()
            .expect("a pair")
            .to_string();
        assert_eq!(c.pinned(&headers(&[&pair]), &s), Some(2));
    }

    #[test]
    fn bad_settings_are_refused() {
        let bad = |json: &str| {
            let cfg: Cookie = serde_json::from_str(json).expect("cookie parses");
            StickyCookie::from_config("api", &cfg)
                .expect_err("invalid")
                .to_string()
        };
        assert_eq!(
            bad(r#"{"name":"a b"}"#),
            "sticky cookie name \"a b\" is not a valid cookie name"
        );
        assert_eq!(
            bad(r#"{"sameSite":"always"}"#),
            "sticky cookie sameSite \"always\" must be none, lax or strict"
        );
        assert_eq!(
            bad(r#"{"path":"/a;b"}"#),
            "sticky cookie path \"/a;b\" holds ';', a control or a non-ASCII character"
        );
        assert!(bad(r#"{"domain":"exa\nmple.com"}"#).starts_with("sticky cookie domain"));
    }
}
