//! Object specs (Traefik v3 JSON, camelCase) built from command-line flags. A create applies
//! the flags to an empty object; an update applies them to the spec it read, changing only
//! what was given. Pure functions on `serde_json::Value`; the server validates the result.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::cli::{LoadBalancerArgs, RouterExtra, SpecSource, Strategy};
use crate::error::UsageError;

/// Router fields given on the command line (None / empty: leave as is).
#[derive(Debug)]
pub struct RouterFields<'a> {
    pub rule: Option<&'a str>,
    pub service: Option<&'a str>,
    pub extra: &'a RouterExtra,
}

/// Sets the given router fields in `spec`: `rule`, `service`, `priority`, `entryPoints`,
/// `middlewares` (a given list replaces the old one).
pub fn apply_router(spec: &mut Value, fields: &RouterFields<'_>) -> Result<(), UsageError> {
    let root = as_object(spec, "the router spec")?;
    if let Some(rule) = fields.rule {
        root.insert("rule".into(), json!(rule));
    }
    if let Some(service) = fields.service {
        root.insert("service".into(), json!(service));
    }
    if let Some(priority) = fields.extra.priority {
        root.insert("priority".into(), json!(priority));
    }
    if !fields.extra.entrypoints.is_empty() {
        root.insert("entryPoints".into(), json!(fields.extra.entrypoints));
    }
    if !fields.extra.middlewares.is_empty() {
        root.insert("middlewares".into(), json!(fields.extra.middlewares));
    }
    Ok(())
}

/// Sets the given load-balancer fields in a service spec. A non-empty `servers` replaces the
/// server list (with `--weight`s applied); without it, `--weight`s change existing servers.
pub fn apply_service(
    spec: &mut Value,
    servers: &[String],
    lb: &LoadBalancerArgs,
) -> Result<(), UsageError> {
    let root = as_object(spec, "the service spec")?;
    if !root.is_empty() && !root.contains_key("loadBalancer") {
        let kind = root.keys().cloned().collect::<Vec<_>>().join(",");
        return Err(UsageError(format!(
            "the service is a {kind} service; these flags only change loadBalancer services"
        )));
    }
    let balancer = child(root, "loadBalancer")?;
    if servers.is_empty() {
        reweigh(balancer, &lb.weights)?;
    } else {
        let list = server_list(servers, &lb.weights)?;
        balancer.insert("servers".into(), list);
    }
    if let Some(strategy) = lb.strategy {
        let name = match strategy {
            Strategy::Wrr => "wrr",
            Strategy::P2c => "p2c",
        };
        balancer.insert("strategy".into(), json!(name));
    }
    if let Some(pass) = lb.pass_host_header {
        balancer.insert("passHostHeader".into(), json!(pass));
    }
    if let Some(cookie) = &lb.sticky_cookie {
        let sticky = child(balancer, "sticky")?;
        child(sticky, "cookie")?.insert("name".into(), json!(cookie));
    }
    if lb.health_path.is_some() || lb.health_interval.is_some() {
        let health = child(balancer, "healthCheck")?;
        if let Some(path) = &lb.health_path {
            health.insert("path".into(), json!(path));
        }
        if let Some(interval) = lb.health_interval {
            health.insert("interval".into(), json!(go_duration(interval)));
        }
    }
    Ok(())
}

/// `[{"url": .., "weight": ..}]`, weight only where one was given.
fn server_list(servers: &[String], weights: &[(String, u32)]) -> Result<Value, UsageError> {
    if let Some((url, _)) = weights.iter().find(|(url, _)| !servers.contains(url)) {
        return Err(UsageError(format!(
            "--weight {url}: not one of the --server URLs"
        )));
    }
    let list = servers
        .iter()
        .map(|url| {
            let mut server = Map::new();
            server.insert("url".into(), json!(url));
            if let Some((_, w)) = weights.iter().rev().find(|(u, _)| u == url) {
                server.insert("weight".into(), json!(w));
            }
            Value::Object(server)
        })
        .collect();
    Ok(Value::Array(list))
}

/// Sets the weight of existing servers, found by URL.
fn reweigh(balancer: &mut Map<String, Value>, weights: &[(String, u32)]) -> Result<(), UsageError> {
    for (url, weight) in weights {
        let server = balancer
            .get_mut("servers")
            .and_then(Value::as_array_mut)
            .and_then(|list| list.iter_mut().find(|s| s["url"] == json!(url)))
            .and_then(Value::as_object_mut)
            .ok_or_else(|| UsageError(format!("--weight {url}: the service has no such server")))?;
        server.insert("weight".into(), json!(weight));
    }
    Ok(())
}

