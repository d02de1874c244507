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

/// Says what is wrong with an entry's hash, if anything (never echoing it).
type HashCheck = fn(&str) -> Option<&'static str>;

/// Checks what both auth middlewares share; `parts` is the number of `:`-separated fields of
/// an entry, `shape` how it should look and `hash_problem` what its last field must be.
fn check_common(
    obj: &Object,
    path: &str,
    users: &[String],
    users_file: &str,
    realm: &str,
    header_field: &str,
    (parts, shape, hash_problem): (usize, &str, HashCheck),
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
        if let Some(problem) = hash_problem(fields[parts - 1]) {
            return Err(obj.invalid(field(path, &format!("users[{i}]")), problem));
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

/// What is wrong with an htpasswd hash, judged by its form only: bcrypt (`$2y$`, `$2a$`,
/// `$2b$`, 60 characters), MD5 (`$apr1$` or `$1$`, salt and 22 characters) or SHA1 (`{SHA}`,
/// 28 base64 characters). Plain-text passwords are refused, as Traefik never matches them.
fn htpasswd_hash_problem(hash: &str) -> Option<&'static str> {
    let ok = if ["$2y$", "$2a$", "$2b$"].iter().any(|p| hash.starts_with(p)) {
        hash.len() == 60
    } else if let Some(rest) = hash
        .strip_prefix("$apr1$")
        .or_else(|| hash.strip_prefix("$1$"))
    {
        rest.split_once('$')
            .is_some_and(|(salt, digest)| salt.len() <= 8 && digest.len() == 22)
    } else if let Some(b64) = hash.strip_prefix("{SHA}") {
        b64.len() == 28
            && b64.ends_with('=')
            && b64[..27]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
    } else {
        false
    };
    (!ok).then_some(
        "hash must be bcrypt ($2y$, $2a$, $2b$), MD5 ($apr1$, $1$) or SHA1 ({SHA}) in htpasswd form",
    )
}

/// What is wrong with an htdigest hash: it must be 32 hex digits (MD5 of user:realm:password).
fn htdigest_hash_problem(hash: &str) -> Option<&'static str> {
    (hash.len() != 32 || !hash.bytes().all(|b| b.is_ascii_hexdigit()))
        .then_some("hash must be 32 hex digits (MD5 of user:realm:password)")
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
            (2, "user:hash", htpasswd_hash_problem),
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
            (3, "user:realm:hash", htdigest_hash_problem),
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::Middleware;

    fn validate(json: &str) -> Result<(), String> {
        let m: Middleware = serde_json::from_str(json).unwrap();
        m.validate("mw").map_err(|e| e.to_string())
    }

    #[test]
    fn htpasswd_hashes_of_every_supported_form_are_accepted() {
        for hash in [
            "$2y$04$kvvZ9v/HX5KIz84fsvqDp.KcCo6fiJ374F7Vrd3u2giYpaD4QoqNW",
            "$2b$04$kvvZ9v/HX5KIz84fsvqDp.KcCo6fiJ374F7Vrd3u2giYpaD4QoqNW",
            "$apr1$YgGaA8tq$unGp4Mn0htTX/XOHGjHAK/",
            "$1$abc$B..HicC/afMveWeNyfNsf/",
            "{SHA}9SMYoF5RilWWASry7TjeaKwmpGg=",
        ] {
            let json = format!(r#"{{"basicAuth":{{"users":["u:{hash}"]}}}}"#);
            assert_eq!(validate(&json), Ok(()), "{hash}");
        }
    }

    #[test]
    fn bad_hashes_are_refused_naming_the_entry_not_the_hash() {
        for hash in [
            "plaintext",
            "$2y$04$short",
            "$apr1$nodigest",
            "{SHA}abc",
            "$6$x$y",
        ] {
            let json = format!(
                r#"{{"basicAuth":{{"users":["u:{{SHA}}9SMYoF5RilWWASry7TjeaKwmpGg=","u:{hash}"]}}}}"#
            );
            let err = validate(&json).unwrap_err();
            assert!(
                err.starts_with("middleware \"mw\": basicAuth.users[1]: hash must be bcrypt"),
                "{err}"
            );
            assert!(!err.contains(hash), "{err}");
        }
        let err = validate(r#"{"digestAuth":{"users":["u:traefik:nothex"]}}"#).unwrap_err();
        assert_eq!(
            err,
            "middleware \"mw\": digestAuth.users[0]: hash must be 32 hex digits (MD5 of user:realm:password)"
        );
    }
}
