//! Cross-object tests: reference checks, cycles, referrers and whole-config round trips.

use super::*;

const YAML: &str = r#"
routers:
  web:
    rule: Host(`example.com`) && PathPrefix(`/api`)
    entryPoints: [web]
    middlewares: [secure, strip@file]
    service: api
  admin:
    rule: Host(`admin.example.com`)
    service: split
services:
  api:
    loadBalancer:
      servers:
        - url: http://10.0.0.10:8080
        - url: http://10.0.0.11:8080
  canary:
    loadBalancer:
      servers:
        - url: http://10.0.0.12:8080
  split:
    weighted:
      services:
        - name: api
          weight: 9
        - name: canary
          weight: 1
  pages:
    loadBalancer:
      servers:
        - url: http://pages
middlewares:
  strip:
    stripPrefix:
      prefixes: [/api]
  oops:
    errors:
      status: ["500-599"]
      service: pages
  secure:
    chain:
      middlewares: [strip, oops]
"#;

fn config() -> DynamicConfig {
    serde_yaml_ng::from_str(YAML).expect("config parses")
}

#[test]
fn whole_config_validates_and_round_trips() {
    let c = config();
    assert_eq!(c.validate(), Ok(()));
    let yaml = serde_yaml_ng::to_string(&c).expect("serializes");
    let back: DynamicConfig = serde_yaml_ng::from_str(&yaml).expect("reparses");
    assert_eq!(back, c);
    assert_eq!(serde_yaml_ng::to_string(&back).ok(), Some(yaml));
    let json = serde_json::to_string(&c).expect("json");
    let back: DynamicConfig = serde_json::from_str(&json).expect("json reparses");
    assert_eq!(back, c);
}

#[test]
fn missing_references_name_both_ends() {
    let mut c = config();
    c.services.remove("api");
    assert_eq!(
        c.check_references(Kind::Router, "web")
            .unwrap_err()
            .to_string(),
        "router \"web\": service \"api\" does not exist"
    );
    assert_eq!(
        c.check_references(Kind::Service, "split")
            .unwrap_err()
            .to_string(),
        "service \"split\": service \"api\" does not exist"
    );

    let mut c = config();
    c.middlewares.remove("strip");
    assert_eq!(
        c.check_references(Kind::Router, "web")
            .unwrap_err()
            .to_string(),
        "router \"web\": middleware \"strip@file\" does not exist"
    );
    assert_eq!(
        c.check_references(Kind::Middleware, "secure")
            .unwrap_err()
            .to_string(),
        "middleware \"secure\": middleware \"strip\" does not exist"
    );

    let mut c = config();
    c.services.remove("pages");
    assert_eq!(
        c.check_references(Kind::Middleware, "oops")
            .unwrap_err()
            .to_string(),
        "middleware \"oops\": service \"pages\" does not exist"
    );
    assert!(c.validate().is_err());
}

#[test]
fn mirroring_and_failover_references() {
    let mut c = config();
    let s: Service = serde_json::from_str(
        r#"{"mirroring":{"service":"api","mirrors":[{"name":"shadow","percent":5}]}}"#,
    )
    .expect("parses");
    c.services.insert("mirror".into(), s);
    assert_eq!(
        c.check_references(Kind::Service, "mirror")
            .unwrap_err()
            .to_string(),
        "service \"mirror\": service \"shadow\" does not exist"
    );
    let s: Service = serde_json::from_str(r#"{"failover":{"service":"api","fallback":"backup"}}"#)
        .expect("parses");
    c.services.insert("fo".into(), s);
    assert_eq!(
        c.check_references(Kind::Service, "fo")
            .unwrap_err()
            .to_string(),
        "service \"fo\": service \"backup\" does not exist"
    );
}

#[test]
fn unknown_object_is_not_found() {
    assert_eq!(
        config()
            .check_references(Kind::Router, "nope")
            .unwrap_err()
            .to_string(),
        "router \"nope\" does not exist"
    );
}

#[test]
fn cycles_are_refused() {
    let mut c = config();
    let chain = |names: &[&str]| {
        Middleware::Chain(crate::Chain {
            middlewares: names.iter().map(|s| s.to_string()).collect(),
        })
    };
    c.middlewares.insert("a".into(), chain(&["b"]));
    c.middlewares
        .insert("b".into(), chain(&["strip", "c@file"]));
    c.middlewares.insert("c".into(), chain(&["a"]));
    assert_eq!(
        c.check_references(Kind::Middleware, "a")
            .unwrap_err()
            .to_string(),
        "middleware \"a\": reference cycle a -> b -> c -> a"
    );
    assert!(c.validate().is_err());

    let mut c = config();
    let weighted = |to: &str| Service {
        weighted: Some(crate::Weighted {
            services: vec![crate::WeightedService {
                name: to.into(),
                weight: None,
            }],
            ..Default::default()
        }),
        ..Default::default()
    };
    c.services.insert("x".into(), weighted("y"));
    c.services.insert("y".into(), weighted("x"));
    assert_eq!(
        c.check_references(Kind::Service, "y")
            .unwrap_err()
            .to_string(),
        "service \"y\": reference cycle y -> x -> y"
    );
}

#[test]
fn shared_targets_are_not_cycles() {
    let mut c = config();
    let chain = |names: &[&str]| {
        Middleware::Chain(crate::Chain {
            middlewares: names.iter().map(|s| s.to_string()).collect(),
        })
    };
    c.middlewares
        .insert("d".into(), chain(&["secure", "strip", "secure"]));
    assert_eq!(c.check_references(Kind::Middleware, "d"), Ok(()));
}

#[test]
fn long_reference_chains_do_not_overflow() {
    let mut c = DynamicConfig::default();
    for i in 0..20_000 {
        let s = Service {
            failover: Some(crate::Failover {
                service: format!("s{}", i + 1),
                fallback: format!("s{}", i + 1),
                health_check: None,
            }),
            ..Default::default()
        };
        c.services.insert(format!("s{i}"), s);
    }
    c.services
        .insert("s20000".into(), Service::load_balancer(["http://a"]));
    assert_eq!(c.check_references(Kind::Service, "s0"), Ok(()));
}

#[test]
fn referrers_lists_users_once() {
    let c = config();
    assert_eq!(
        c.referrers(Kind::Service, "api"),
        vec![
            (Kind::Router, "web".to_string()),
            (Kind::Service, "split".to_string())
        ]
    );
    assert_eq!(
        c.referrers(Kind::Middleware, "strip"),
        vec![
            (Kind::Router, "web".to_string()),
            (Kind::Middleware, "secure".to_string())
        ]
    );
    assert_eq!(
        c.referrers(Kind::Service, "pages"),
        vec![(Kind::Middleware, "oops".to_string())]
    );
    assert_eq!(c.referrers(Kind::Router, "web"), vec![]);
    assert_eq!(c.referrers(Kind::Service, "unused"), vec![]);
    assert_eq!(
        c.referrers(Kind::Middleware, "strip@file"),
        c.referrers(Kind::Middleware, "strip")
    );
}

#[test]
fn empty_config_serializes_to_empty_object() {
    let c = DynamicConfig::default();
    assert_eq!(serde_json::to_string(&c).ok().as_deref(), Some("{}"));
    let parsed: DynamicConfig = serde_json::from_str("{}").expect("parses");
    assert_eq!(parsed, c);
    assert!(serde_json::from_str::<DynamicConfig>(r#"{"tcp":{}}"#).is_err());
}
