//! The `headers` middleware: custom request/response headers, CORS, and security headers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::checks::{field, Object};
use crate::serde_util::is_false;
use crate::ModelError;

/// `headers`: adds or removes headers and answers CORS preflights.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Headers {
    /// Headers set on the request; an empty value removes the header.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_request_headers: BTreeMap<String, String>,
    /// Headers set on the response; an empty value removes the header.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_response_headers: BTreeMap<String, String>,

    /// CORS: `Access-Control-Allow-Credentials`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub access_control_allow_credentials: bool,
    /// CORS: `Access-Control-Allow-Headers`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_control_allow_headers: Vec<String>,
    /// CORS: `Access-Control-Allow-Methods`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_control_allow_methods: Vec<String>,
    /// CORS: allowed origins (`*` for any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_control_allow_origin_list: Vec<String>,
    /// CORS: regexes of allowed origins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_control_allow_origin_list_regex: Vec<String>,
    /// CORS: `Access-Control-Expose-Headers`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_control_expose_headers: Vec<String>,
    /// CORS: `Access-Control-Max-Age`, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_control_max_age: Option<i64>,
    /// CORS: add `Vary: Origin`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub add_vary_header: bool,

    /// Allowed host names; any when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_hosts: Vec<String>,
    /// Headers that may carry the original host name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts_proxy_headers: Vec<String>,
    /// Header/value pairs that mark a request as HTTPS behind a proxy.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ssl_proxy_headers: BTreeMap<String, String>,
    /// `Strict-Transport-Security` max-age, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sts_seconds: Option<i64>,
    /// Add `includeSubDomains` to `Strict-Transport-Security`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub sts_include_subdomains: bool,
    /// Add `preload` to `Strict-Transport-Security`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub sts_preload: bool,
    /// Send `Strict-Transport-Security` over plain HTTP too.
    #[serde(default, rename = "forceSTSHeader", skip_serializing_if = "is_false")]
    pub force_sts_header: bool,
    /// `X-Frame-Options: DENY`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub frame_deny: bool,
    /// Custom `X-Frame-Options` value.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub custom_frame_options_value: String,
    /// `X-Content-Type-Options: nosniff`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub content_type_nosniff: bool,
    /// `X-XSS-Protection: 1; mode=block`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub browser_xss_filter: bool,
    /// Custom `X-XSS-Protection` value.
    #[serde(
        default,
        rename = "customBrowserXSSValue",
        skip_serializing_if = "String::is_empty"
    )]
    pub custom_browser_xss_value: String,
    /// `Content-Security-Policy`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub content_security_policy: String,
    /// `Content-Security-Policy-Report-Only`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub content_security_policy_report_only: String,
    /// `Public-Key-Pins`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub public_key: String,
    /// `Referrer-Policy`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub referrer_policy: String,
    /// `Permissions-Policy`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub permissions_policy: String,
    /// Relax `allowedHosts`, SSL and STS checks for development.
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_development: bool,
}

impl Headers {
    pub(crate) fn check(&self, obj: &Object, path: &str) -> Result<(), ModelError> {
        for (key, map) in [
            ("customRequestHeaders", &self.custom_request_headers),
            ("customResponseHeaders", &self.custom_response_headers),
            ("sslProxyHeaders", &self.ssl_proxy_headers),
        ] {
            for (name, value) in map {
                let at = field(path, &format!("{key}[{name:?}]"));
                obj.header_name(&at, name)?;
                obj.header_value(&at, value)?;
                // Header names ignore case: two spellings would race for one header.
                if let Some(other) = map
                    .keys()
                    .take_while(|k| *k != name)
                    .find(|k| k.eq_ignore_ascii_case(name))
                {
                    return Err(
                        obj.invalid(at, format!("{other:?} and {name:?} name the same header"))
                    );
                }
            }
        }
        for (key, list) in [
            (
                "accessControlAllowHeaders",
                &self.access_control_allow_headers,
            ),
            (
                "accessControlAllowMethods",
                &self.access_control_allow_methods,
            ),
            (
                "accessControlExposeHeaders",
                &self.access_control_expose_headers,
            ),
            ("hostsProxyHeaders", &self.hosts_proxy_headers),
        ] {
            for (i, name) in list.iter().enumerate() {
                if name != "*" {
                    obj.header_name(field(path, &format!("{key}[{i}]")), name)?;
                }
            }
        }
        for (i, origin) in self.access_control_allow_origin_list.iter().enumerate() {
            obj.header_value(
                field(path, &format!("accessControlAllowOriginList[{i}]")),
                origin,
            )?;
        }
        for (i, re) in self
            .access_control_allow_origin_list_regex
            .iter()
            .enumerate()
        {
            obj.regex(
                field(path, &format!("accessControlAllowOriginListRegex[{i}]")),
                re,
            )?;
        }
        if let Some(age) = self.access_control_max_age {
            obj.non_negative(field(path, "accessControlMaxAge"), age)?;
        }
        if let Some(secs) = self.sts_seconds {
            obj.non_negative(field(path, "stsSeconds"), secs)?;
        }
        for (key, value) in [
            ("customFrameOptionsValue", &self.custom_frame_options_value),
            ("customBrowserXSSValue", &self.custom_browser_xss_value),
            ("contentSecurityPolicy", &self.content_security_policy),
            (
                "contentSecurityPolicyReportOnly",
                &self.content_security_policy_report_only,
            ),
            ("publicKey", &self.public_key),
            ("referrerPolicy", &self.referrer_policy),
            ("permissionsPolicy", &self.permissions_policy),
        ] {
            obj.header_value(field(path, key), value)?;
        }
        Ok(())
    }
}
