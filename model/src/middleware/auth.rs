//! Password authentication middlewares: `basicAuth` and `digestAuth`.
//!
//! Error messages name the offending entry by index and never echo it, since entries hold
//! password hashes.

use serde::{Deserialize, Serialize};

use crate::checks::{field, Object};
use crate::serde_util::is_false;
use crate::ModelError;

/// `basicAuth`: HTTP basic authentication against htpasswd entries (`user:hash`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BasicAuth {
    /// Entries `user:hash` (bcrypt, MD5 `$apr1$` or SHA1 `{SHA}` hashes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    /// Path of an htpasswd file on each node.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub users_file: String,
    /// Realm sent in the challenge (`traefik` by default).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub realm: String,
    /// Remove the `Authorization` header before forwarding.
    #[serde(default, skip_serializing_if = "is_false")]
    pub remove_header: bool,
    /// Request header that receives the authenticated user name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub header_field: String,
}

/// `digestAuth`: HTTP digest authentication against htdigest entries (`user:realm:hash`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DigestAuth {
    /// Entries `user:realm:hash`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    /// Path of an htdigest file on each node.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub users_file: String,
    /// Realm sent in the challenge (`traefik` by default).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub realm: String,
    /// Remove the `Authorization` header before forwarding.
    #[serde(default, skip_serializing_if = "is_false")]
    pub remove_header: bool,
    /// Request header that receives the authenticated user name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub header_field: String,
}

/// Checks what both auth middlewares share; `parts` is the number of `:`-separated fields of
/// an entry and `shape` how it should look.
fn check_common(
    obj: &Object,
    path: &str,
    users: &[String],
    users_file: &str,
    realm: &str,
    header_field: &str,
    (parts, shape): (usize, &str),
) -> Result<(), ModelError> {
    if users.is_empty() && users_file.is_empty() {
        return Err(obj.invalid(path, "users or usersFile is required"));
    }
    for (i, entry) in users.iter().enumerate() {
        let fields: Vec<&str> = entry.splitn(parts, ':').collect();
        if fields.len() != parts || fields.iter().any(|f| f.is_empty()) {
            return Err(obj.invalid(
                field(path, &format!("users[{i}]")),
                format!("entry must look like {shape:?}"),
            ));
        }
    }
    if realm.contains('"') || realm.chars().any(char::is_control) {
        return Err(obj.invalid(
            field(path, "realm"),
            "must not contain '\"' or control characters",
        ));
    }
    if !header_field.is_empty() {
        obj.header_name(field(path, "headerField"), header_field)?;
    }
    Ok(())
}

impl BasicAuth {
    pub(crate) fn check(&self, obj: &Object, path: &str) -> Result<(), ModelError> {
        check_common(
            obj,
            path,
            &self.users,
            &self.users_file,
            &self.realm,
            &self.header_field,
            (2, "user:hash"),
        )
    }
}

impl DigestAuth {
    pub(crate) fn check(&self, obj: &Object, path: &str) -> Result<(), ModelError> {
        check_common(
            obj,
            path,
            &self.users,
            &self.users_file,
            &self.realm,
            &self.header_field,
            (3, "user:realm:hash"),
        )
    }
}
