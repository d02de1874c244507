//! Config objects as printed: the `Item` of JSON/YAML output and the per-kind tables.

use raftgate_proto::{Kind, Object};
use serde::Serialize;
use serde_json::Value;

use super::{kind_name, table};

/// A config object as printed.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    pub kind: &'static str,
    pub name: String,
    pub spec: Value,
    pub create_revision: u64,
    pub mod_revision: u64,
    pub managed_by: String,
}

impl Item {
    pub fn from_proto(object: &Object) -> Self {
        Item {
            kind: kind_name(object.kind()),
            name: object.name.clone(),
            spec: parse_spec(&object.spec_json),
            create_revision: object.create_revision,
            mod_revision: object.mod_revision,
            managed_by: object.managed_by.clone(),
        }
    }
}

/// The spec bytes as JSON; `null` when empty, a string if the server sent something that is
/// not JSON (shown rather than hidden).
pub fn parse_spec(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

/// `get`/`list` of several objects.
#[derive(Debug, Serialize)]
pub struct ListOut {
    pub revision: u64,
    pub items: Vec<Item>,
}

/// `get` of one object: the object plus the revision the read reflects.
#[derive(Debug, Serialize)]
pub struct GetOut {
    #[serde(flatten)]
    pub item: Item,
    pub revision: u64,
}

/// Tables of objects: one per kind present, in the order routers, services, middlewares,
/// servers transports.
/// `only` names the kind asked for (its header is printed even with no rows); with `None`
/// (every kind), names are shown as `kind/name`.
pub fn items_table(items: &[Item], only: Option<Kind>) -> String {
    let kinds = match only {
        Some(kind) => vec![kind],
        None => vec![
            Kind::Router,
            Kind::Service,
            Kind::Middleware,
            Kind::ServersTransport,
        ],
    };
    let mut tables = Vec::new();
    for kind in kinds {
        let of_kind: Vec<&Item> = items.iter().filter(|i| i.kind == kind_name(kind)).collect();
        if of_kind.is_empty() && only.is_none() {
            continue;
        }
        let name = |i: &Item| match only {
            Some(_) => i.name.clone(),
            None => format!("{}/{}", i.kind, i.name),
        };
        let (headers, rows): (&[&str], Vec<Vec<String>>) = match kind {
            Kind::Router => (
                &[
                    "NAME",
                    "RULE",
                    "SERVICE",
                    "PRIORITY",
                    "MIDDLEWARES",
                    "MOD-REV",
                ],
                of_kind.iter().map(|i| router_row(name(i), i)).collect(),
            ),
            Kind::Service => (
                &["NAME", "TYPE", "SERVERS"],
                of_kind
                    .iter()
                    .map(|i| vec![name(i), type_of(&i.spec), servers_of(&i.spec)])
                    .collect(),
            ),
            _ => (
                &["NAME", "TYPE"],
                of_kind
                    .iter()
                    .map(|i| vec![name(i), type_of(&i.spec)])
                    .collect(),
            ),
        };
        tables.push(table(headers, &rows));
    }
    tables.join("\n")
}

fn router_row(name: String, item: &Item) -> Vec<String> {
    let spec = &item.spec;
    let middlewares = string_list(&spec["middlewares"]);
    vec![
        name,
        text(&spec["rule"]),
        text(&spec["service"]),
        text(&spec["priority"]),
        if middlewares.is_empty() {
            "-".into()
        } else {
            middlewares.join(",")
        },
        item.mod_revision.to_string(),
    ]
}

/// The top-level key(s) of a spec: `loadBalancer`, `stripPrefix`, ...
fn type_of(spec: &Value) -> String {
    match spec.as_object() {
        Some(map) if !map.is_empty() => map.keys().cloned().collect::<Vec<_>>().join(","),
        _ => "-".into(),
    }
}

fn servers_of(spec: &Value) -> String {
    let urls: Vec<String> = spec["loadBalancer"]["servers"]
        .as_array()
        .map(|servers| servers.iter().map(|s| text(&s["url"])).collect())
        .unwrap_or_default();
    if urls.is_empty() {
        "-".into()
    } else {
        urls.join(",")
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn string_list(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| a.iter().map(text).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Output;
    use crate::output::{render, test_object as object};
    use serde_json::json;

    fn sample() -> ListOut {
        let objects = [
            object(
                Kind::Router,
                "api",
                json!({"rule": "PathPrefix(`/api`)", "service": "api", "priority": 10,
                       "middlewares": ["strip", "auth"]}),
                5,
            ),
            object(
                Kind::Service,
                "api",
                json!({"loadBalancer": {"servers": [{"url": "http://a:80"}, {"url": "http://b:80"}]}}),
                3,
            ),
            object(
                Kind::Middleware,
                "strip",
                json!({"stripPrefix": {"prefixes": ["/api"]}}),
                4,
            ),
        ];
        ListOut {
            revision: 9,
            items: objects.iter().map(Item::from_proto).collect(),
        }
    }

    #[test]
    fn list_as_json_parses_back_with_the_documented_fields() {
        let text = render(Output::Json, &sample(), |_| unreachable!()).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["revision"], 9);
        let first = &v["items"][0];
        assert_eq!(first["kind"], "router");
        assert_eq!(first["name"], "api");
        assert_eq!(first["spec"]["rule"], "PathPrefix(`/api`)");
        assert_eq!(first["createRevision"], 4);
        assert_eq!(first["modRevision"], 5);
        assert_eq!(first["managedBy"], "cli");
        // Field order is the struct's, so diffs of saved output stay quiet.
        let compact = serde_json::to_string(&sample().items[0]).unwrap();
        assert!(
            compact.starts_with(r#"{"kind":"router","name":"api","spec":{"#),
            "{compact}"
        );
        assert!(
            compact.ends_with(r#"},"createRevision":4,"modRevision":5,"managedBy":"cli"}"#),
            "{compact}"
        );
    }

    #[test]
    fn list_as_yaml_has_the_same_structure() {
        let text = render(Output::Yaml, &sample(), |_| unreachable!()).unwrap();
        let v: Value = serde_yaml_ng::from_str(&text).unwrap();
        let json: Value =
            serde_json::from_str(&render(Output::Json, &sample(), |_| unreachable!()).unwrap())
                .unwrap();
        assert_eq!(v, json);
    }

    #[test]
    fn list_as_tables() {
        let list = sample();
        let routers: Vec<Item> = list
            .items
            .into_iter()
            .filter(|i| i.kind == "router")
            .collect();
        assert_eq!(
            items_table(&routers, Some(Kind::Router)),
            "NAME  RULE                SERVICE  PRIORITY  MIDDLEWARES  MOD-REV\n\
             api   PathPrefix(`/api`)  api      10        strip,auth   5\n"
        );
        let all = items_table(&sample().items, None);
        assert_eq!(
            all,
            "NAME        RULE                SERVICE  PRIORITY  MIDDLEWARES  MOD-REV\n\
             router/api  PathPrefix(`/api`)  api      10        strip,auth   5\n\
             \n\
             NAME         TYPE          SERVERS\n\
             service/api  loadBalancer  http://a:80,http://b:80\n\
             \n\
             NAME              TYPE\n\
             middleware/strip  stripPrefix\n"
        );
        assert_eq!(items_table(&[], Some(Kind::Middleware)), "NAME  TYPE\n");
        assert_eq!(items_table(&[], None), "");
    }

    #[test]
    fn single_get_flattens_the_item_and_adds_the_revision() {
        let item = Item::from_proto(&object(
            Kind::Router,
            "web",
            json!({"rule": "Host(`a`)"}),
            2,
        ));
        let text = render(
            Output::Json,
            &GetOut { item, revision: 7 },
            |_| unreachable!(),
        )
        .unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            (v["name"].as_str(), v["revision"].as_u64()),
            (Some("web"), Some(7))
        );
        assert_eq!(v["spec"], json!({"rule": "Host(`a`)"}));
    }
}