/// A duration as Go's `time.ParseDuration` (which Traefik uses) reads it: `10s`, `500ms`.
pub fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos.is_multiple_of(1_000_000_000) {
        format!("{}s", nanos / 1_000_000_000)
    } else if nanos.is_multiple_of(1_000_000) {
        format!("{}ms", nanos / 1_000_000)
    } else if nanos.is_multiple_of(1_000) {
        format!("{}us", nanos / 1_000)
    } else {
        format!("{nanos}ns")
    }
}

/// A middleware spec from `--spec JSON` or `-f FILE` (.json, .yaml, .yml); must be an object.
pub fn load_spec(source: &SpecSource) -> Result<Value, UsageError> {
    let value = match (&source.spec, &source.file) {
        (Some(text), _) => {
            serde_json::from_str(text).map_err(|e| UsageError(format!("--spec: {e}")))?
        }
        (None, Some(path)) => read_spec_file(path)?,
        (None, None) => return Err(UsageError("give the spec with --spec or -f".into())),
    };
    if !value.is_object() {
        return Err(UsageError(
            "the spec must be an object, e.g. {\"stripPrefix\":{\"prefixes\":[\"/api\"]}}".into(),
        ));
    }
    Ok(value)
}

fn read_spec_file(path: &Path) -> Result<Value, UsageError> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| UsageError(format!("{shown}: {e}")))?;
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("json") => {
            serde_json::from_str(&text).map_err(|e| UsageError(format!("{shown}: {e}")))
        }
        Some("yaml" | "yml") => {
            serde_yaml_ng::from_str(&text).map_err(|e| UsageError(format!("{shown}: {e}")))
        }
        _ => Err(UsageError(format!(
            "{shown}: expected a .json, .yaml or .yml file"
        ))),
    }
}

fn as_object<'a>(
    value: &'a mut Value,
    what: &str,
) -> Result<&'a mut Map<String, Value>, UsageError> {
    if value.is_null() {
        *value = Value::Object(Map::new());
    }
    value
        .as_object_mut()
        .ok_or_else(|| UsageError(format!("{what} is not a JSON object")))
}

