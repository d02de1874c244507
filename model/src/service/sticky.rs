//! Session affinity: the cookie that pins a client to one server or child service.

use serde::{Deserialize, Serialize};

use crate::checks::{domain_problem, field, is_token, Object};
use crate::serde_util::is_false;
use crate::ModelError;

/// Stickiness settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Sticky {
    /// Affinity by cookie.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie: Option<Cookie>,
}

/// The sticky cookie.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Cookie {
    /// Cookie name; derived from the service name when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Set the `Secure` attribute.
    #[serde(default, skip_serializing_if = "is_false")]
    pub secure: bool,
    /// Set the `HttpOnly` attribute.
    #[serde(default, skip_serializing_if = "is_false")]
    pub http_only: bool,
    /// `SameSite` attribute: `none`, `lax`, `strict`, or empty for none set.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub same_site: String,
    /// `Max-Age` in seconds; 0 or unset means a session cookie, negative expires it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<i64>,
    /// `Path` attribute; `/` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// `Domain` attribute.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub domain: String,
}

impl Sticky {
    pub(crate) fn check(&self, obj: &Object, path: &str) -> Result<(), ModelError> {
        let Some(cookie) = &self.cookie else {
            return Ok(());
        };
        let at = |name: &str| field(path, &format!("cookie.{name}"));
        if !cookie.name.is_empty() && !is_token(&cookie.name) {
            return Err(obj.invalid(
                at("name"),
                format!("{:?} is not a valid cookie name", cookie.name),
            ));
        }
        if !matches!(
            cookie.same_site.to_ascii_lowercase().as_str(),
            "" | "none" | "lax" | "strict"
        ) {
            return Err(obj.invalid(
                at("sameSite"),
                format!("{:?} must be none, lax or strict", cookie.same_site),
            ));
        }
        if let Some(p) = &cookie.path {
            if !p.starts_with('/') || p.contains(';') || p.chars().any(char::is_control) {
                return Err(obj.invalid(
                    at("path"),
                    format!("{p:?} must start with \"/\" and hold no ';' or control characters"),
                ));
            }
        }
        if !cookie.domain.is_empty() {
            let domain = cookie.domain.strip_prefix('.').unwrap_or(&cookie.domain);
            if let Some(reason) = domain_problem(domain) {
                return Err(obj.invalid(at("domain"), reason));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Kind;

    fn check(json: &str) -> Result<(), String> {
        let s: Sticky = serde_json::from_str(json).expect("parses");
        s.check(&Object::new(Kind::Service, "api"), "loadBalancer.sticky")
            .map_err(|e| e.to_string())
    }

    #[test]
    fn valid_cookies() {
        assert_eq!(check("{}"), Ok(()));
        assert_eq!(check(r#"{"cookie":{}}"#), Ok(()));
        assert_eq!(
            check(
                r#"{"cookie":{"name":"srv","sameSite":"Strict","domain":".example.com","path":"/app"}}"#
            ),
            Ok(())
        );
    }

    #[test]
    fn invalid_cookies() {
        let prefix = "service \"api\": loadBalancer.sticky.cookie.";
        assert_eq!(
            check(r#"{"cookie":{"name":"a b"}}"#),
            Err(format!("{prefix}name: \"a b\" is not a valid cookie name"))
        );
        assert_eq!(
            check(r#"{"cookie":{"sameSite":"always"}}"#),
            Err(format!(
                "{prefix}sameSite: \"always\" must be none, lax or strict"
            ))
        );
        assert_eq!(
            check(r#"{"cookie":{"path":"app"}}"#),
            Err(format!(
                "{prefix}path: \"app\" must start with \"/\" and hold no ';' or control characters"
            ))
        );
        assert_eq!(
            check(r#"{"cookie":{"domain":"bad domain"}}"#),
            Err(format!(
                "{prefix}domain: \"bad domain\" is not a valid domain name"
            ))
        );
    }
}
