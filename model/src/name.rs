//! Object names and references: the naming rule and the `@provider` suffix of references.

use crate::{Kind, ModelError};

/// Longest name accepted, the DNS name limit.
const MAX_NAME_LEN: usize = 253;

/// Checks that `name` is a valid name for an object of `kind`: 1 to 253 characters of
/// `[A-Za-z0-9._-]`, starting with a letter or digit.
pub fn validate_name(kind: Kind, name: &str) -> Result<(), ModelError> {
    match name_problem(name) {
        None => Ok(()),
        Some(reason) => Err(ModelError::InvalidName {
            kind,
            name: name.to_string(),
            reason,
        }),
    }
}

/// The object name inside a reference: `"api@file"` → `"api"`, `"api"` → `"api"`.
///
/// Traefik references may name the provider that defined the object; raftgate has one
/// store, so the provider is ignored when looking the object up.
pub fn strip_provider(name: &str) -> &str {
    match name.split_once('@') {
        Some((base, _provider)) => base,
        None => name,
    }
}

/// Why `name` breaks the naming rule, or `None` when it is valid.
pub(crate) fn name_problem(name: &str) -> Option<String> {
    let Some(first) = name.chars().next() else {
        return Some("must not be empty".to_string());
    };
    let len = name.chars().count();
    if len > MAX_NAME_LEN {
        return Some(format!(
            "is {len} characters long, the limit is {MAX_NAME_LEN}"
        ));
    }
    if !first.is_ascii_alphanumeric() {
        return Some(format!(
            "must start with a letter or a digit, not {first:?}"
        ));
    }
    if let Some((pos, c)) = name
        .chars()
        .enumerate()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Some(format!(
            "character {c:?} at position {} is not allowed (use A-Z, a-z, 0-9, '.', '_', '-')",
            pos + 1
        ));
    }
    None
}

/// Why a reference (a name with an optional `@provider` suffix) is invalid, or `None`.
pub(crate) fn reference_problem(reference: &str) -> Option<String> {
    if reference.is_empty() {
        return Some("must not be empty".to_string());
    }
    if let Some((base, provider)) = reference.split_once('@') {
        if provider.is_empty()
            || !provider
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        {
            return Some(format!(
                "{reference:?}: provider after '@' must be a non-empty word of [A-Za-z0-9_-]"
            ));
        }
        return name_problem(base).map(|reason| format!("{reference:?}: name {reason}"));
    }
    name_problem(reference).map(|reason| format!("{reference:?}: {reason}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_names() {
        for name in [
            "web",
            "a",
            "api-v2",
            "my_service.prod",
            "0day",
            &"x".repeat(253),
        ] {
            assert!(validate_name(Kind::Router, name).is_ok(), "{name}");
        }
    }

    #[test]
    fn rejects_invalid_names_with_reason() {
        let cases = [
            ("", "router name \"\": must not be empty"),
            (
                "-web",
                "router name \"-web\": must start with a letter or a digit, not '-'",
            ),
            (
                "we b",
                "router name \"we b\": character ' ' at position 3 is not allowed (use A-Z, a-z, 0-9, '.', '_', '-')",
            ),
            (
                "api@file",
                "router name \"api@file\": character '@' at position 4 is not allowed (use A-Z, a-z, 0-9, '.', '_', '-')",
            ),
        ];
        for (name, msg) in cases {
            let err = validate_name(Kind::Router, name).unwrap_err();
            assert_eq!(err.to_string(), msg);
        }
        let long = "x".repeat(254);
        let err = validate_name(Kind::Service, &long).unwrap_err();
        assert!(err
            .to_string()
            .ends_with("is 254 characters long, the limit is 253"));
    }

    #[test]
    fn strips_provider() {
        assert_eq!(strip_provider("api@file"), "api");
        assert_eq!(strip_provider("api@docker"), "api");
        assert_eq!(strip_provider("api"), "api");
        assert_eq!(strip_provider("@file"), "");
    }

    #[test]
    fn checks_references() {
        assert_eq!(reference_problem("api"), None);
        assert_eq!(reference_problem("api@file"), None);
        assert_eq!(reference_problem("api@kubernetes-crd"), None);
        assert!(reference_problem("").is_some());
        assert!(reference_problem("api@").is_some());
        assert!(reference_problem("@file").is_some());
        assert!(reference_problem("a b").is_some());
        assert!(reference_problem("a@b@c").is_some());
    }
}