/// The object under `key`, created if missing.
fn child<'a>(
    map: &'a mut Map<String, Value>,
    key: &str,
) -> Result<&'a mut Map<String, Value>, UsageError> {
    let entry = map
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    as_object(entry, key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn extra(priority: Option<i64>, entrypoints: &[&str], middlewares: &[&str]) -> RouterExtra {
        RouterExtra {
            priority,
            entrypoints: entrypoints.iter().map(|s| s.to_string()).collect(),
            middlewares: middlewares.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn lb() -> LoadBalancerArgs {
        LoadBalancerArgs {
            weights: vec![],
            strategy: None,
            pass_host_header: None,
            sticky_cookie: None,
            health_path: None,
            health_interval: None,
        }
    }

    fn urls(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn router_spec_from_flags_omits_absent_fields() {
        let mut spec = json!({});
        let fields = RouterFields {
            rule: Some("Host(`a`)"),
            service: Some("api"),
            extra: &extra(None, &[], &[]),
        };
        apply_router(&mut spec, &fields).unwrap();
        assert_eq!(spec, json!({"rule": "Host(`a`)", "service": "api"}));

        let mut spec = json!({});
        let full = extra(Some(5), &["web", "websecure"], &["strip"]);
        apply_router(
            &mut spec,
            &RouterFields {
                rule: Some("Host(`a`)"),
                service: Some("api"),
                extra: &full,
            },
        )
        .unwrap();
        assert_eq!(
            spec,
            json!({"rule": "Host(`a`)", "service": "api", "priority": 5,
                   "entryPoints": ["web", "websecure"], "middlewares": ["strip"]})
        );
    }

    #[test]
    fn router_update_merges_only_given_fields() {
        let mut spec = json!({"rule": "Host(`a`)", "service": "api", "priority": 5,
                              "middlewares": ["strip"], "tls": {"certResolver": "le"}});
        let fields = RouterFields {
            rule: None,
            service: Some("api2"),
            extra: &extra(None, &[], &["auth", "strip"]),
        };
        apply_router(&mut spec, &fields).unwrap();
        assert_eq!(
            spec,
            json!({"rule": "Host(`a`)", "service": "api2", "priority": 5,
                   "middlewares": ["auth", "strip"], "tls": {"certResolver": "le"}})
        );
    }

    #[test]
    fn service_spec_from_flags() {
        let mut spec = json!({});
        let mut args = lb();
        args.weights = vec![("http://b:80".into(), 3)];
        args.strategy = Some(Strategy::P2c);
        args.pass_host_header = Some(false);
        args.sticky_cookie = Some("sid".into());
        args.health_path = Some("/health".into());
        args.health_interval = Some(Duration::from_millis(1500));
        apply_service(&mut spec, &urls(&["http://a:80", "http://b:80"]), &args).unwrap();
        assert_eq!(
            spec,
            json!({"loadBalancer": {
                "servers": [{"url": "http://a:80"}, {"url": "http://b:80", "weight": 3}],
                "strategy": "p2c",
                "passHostHeader": false,
                "sticky": {"cookie": {"name": "sid"}},
                "healthCheck": {"path": "/health", "interval": "1500ms"}
            }})
        );
    }

    #[test]
    fn a_weight_must_name_a_server() {
        let mut args = lb();
        args.weights = vec![("http://c:80".into(), 1)];
        let err = apply_service(&mut json!({}), &urls(&["http://a:80"]), &args).unwrap_err();
        assert!(err.0.contains("http://c:80"), "{err}");
    }

    #[test]
    fn service_update_replaces_servers_and_keeps_the_rest() {
        let mut spec = json!({"loadBalancer": {
            "servers": [{"url": "http://old:80"}],
            "passHostHeader": true,
            "sticky": {"cookie": {"name": "a", "secure": true}}
        }});
        let mut args = lb();
        args.sticky_cookie = Some("b".into());
        apply_service(&mut spec, &urls(&["http://new:80"]), &args).unwrap();
        assert_eq!(
            spec,
            json!({"loadBalancer": {
                "servers": [{"url": "http://new:80"}],
                "passHostHeader": true,
                "sticky": {"cookie": {"name": "b", "secure": true}}
            }})
        );
    }

    #[test]
    fn service_update_reweighs_existing_servers() {
        let mut spec = json!({"loadBalancer": {"servers": [{"url": "http://a:80"}, {"url": "http://b:80", "weight": 1}]}});
        let mut args = lb();
        args.weights = vec![("http://b:80".into(), 4), ("http://a:80".into(), 2)];
        apply_service(&mut spec, &[], &args).unwrap();
        assert_eq!(
            spec["loadBalancer"]["servers"],
            json!([{"url": "http://a:80", "weight": 2}, {"url": "http://b:80", "weight": 4}])
        );
        args.weights = vec![("http://zzz:80".into(), 4)];
        assert!(apply_service(&mut spec, &[], &args).is_err());
    }

    #[test]
    fn only_load_balancer_services_take_these_flags() {
        let mut spec = json!({"weighted": {"services": [{"name": "a", "weight": 1}]}});
        let err = apply_service(&mut spec, &urls(&["http://a:80"]), &lb()).unwrap_err();
        assert!(err.0.contains("weighted"), "{err}");
    }

    #[test]
    fn go_durations() {
        assert_eq!(go_duration(Duration::from_secs(10)), "10s");
        assert_eq!(go_duration(Duration::from_secs(90)), "90s");
        assert_eq!(go_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(go_duration(Duration::from_micros(1500)), "1500us");
    }

    #[test]
    fn middleware_spec_from_json_and_files() {
        let from_flag = SpecSource {
            spec: Some(r#"{"stripPrefix":{"prefixes":["/api"]}}"#.into()),
            file: None,
        };
        let want = json!({"stripPrefix": {"prefixes": ["/api"]}});
        assert_eq!(load_spec(&from_flag).unwrap(), want);

        let dir = tempfile::tempdir().unwrap();
        let yaml = dir.path().join("m.yml");
        writeln!(
            std::fs::File::create(&yaml).unwrap(),
            "stripPrefix:\n  prefixes:\n    - /api"
        )
        .unwrap();
        assert_eq!(
            load_spec(&SpecSource {
                spec: None,
                file: Some(yaml)
            })
            .unwrap(),
            want
        );

        let json_file = dir.path().join("m.json");
        std::fs::write(&json_file, want.to_string()).unwrap();
        assert_eq!(
            load_spec(&SpecSource {
                spec: None,
                file: Some(json_file)
            })
            .unwrap(),
            want
        );

        let txt = dir.path().join("m.txt");
        std::fs::write(&txt, "{}").unwrap();
        assert!(load_spec(&SpecSource {
            spec: None,
            file: Some(txt)
        })
        .is_err());
        let list = SpecSource {
            spec: Some("[1]".into()),
            file: None,
        };
        assert!(load_spec(&list).is_err());
        let broken = SpecSource {
            spec: Some("{".into()),
            file: None,
        };
        assert!(load_spec(&broken).unwrap_err().0.starts_with("--spec: "));
    }
}
