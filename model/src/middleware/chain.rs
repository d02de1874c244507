//! The `chain` middleware: a named, reusable list of other middlewares.

use serde::{Deserialize, Serialize};

use crate::checks::{field, Object};
use crate::ModelError;

/// `chain`: applies the listed middlewares in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Chain {
    /// Middleware names (an `@provider` suffix is allowed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub middlewares: Vec<String>,
}

impl Chain {
    pub(crate) fn check(&self, obj: &Object, path: &str) -> Result<(), ModelError> {
        if self.middlewares.is_empty() {
            return Err(obj.invalid(
                field(path, "middlewares"),
                "at least one middleware is required",
            ));
        }
        for (i, m) in self.middlewares.iter().enumerate() {
            obj.reference(field(path, &format!("middlewares[{i}]")), m)?;
        }
        Ok(())
    }
}
