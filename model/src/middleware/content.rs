//! Body and content middlewares: `compress`, `contentType` and `grpcWeb`.

use serde::{Deserialize, Serialize};

use crate::checks::{field, or_list, Object};
use crate::ModelError;

/// Encodings the `compress` middleware can produce.
const ENCODINGS: &[&str] = &["gzip", "br", "zstd"];

/// `compress`: compresses responses for clients that accept it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Compress {
    /// Content types never compressed (exclusive with `includedContentTypes`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded_content_types: Vec<String>,
    /// The only content types compressed (exclusive with `excludedContentTypes`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub included_content_types: Vec<String>,
    /// Smallest body compressed, in bytes (default 1024).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_response_body_bytes: Option<i64>,
    /// Encoding used when the client accepts any (`*`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub default_encoding: String,
    /// Encodings offered, in order of preference (default zstd, br, gzip).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub encodings: Vec<String>,
}

/// `contentType`: controls the response `Content-Type`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContentType {
    /// Sniff and set a missing `Content-Type` (default `false` in Traefik v3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_detect: Option<bool>,
}

/// `grpcWeb`: translates gRPC-Web requests into gRPC.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GrpcWeb {
    /// Origins allowed to make gRPC-Web calls (`*` for any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_origins: Vec<String>,
}

impl GrpcWeb {
    /// Each origin is `*` or a serialized origin, `scheme://host[:port]` with no path.
    pub(crate) fn check(&self, obj: &Object, path: &str) -> Result<(), ModelError> {
        for (i, origin) in self.allow_origins.iter().enumerate() {
            if origin == "*" {
                continue;
            }
            let valid = origin.split_once("://").is_some_and(|(scheme, rest)| {
                !scheme.is_empty()
                    && scheme
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
                    && !rest.is_empty()
                    && !rest
                        .bytes()
                        .any(|b| b"/?#@ ".contains(&b) || b.is_ascii_control())
            });
            if !valid {
                return Err(obj.invalid(
                    field(path, &format!("allowOrigins[{i}]")),
                    format!(
                        "{origin:?} is not \"*\" or an origin like \"https://app.example.com\""
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl Compress {
    pub(crate) fn check(&self, obj: &Object, path: &str) -> Result<(), ModelError> {
        if !self.excluded_content_types.is_empty() && !self.included_content_types.is_empty() {
            return Err(obj.invalid(
                path,
                "excludedContentTypes and includedContentTypes cannot be used together",
            ));
        }
        for (key, list) in [
            ("excludedContentTypes", &self.excluded_content_types),
            ("includedContentTypes", &self.included_content_types),
        ] {
            for (i, ct) in list.iter().enumerate() {
                let (essence, _params) = ct.split_once(';').unwrap_or((ct, ""));
                let valid = essence
                    .trim()
                    .split_once('/')
                    .is_some_and(|(t, s)| !t.is_empty() && !s.is_empty());
                if !valid {
                    return Err(obj.invalid(
                        field(path, &format!("{key}[{i}]")),
                        format!("{ct:?} is not a media type like \"text/html\""),
                    ));
                }
            }
        }
        if let Some(n) = self.min_response_body_bytes {
            obj.non_negative(field(path, "minResponseBodyBytes"), n)?;
        }
        let known = |e: &str| ENCODINGS.contains(&e);
        for (i, e) in self.encodings.iter().enumerate() {
            if !known(e) {
                return Err(obj.invalid(
                    field(path, &format!("encodings[{i}]")),
                    format!("{e:?} must be {}", or_list(ENCODINGS)),
                ));
            }
        }
        if !self.default_encoding.is_empty() && !known(&self.default_encoding) {
            return Err(obj.invalid(
                field(path, "defaultEncoding"),
                format!("{:?} must be {}", self.default_encoding, or_list(ENCODINGS)),
            ));
        }
        Ok(())
    }
}
