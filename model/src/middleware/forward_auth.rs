//! The `forwardAuth` middleware: asks an external service whether to let a request through.

use serde::{Deserialize, Serialize};

use crate::checks::{field, https_not_yet, is_token, url_problem, Object};
use crate::serde_util::is_false;
use crate::ModelError;

/// `forwardAuth`: sends each request's headers to `address`; a 2xx answer lets it through,
/// anything else is returned to the client.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForwardAuth {
    /// URL of the authentication server (`http` or `https`).
    #[serde(default)]
    pub address: String,
    /// TLS settings for an `https` address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<ClientTls>,
    /// Trust the client's `X-Forwarded-*` headers.
    #[serde(default, skip_serializing_if = "is_false")]
    pub trust_forward_header: bool,
    /// Headers copied from the auth response onto the forwarded request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub auth_response_headers: Vec<String>,
    /// Regex of further headers copied from the auth response.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub auth_response_headers_regex: String,
    /// Request headers sent to the auth server; all when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub auth_request_headers: Vec<String>,
    /// Cookies copied from the auth response onto the client response.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_auth_cookies_to_response: Vec<String>,
    /// Send the request body to the auth server.
    #[serde(default, skip_serializing_if = "is_false")]
    pub forward_body: bool,
    /// Largest body sent with `forwardBody`, in bytes; -1 (default) for no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_body_size: Option<i64>,
    /// Keep a relative `Location` header of the auth response as is.
    #[serde(default, skip_serializing_if = "is_false")]
    pub preserve_location_header: bool,
    /// Use the request's method for the auth request instead of `GET`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub preserve_request_method: bool,
    /// Request header that receives the authenticated user name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub header_field: String,
}

/// Client TLS settings for talking to an HTTPS server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientTls {
    /// CA certificate (path or PEM) to verify the server with.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ca: String,
    /// Client certificate (path or PEM).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cert: String,
    /// Client private key (path or PEM).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key: String,
    /// Skip verification of the server certificate.
    #[serde(default, skip_serializing_if = "is_false")]
    pub insecure_skip_verify: bool,
}

impl ForwardAuth {
    pub(crate) fn check(&self, obj: &Object, path: &str) -> Result<(), ModelError> {
        let at = field(path, "address");
        obj.required(&at, &self.address)?;
        if let Some(reason) = url_problem(&self.address, &["http", "https"]) {
            return Err(obj.invalid(at, reason));
        }
        if let Some(reason) = https_not_yet(&self.address) {
            return Err(obj.invalid(at, reason));
        }
        if let Some(tls) = &self.tls {
            if tls.cert.is_empty() != tls.key.is_empty() {
                return Err(obj.invalid(field(path, "tls"), "cert and key must be given together"));
            }
        }
        for (key, list) in [
            ("authResponseHeaders", &self.auth_response_headers),
            ("authRequestHeaders", &self.auth_request_headers),
        ] {
            for (i, name) in list.iter().enumerate() {
                obj.header_name(field(path, &format!("{key}[{i}]")), name)?;
            }
        }
        for (i, name) in self.add_auth_cookies_to_response.iter().enumerate() {
            if !is_token(name) {
                return Err(obj.invalid(
                    field(path, &format!("addAuthCookiesToResponse[{i}]")),
                    format!("{name:?} is not a valid cookie name"),
                ));
            }
        }
        if !self.auth_response_headers_regex.is_empty() {
            obj.regex(
                field(path, "authResponseHeadersRegex"),
                &self.auth_response_headers_regex,
            )?;
        }
        if let Some(size) = self.max_body_size {
            obj.size_limit(field(path, "maxBodySize"), size)?;
        }
        if !self.header_field.is_empty() {
            obj.header_name(field(path, "headerField"), &self.header_field)?;
        }
        Ok(())
    }
}
