//! The `errors` middleware: replaces error responses with a page served by another service.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::checks::{field, parse_status_range, Object};
use crate::ModelError;

/// `errors`: on a status within `status`, fetches `query` from `service` and returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ErrorPage {
    /// Status codes or ranges that trigger the page, e.g. `"404"`, `"500-599"`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub status: Vec<String>,
    /// Service that serves the error page (an `@provider` suffix is allowed).
    #[serde(default)]
    pub service: String,
    /// Path of the page; `{status}` and `{url}` are substituted.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub query: String,
    /// Status codes or ranges rewritten to another status in the answer.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub status_rewrites: BTreeMap<String, i64>,
}

impl ErrorPage {
    /// The parsed status ranges, inclusive; invalid entries are skipped (see `validate`).
    pub fn status_ranges(&self) -> Vec<(u16, u16)> {
        self.status
            .iter()
            .filter_map(|s| parse_status_range(s).ok())
            .collect()
    }

    pub(crate) fn check(&self, obj: &Object, path: &str) -> Result<(), ModelError> {
        if self.status.is_empty() {
            return Err(obj.invalid(
                field(path, "status"),
                "at least one status or range is required",
            ));
        }
        for (i, s) in self.status.iter().enumerate() {
            parse_status_range(s)
                .map_err(|reason| obj.invalid(field(path, &format!("status[{i}]")), reason))?;
        }
        let at = field(path, "service");
        obj.required(&at, &self.service)?;
        obj.reference(&at, &self.service)?;
        if !self.query.is_empty() && !self.query.starts_with('/') {
            return Err(obj.invalid(
                field(path, "query"),
                format!("{:?} must start with \"/\"", self.query),
            ));
        }
        for (range, code) in &self.status_rewrites {
            let at = field(path, &format!("statusRewrites[{range:?}]"));
            parse_status_range(range).map_err(|reason| obj.invalid(&at, reason))?;
            obj.status_code(&at, *code)?;
        }
        Ok(())
    }
}
