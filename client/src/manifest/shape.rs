//! A parsed file to objects: which shape it has (Traefik dynamic configuration, or
//! raftgatectl's own output), and each object parsed into the model's types. Values are
//! checked afterwards, with references, by the replicated state's own apply (`plan`); here
//! every object that does not even parse is reported, not only the first.

use raftgate_model::{Kind, Middleware, Router, ServersTransport, Service};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use super::Entry;
use crate::error::UsageError;

/// Top-level Traefik sections raftgate reads but does not run yet.
const NOT_YET: [&str; 3] = ["tcp", "udp", "tls"];

/// The objects of one parsed file, and warnings about what will not be applied.
pub fn entries(source: &str, value: Value) -> Result<(Vec<Entry>, Vec<String>), UsageError> {
    let mut out = Output::default();
    let top = match value {
        Value::Null => return Ok((Vec::new(), Vec::new())),
        Value::Object(map) => map,
        other => {
            return Err(UsageError(format!(
                "{source}: expected a mapping with an `http` section, found {}",
                type_name(&other)
            )))
        }
    };
    if top.contains_key("items") {
        let items = top.get("items").cloned().unwrap_or(Value::Null);
        let Value::Array(items) = items else {
            return Err(UsageError(format!("{source}: items: expected a list")));
        };
        for (i, item) in items.into_iter().enumerate() {
            out.item(source, &format!("items[{i}]"), item)?;
        }
    } else if top.contains_key("kind") && top.contains_key("spec") {
        out.item(source, "", Value::Object(top))?;
    } else {
        for (key, section) in top {
            match key.to_ascii_lowercase().as_str() {
                "http" => out.http(source, section)?,
                k if NOT_YET.contains(&k) => out.warnings.push(format!(
                    "{source}: section `{k}` is not supported yet; it was not applied"
                )),
                // Static configuration kept in the same file, a stray `entrypoints:`: Traefik's
                // file provider ignores what is not dynamic configuration, and so does apply.
                _ => out.warnings.push(format!(
                    "{source}: top-level key `{key}` is not dynamic configuration (http, tcp, udp, \
                     tls); ignored, as Traefik ignores it"
                )),
            }
        }
    }
    if !out.errors.is_empty() {
        return Err(UsageError(out.errors.join("\n")));
    }
    Ok((out.entries, out.warnings))
}

#[derive(Default)]
struct Output {
    entries: Vec<Entry>,
    warnings: Vec<String>,
    /// Objects that do not parse, one line each.
    errors: Vec<String>,
}

impl Output {
    fn http(&mut self, source: &str, section: Value) -> Result<(), UsageError> {
        for (key, objects) in mapping(source, "http", section)? {
            let kind = match key.to_ascii_lowercase().as_str() {
                "routers" => Kind::Router,
                "services" => Kind::Service,
                "middlewares" => Kind::Middleware,
                "serverstransports" => Kind::ServersTransport,
                other => {
                    return Err(UsageError(format!(
                        "{source}: http: unknown section `{other}` (expected routers, services, middlewares or serversTransports)"
                    )))
                }
            };
            let at = format!("http.{key}");
            for (name, spec) in mapping(source, &at, objects)? {
                let origin = format!("{source}: {at}.{name}");
                self.push(entry(kind, name, spec, origin));
            }
        }
        Ok(())
    }

    /// One object of raftgatectl's output: `{kind, name, spec, ...server fields}`.
    fn item(&mut self, source: &str, at: &str, item: Value) -> Result<(), UsageError> {
        let origin = if at.is_empty() {
            source.to_string()
        } else {
            format!("{source}: {at}")
        };
        let Value::Object(mut item) = item else {
            return Err(UsageError(format!("{origin}: expected an object")));
        };
        let text = |item: &Map<String, Value>, key: &str| match item.get(key) {
            Some(Value::String(s)) => Ok(s.clone()),
            _ => Err(UsageError(format!("{origin}: `{key}` must be a string"))),
        };
        let kind: Kind = text(&item, "kind")?
            .parse()
            .map_err(|e| UsageError(format!("{origin}: {e}")))?;
        let name = text(&item, "name")?;
        let spec = item.remove("spec").unwrap_or(Value::Null);
        let origin = format!("{origin} ({kind} {name:?})");
        self.push(entry(kind, name, spec, origin));
        Ok(())
    }

    /// Keeps an entry, or its error to report with the others.
    fn push(&mut self, entry: Result<Entry, UsageError>) {
        match entry {
            Ok(entry) => {
                if entry.kind == Kind::Router && entry.spec.get("tls").is_some() {
                    self.warnings.push(format!(
                        "{}: a router with `tls` is served only over TLS, which this version \
                         does not serve yet: it is stored but not served (never in cleartext)",
                        entry.origin
                    ));
                }
                self.entries.push(entry)
            }
            Err(e) => self.errors.push(e.0),
        }
    }
}

/// The entries of a mapping; `null` (an empty YAML section) has none.
fn mapping(source: &str, at: &str, value: Value) -> Result<Map<String, Value>, UsageError> {
    match value {
        Value::Null => Ok(Map::new()),
        Value::Object(map) => Ok(map),
        other => Err(UsageError(format!(
            "{source}: {at}: expected a mapping, found {}",
            type_name(&other)
        ))),
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Parses one object with the model and keeps its normalized spec.
fn entry(kind: Kind, name: String, spec: Value, origin: String) -> Result<Entry, UsageError> {
    let spec = normalize(kind, spec).map_err(|e| UsageError(format!("{origin}: {e}")))?;
    Ok(Entry {
        kind,
        name,
        spec,
        origin,
    })
}

/// Parses a spec with the model and serializes it back: the form the server stores, so file
/// and live specs compare equal when they mean the same. Values are checked later, by the
/// state's apply.
pub fn normalize(kind: Kind, spec: Value) -> Result<Value, String> {
    if spec.is_null() {
        return Err("the definition is empty".into());
    }
    match kind {
        Kind::Router => typed::<Router>(spec),
        Kind::Service => typed::<Service>(spec),
        Kind::Middleware => typed::<Middleware>(spec),
        Kind::ServersTransport => typed::<ServersTransport>(spec),
    }
}

fn typed<T: DeserializeOwned + Serialize>(spec: Value) -> Result<Value, String> {
    let parsed: T = super::keys::parse(spec).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            e.into_inner().to_string()
        } else {
            format!("{path}: {}", e.into_inner())
        }
    })?;
    serde_json::to_value(&parsed).map_err(|e| e.to_string())
}
