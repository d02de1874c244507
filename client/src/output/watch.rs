//! Watch events as printed: one line per event (table, JSON) or one YAML document each.

use anyhow::Result;
use raftgate_proto::{EventType, WatchEvent};
use serde::Serialize;
use serde_json::Value;

use super::{kind_name, parse_spec};
use crate::cli::Output;

/// One watch event as printed in JSON/YAML.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventOut {
    pub revision: u64,
    #[serde(rename = "type")]
    pub kind_of_change: &'static str,
    pub kind: &'static str,
    pub name: String,
    /// The new spec for a put, `null` for a delete.
    pub spec: Value,
    pub managed_by: String,
}

impl EventOut {
    pub fn from_proto(event: &WatchEvent) -> Self {
        let object = event.object.clone().unwrap_or_default();
        EventOut {
            revision: event.revision,
            kind_of_change: match event.r#type() {
                EventType::Put => "put",
                EventType::Delete => "delete",
                EventType::Unspecified => "unknown",
            },
            kind: kind_name(object.kind()),
            name: object.name.clone(),
            spec: parse_spec(&object.spec_json),
            managed_by: object.managed_by,
        }
    }
}

pub const WATCH_HEADER: &str = "REV       TYPE    KIND/NAME\n";

/// One event on its own line (table and JSON) or as its own YAML document.
pub fn watch_event(format: Output, event: &WatchEvent) -> Result<String> {
    let out = EventOut::from_proto(event);
    Ok(match format {
        Output::Json => serde_json::to_string(&out)? + "\n",
        Output::Yaml => format!("---\n{}", serde_yaml_ng::to_string(&out)?),
        Output::Table => format!(
            "{:<9} {:<7} {}/{}\n",
            out.revision, out.kind_of_change, out.kind, out.name
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::test_object as object;
    use raftgate_proto::{Kind, Object};
    use serde_json::json;

    #[test]
    fn watch_lines() {
        let put = WatchEvent {
            revision: 12,
            r#type: EventType::Put as i32,
            object: Some(object(
                Kind::Router,
                "api",
                json!({"rule": "Host(`a`)"}),
                12,
            )),
        };
        assert_eq!(
            watch_event(Output::Table, &put).unwrap(),
            "12        put     router/api\n"
        );
        let line = watch_event(Output::Json, &put).unwrap();
        assert_eq!(line.lines().count(), 1);
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            (v["type"].as_str(), v["kind"].as_str()),
            (Some("put"), Some("router"))
        );
        let delete = WatchEvent {
            revision: 13,
            r#type: EventType::Delete as i32,
            object: Some(Object {
                kind: Kind::Service as i32,
                name: "api".into(),
                ..Default::default()
            }),
        };
        let v: Value = serde_json::from_str(&watch_event(Output::Json, &delete).unwrap()).unwrap();
        assert_eq!(
            (v["type"].as_str(), &v["spec"]),
            (Some("delete"), &Value::Null)
        );
        assert!(watch_event(Output::Yaml, &delete)
            .unwrap()
            .starts_with("---\nrevision: 13\n"));
    }
}
