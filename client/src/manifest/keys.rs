//! Field names in any case, as Traefik's file loader reads them (`loadbalancer`,
//! `certresolver`, `healthcheck`, `entrypoints` …).
//!
//! The model's types know their field names; rather than repeat them here, a spec is parsed,
//! and each "unknown field `x`, expected one of …" error whose `x` differs from an expected
//! name only in case renames that key in place and parses again. Only keys in struct positions
//! ever produce that error, so object names, header names and other map keys are never
//! touched; a key that matches no field is reported as before.

use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_path_to_error::Segment;

/// Keys renamed for one spec at most: a spec holds far fewer fields than this.
const MAX_RENAMES: usize = 1000;

/// Parses `spec` as `T`, reading field names case-insensitively.
pub fn parse<T: DeserializeOwned>(
    mut spec: Value,
) -> Result<T, serde_path_to_error::Error<serde_json::Error>> {
    let mut renames = 0;
    loop {
        match serde_path_to_error::deserialize::<_, T>(&spec) {
            Ok(parsed) => return Ok(parsed),
            Err(e) if renames < MAX_RENAMES => match canonical_rename(&e) {
                Some((unknown, canonical)) if rename(&mut spec, &e, &unknown, &canonical) => {
                    renames += 1;
                }
                _ => return Err(e),
            },
            Err(e) => return Err(e),
        }
    }
}

/// The unknown field of an "unknown field" error and the expected name it matches in case.
fn canonical_rename(e: &serde_path_to_error::Error<serde_json::Error>) -> Option<(String, String)> {
    let text = e.inner().to_string();
    let rest = text.strip_prefix("unknown field `")?;
    let (unknown, rest) = rest.split_once('`')?;
    let expected = rest.split_once("expected")?.1;
    let canonical = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .find(|name| name.eq_ignore_ascii_case(unknown) && *name != unknown)?;
    Some((unknown.to_string(), canonical.to_string()))
}

/// Renames `unknown` to `canonical` in the object the error's path leads to.
fn rename(
    spec: &mut Value,
    e: &serde_path_to_error::Error<serde_json::Error>,
    unknown: &str,
    canonical: &str,
) -> bool {
    let mut segments: Vec<&Segment> = e.path().iter().collect();
    if matches!(segments.last(), Some(Segment::Map { key }) if key == unknown) {
        segments.pop();
    }
    let mut at = spec;
    for segment in segments {
        at = match (segment, at) {
            (Segment::Map { key }, Value::Object(map)) => match map.get_mut(key) {
                Some(next) => next,
                None => return false,
            },
            (Segment::Seq { index }, Value::Array(items)) => match items.get_mut(*index) {
                Some(next) => next,
                None => return false,
            },
            (Segment::Enum { .. } | Segment::Unknown, other) => other,
            _ => return false,
        };
    }
    let Value::Object(map) = at else {
        return false;
    };
    if map.contains_key(canonical) {
        return false;
    }
    match map.remove(unknown) {
        Some(value) => {
            map.insert(canonical.to_string(), value);
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use raftgate_model::{Router, Service};
    use serde_json::json;

    use super::*;

    #[test]
    fn field_names_are_read_in_any_case() {
        let s: Service = parse(json!({"loadbalancer": {"Servers": [{"URL": "http://a"}],
            "healthcheck": {"path": "/h"}, "passhostheader": false}}))
        .unwrap();
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            json!({"loadBalancer": {"servers": [{"url": "http://a"}],
                "healthCheck": {"path": "/h"}, "passHostHeader": false}})
        );
        let r: Router = parse(
            json!({"Rule": "Path(`/`)", "entrypoints": ["web"], "service": "s",
            "tls": {"certresolver": "le"}}),
        )
        .unwrap();
        assert_eq!(r.entry_points, ["web"]);
        assert_eq!(r.tls.unwrap().cert_resolver, "le");
    }

    #[test]
    fn unknown_fields_and_map_keys_are_left_alone() {
        let e = parse::<Service>(json!({"loadBalancer": {"servers": [{"urll": "http://a"}]}}))
            .unwrap_err();
        assert!(e.to_string().contains("urll"), "{e}");
        let m: raftgate_model::Middleware = parse(json!({"headers": {
            "customRequestHeaders": {"X-MiXeD": "1"}}}))
        .unwrap();
        let out = serde_json::to_value(&m).unwrap();
        assert_eq!(out["headers"]["customRequestHeaders"]["X-MiXeD"], "1");
    }
}
