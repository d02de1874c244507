//! JSON/YAML form of [`Middleware`]: a map with exactly one key, the Traefik type name.
//!
//! Written by hand rather than derived because serde's externally tagged enums become YAML
//! tags (`!stripPrefix`) in `serde_yaml_ng`, while Traefik files use a plain one-key map.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Middleware;

impl Serialize for Middleware {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        self.serialize_entry(&mut map)?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for Middleware {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(MiddlewareVisitor)
    }
}

/// Reads the one-key map.
struct MiddlewareVisitor;

impl<'de> Visitor<'de> for MiddlewareVisitor {
    type Value = Middleware;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map with one middleware type key, such as {\"stripPrefix\": {...}}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let Some(key) = map.next_key::<String>()? else {
            return Err(de::Error::custom(
                "a middleware needs a type key, such as `stripPrefix`",
            ));
        };
        // Type keys are case-insensitive, as Traefik's loader reads them (`stripprefix`).
        let canonical = Middleware::TYPE_NAMES
            .iter()
            .find(|name| name.eq_ignore_ascii_case(&key))
            .map_or(key.as_str(), |name| name);
        let middleware = Middleware::deserialize_value(canonical, &mut map)
            .unwrap_or_else(|| Err(de::Error::custom(unknown_type(&key))))?;
        if let Some(other) = map.next_key::<String>()? {
            return Err(de::Error::custom(format!(
                "a middleware has exactly one type key, found `{key}` and `{other}`"
            )));
        }
        Ok(middleware)
    }
}

/// The message for a type key that is no middleware raftgate has, saying why when it is real
/// Traefik.
fn unknown_type(key: &str) -> String {
    match key.to_ascii_lowercase().as_str() {
        "plugin" => "plugins are not supported: raftgate runs no Traefik plugins (Yaegi or WASM); \
                     use a forwardAuth server for custom logic"
            .to_string(),
        "ipwhitelist" => {
            "`ipWhiteList` is Traefik v2's name: use `ipAllowList` (same fields)".to_string()
        }
        _ => format!("unknown middleware type `{key}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(json: &str) -> String {
        serde_json::from_str::<Middleware>(json)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn refuses_maps_without_exactly_one_known_key() {
        assert!(err("{}").starts_with("a middleware needs a type key"));
        assert!(err(r#"{"foo":{}}"#).starts_with("unknown middleware type `foo` at"));
        assert!(err(r#"{"plugin":{"x":{}}}"#).starts_with("plugins are not supported"));
        assert!(err(r#"{"ipWhiteList":{}}"#).starts_with("`ipWhiteList` is Traefik v2's name"));
        // Type keys in any case, as Traefik's loader reads them.
        let m: Middleware =
            serde_json::from_str(r#"{"STRIPprefix":{"prefixes":["/a"]}}"#).expect("parses");
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"stripPrefix":{"prefixes":["/a"]}}"#
        );
        assert!(
            err(r#"{"chain":{"middlewares":["a"]},"retry":{"attempts":1}}"#)
                .starts_with("a middleware has exactly one type key, found `chain` and `retry`")
        );
        assert!(err(r#""chain""#).starts_with("invalid type: string"));
    }

    #[test]
    fn yaml_uses_a_plain_map() {
        let m: Middleware =
            serde_yaml_ng::from_str("retry:\n  attempts: 3\n").expect("yaml parses");
        assert_eq!(m.type_name(), "retry");
        assert_eq!(
            serde_yaml_ng::to_string(&m).ok().as_deref(),
            Some("retry:\n  attempts: 3\n")
        );
    }

    /// The node wraps objects in an adjacently tagged enum; serde then buffers the middleware
    /// when `spec` comes before `kind`, which must still work.
    #[test]
    fn works_inside_buffered_adjacently_tagged_enums() {
        #[derive(Debug, PartialEq, serde::Deserialize)]
        #[serde(tag = "kind", content = "spec", rename_all = "lowercase")]
        enum Spec {
            Middleware(Middleware),
        }
        let json = r#"{"spec":{"retry":{"attempts":2,"initialInterval":5}},"kind":"middleware"}"#;
        let Spec::Middleware(m) = serde_json::from_str(json).expect("buffered parse");
        assert_eq!(
            serde_json::to_string(&m).ok().as_deref(),
            Some(r#"{"retry":{"attempts":2,"initialInterval":5}}"#)
        );
    }

    #[test]
    fn every_type_name_is_unique() {
        let mut names = Middleware::TYPE_NAMES.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Middleware::TYPE_NAMES.len());
    }
}
