//! Redirect middlewares: `redirectScheme` and `redirectRegex`.

use serde::{Deserialize, Serialize};

use crate::checks::{field, Object};
use crate::serde_util::is_false;
use crate::ModelError;

/// `redirectScheme`: redirects the client to the same URL with another scheme and port.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RedirectScheme {
    /// Target scheme, e.g. `https`.
    #[serde(default)]
    pub scheme: String,
    /// Target port, as a string; the scheme's default when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub port: String,
    /// Answer 301/308 instead of 302/307.
    #[serde(default, skip_serializing_if = "is_false")]
    pub permanent: bool,
}

/// `redirectRegex`: redirects the client to the URL rewritten by a regex.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RedirectRegex {
    /// Regex matched against the full request URL.
    #[serde(default)]
    pub regex: String,
    /// Target URL, with `$1`-style group references.
    #[serde(default)]
    pub replacement: String,
    /// Answer 301/308 instead of 302/307.
    #[serde(default, skip_serializing_if = "is_false")]
    pub permanent: bool,
}

impl RedirectScheme {
    pub(crate) fn check(&self, obj: &Object, path: &str) -> Result<(), ModelError> {
        let at = field(path, "scheme");
        obj.required(&at, &self.scheme)?;
        let mut chars = self.scheme.chars();
        let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if !valid {
            return Err(obj.invalid(at, format!("{:?} is not a URL scheme", self.scheme)));
        }
        if !self.port.is_empty() && !matches!(self.port.parse::<u16>(), Ok(p) if p > 0) {
            return Err(obj.invalid(
                field(path, "port"),
                format!("{:?} is not a port number (1-65535)", self.port),
            ));
        }
        Ok(())
    }
}

impl RedirectRegex {
    pub(crate) fn check(&self, obj: &Object, path: &str) -> Result<(), ModelError> {
        let at = field(path, "regex");
        obj.required(&at, &self.regex)?;
        obj.regex(&at, &self.regex)?;
        let at = field(path, "replacement");
        obj.required(&at, &self.replacement)?;
        // The rewrite is sent back as the `Location` header.
        obj.header_value(&at, &self.replacement)
    }
}
