//! Path rewriting middlewares: `addPrefix`, `stripPrefix`, `stripPrefixRegex`, `replacePath`
//! and `replacePathRegex`.

use serde::{Deserialize, Serialize};

use crate::checks::{field, Object};
use crate::ModelError;

/// `addPrefix`: prepends `prefix` to the request path.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddPrefix {
    /// The prefix; a leading `/` is added when it has none.
    #[serde(default)]
    pub prefix: String,
}

/// `stripPrefix`: removes the first matching prefix from the request path.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StripPrefix {
    /// The prefixes to try, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prefixes: Vec<String>,
    /// Deprecated in Traefik v3: keep a `/` when the whole path was stripped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_slash: Option<bool>,
}

/// `stripPrefixRegex`: removes the prefix matched by the first matching regex.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StripPrefixRegex {
    /// The regexes to try, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regex: Vec<String>,
}

/// `replacePath`: replaces the request path (the original goes in `X-Replaced-Path`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplacePath {
    /// The new path, starting with `/`.
    #[serde(default)]
    pub path: String,
}

/// `replacePathRegex`: rewrites the request path with a regex and a replacement.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplacePathRegex {
    /// Regex matched against the path.
    #[serde(default)]
    pub regex: String,
    /// Replacement, with `$1`-style group references.
    #[serde(default)]
    pub replacement: String,
}

/// Checks a required value that must start with `/`.
fn absolute_path(obj: &Object, at: String, value: &str) -> Result<(), ModelError> {
    obj.required(&at, value)?;
    if !value.starts_with('/') {
        return Err(obj.invalid(at, format!("{value:?} must start with \"/\"")));
    }
    Ok(())
}

impl AddPrefix {
    /// Only an empty prefix is refused, as in Traefik; one without a leading `/` is taken as
    /// Traefik takes it: the new path is `/` + prefix + path.
    pub(crate) fn check(&self, obj: &Object, path: &str) -> Result<(), ModelError> {
        obj.required(field(path, "prefix"), &self.prefix)
    }
}

impl StripPrefix {
    pub(crate) fn check(&self, obj: &Object, path: &str) -> Result<(), ModelError> {
        if self.prefixes.is_empty() {
            return Err(obj.invalid(field(path, "prefixes"), "at least one prefix is required"));
        }
        for (i, p) in self.prefixes.iter().enumerate() {
            obj.required(field(path, &format!("prefixes[{i}]")), p)?;
        }
        Ok(())
    }
}

impl StripPrefixRegex {
    pub(crate) fn check(&self, obj: &Object, path: &str) -> Result<(), ModelError> {
        if self.regex.is_empty() {
            return Err(obj.invalid(field(path, "regex"), "at least one regex is required"));
        }
        for (i, r) in self.regex.iter().enumerate() {
            let at = field(path, &format!("regex[{i}]"));
            obj.required(&at, r)?;
            obj.regex(&at, r)?;
        }
        Ok(())
    }
}

impl ReplacePath {
    pub(crate) fn check(&self, obj: &Object, path: &str) -> Result<(), ModelError> {
        absolute_path(obj, field(path, "path"), &self.path)
    }
}

impl ReplacePathRegex {
    pub(crate) fn check(&self, obj: &Object, path: &str) -> Result<(), ModelError> {
        let at = field(path, "regex");
        obj.required(&at, &self.regex)?;
        obj.regex(&at, &self.regex)
    }
}
