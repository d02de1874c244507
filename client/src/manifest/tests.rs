use std::path::PathBuf;

use serde_json::json;

use super::*;

fn read(source: &str, text: &str) -> Result<Manifest, UsageError> {
    let mut m = Manifest::default();
    read_text(source, None, text, &mut m).map(|_| m)
}

fn names(m: &Manifest) -> Vec<String> {
    m.entries
        .iter()
        .map(|e| format!("{}/{}", e.kind, e.name))
        .collect()
}

const YAML: &str = r#"
http:
  routers:
    api:
      rule: "Host(`example.com`) && PathPrefix(`/api`)"
      service: api@file
      middlewares: [strip]
  services:
    api:
      loadBalancer:
        servers:
          - url: http://127.0.0.1:9101
  middlewares:
    strip:
      stripPrefix:
        prefixes: [/api]
tls:
  certificates: []
"#;

const TOML: &str = r#"
[http.routers.api]
rule = "Host(`example.com`) && PathPrefix(`/api`)"
service = "api@file"
middlewares = ["strip"]

[[http.services.api.loadBalancer.servers]]
url = "http://127.0.0.1:9101"

[http.middlewares.strip.stripPrefix]
prefixes = ["/api"]

[tls]
"#;

#[test]
fn yaml_toml_and_json_read_the_same_objects() {
    let yaml = read("a.yml", YAML).unwrap();
    let toml = read("a.toml", TOML).unwrap();
    let as_json =
        serde_json::to_string(&parse::parse("x", Some(parse::Format::Yaml), YAML).unwrap())
            .unwrap();
    let json = read("a.json", &as_json).unwrap();
    assert_eq!(
        names(&yaml),
        ["router/api", "service/api", "middleware/strip"]
    );
    assert_eq!(yaml.entries, {
        let mut t = toml.entries.clone();
        for (a, b) in t.iter_mut().zip(&yaml.entries) {
            a.origin = b.origin.clone();
        }
        t
    });
    assert_eq!(
        json.entries.iter().map(|e| &e.spec).collect::<Vec<_>>(),
        yaml.entries.iter().map(|e| &e.spec).collect::<Vec<_>>()
    );
    assert_eq!(yaml.entries[0].origin, "a.yml: http.routers.api");
    assert_eq!(
        yaml.warnings,
        ["a.yml: section `tls` is not supported yet; it was not applied"]
    );
    assert_eq!(toml.warnings.len(), 1);
}

#[test]
fn a_bad_entry_is_named_with_its_path() {
    // Values are checked with references by the state's apply, in `plan`.
    let bad_rule = "http:\n  routers:\n    api:\n      rule: Host(`a`) &&\n      service: x\n";
    let e = plan(&read("d.yml", bad_rule).unwrap(), &[], false)
        .unwrap_err()
        .0;
    assert!(
        e.starts_with("d.yml: http.routers.api: router \"api\": rule: column"),
        "{e}"
    );

    let bad_field = "http:\n  services:\n    s:\n      loadBalancer:\n        servers:\n          - urll: http://a\n";
    let e = read("d.yml", bad_field).unwrap_err().0;
    assert!(
        e.starts_with("d.yml: http.services.s: loadBalancer.servers[0]"),
        "{e}"
    );
    assert!(e.contains("urll"), "{e}");

    // Not dynamic configuration: ignored with a warning, as Traefik ignores it.
    let m = read("d.yml", "htp:\n  routers: {}\nentrypoints:\n").unwrap();
    assert!(m.entries.is_empty());
    assert_eq!(
        m.warnings,
        [
            "d.yml: top-level key `entrypoints` is not dynamic configuration (http, tcp, udp, tls); ignored, as Traefik ignores it",
            "d.yml: top-level key `htp` is not dynamic configuration (http, tcp, udp, tls); ignored, as Traefik ignores it",
        ]
    );
    let e = read("d.yml", "http:\n  routes: {}\n").unwrap_err().0;
    assert!(e.contains("unknown section `routes`"), "{e}");
    let e = read("d.yml", "http:\n  routers:\n    a:\n").unwrap_err().0;
    assert_eq!(e, "d.yml: http.routers.a: the definition is empty");
}

#[test]
fn empty_files_and_sections_hold_nothing() {
    assert!(read("e.yml", "").unwrap().entries.is_empty());
    assert!(read("e.yml", "http:\n  routers:\n")
        .unwrap()
        .entries
        .is_empty());
}

#[test]
fn raftgatectl_output_reads_back() {
    let list = json!({
        "revision": 7,
        "items": [
            {"kind": "service", "name": "api", "spec": {"loadBalancer": {"servers": [{"url": "http://127.0.0.1:1"}]}},
             "createRevision": 1, "modRevision": 2, "managedBy": "cli"}
        ]
    });
    let m = read("out.json", &list.to_string()).unwrap();
    assert_eq!(names(&m), ["service/api"]);
    let one = json!({"kind": "middleware", "name": "m", "spec": {"addPrefix": {"prefix": "/x"}}, "revision": 3});
    let m = read("one.yaml", &serde_yaml_ng::to_string(&one).unwrap()).unwrap();
    assert_eq!(names(&m), ["middleware/m"]);
}

#[test]
fn directories_and_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("b.yml"),
        "http:\n  middlewares:\n    m:\n      addPrefix:\n        prefix: /b\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("a.toml"),
        "[http.middlewares.n.addPrefix]\nprefix = \"/a\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
    let m = load(&[dir.path().to_path_buf()], std::io::empty()).unwrap();
    assert_eq!(
        names(&m),
        ["middleware/n", "middleware/m"],
        "files in name order"
    );

    let again = dir.path().join("b.yml");
    let e = load(&[dir.path().to_path_buf(), again], std::io::empty())
        .unwrap_err()
        .0;
    assert!(e.contains("middleware \"m\" is defined twice"), "{e}");

    let stdin = "http:\n  middlewares:\n    s:\n      addPrefix:\n        prefix: /s\n";
    let m = load(&[PathBuf::from("-")], stdin.as_bytes()).unwrap();
    assert_eq!(names(&m), ["middleware/s"]);
}

fn live(kind: Kind, name: &str, spec: serde_json::Value, by: &str) -> LiveObject {
    LiveObject {
        kind,
        name: name.into(),
        spec,
        managed_by: by.into(),
    }
}

#[test]
fn plans_compare_with_the_live_config() {
    let m = read("a.yml", YAML).unwrap();
    let svc = m.entries[1].spec.clone();
    let live_objects = vec![
        live(Kind::Service, "api", svc, "cli"),
        live(
            Kind::Middleware,
            "strip",
            json!({"stripPrefix": {"prefixes": ["/old"]}}),
            "apply",
        ),
        live(
            Kind::Middleware,
            "gone",
            json!({"addPrefix": {"prefix": "/g"}}),
            "apply",
        ),
        live(
            Kind::Middleware,
            "manual",
            json!({"addPrefix": {"prefix": "/m"}}),
            "cli",
        ),
    ];
    let actions = |p: &Plan| -> Vec<(String, Action)> {
        p.changes
            .iter()
            .map(|c| (format!("{}/{}", c.kind, c.name), c.action))
            .collect()
    };
    let p = plan(&m, &live_objects, false).unwrap();
    assert_eq!(
        actions(&p),
        [
            ("router/api".to_string(), Action::Created),
            ("service/api".to_string(), Action::Unchanged),
            ("middleware/strip".to_string(), Action::Configured),
        ]
    );
    // Prune deletes only what apply wrote.
    let p = plan(&m, &live_objects, true).unwrap();
    assert_eq!(
        actions(&p)[3],
        ("middleware/gone".to_string(), Action::Pruned)
    );
    assert_eq!(p.changes.len(), 4);
}

#[test]
fn plans_refuse_dangling_references() {
    let text = "http:\n  routers:\n    r:\n      rule: Path(`/`)\n      service: missing\n";
    let m = read("r.yml", text).unwrap();
    let e = plan(&m, &[], false).unwrap_err().0;
    assert_eq!(
        e,
        "r.yml: http.routers.r: router \"r\": service \"missing\" does not exist"
    );

    // A pruned service still used by a router the file does not manage.
    let live_objects = vec![
        live(
            Kind::Service,
            "s",
            json!({"loadBalancer": {"servers": [{"url": "http://127.0.0.1:1"}]}}),
            "apply",
        ),
        live(
            Kind::Router,
            "keep",
            json!({"rule": "Path(`/`)", "service": "s"}),
            "cli",
        ),
    ];
    let e = plan(&Manifest::default(), &live_objects, true)
        .unwrap_err()
        .0;
    assert!(
        e.contains("--prune would delete service \"s\", which is still used by router \"keep\""),
        "{e}"
    );
}

#[test]
fn every_problem_of_a_file_is_listed_with_its_path() {
    // Twenty objects, each wrong in its own way: a missing service, a bad rule, an https server.
    let mut text = String::from("http:\n  routers:\n");
    for i in 0..10 {
        text.push_str(&format!(
            "    r{i:02}:\n      rule: Path(`/{i}`)\n      service: missing{i}\n"
        ));
    }
    for i in 0..5 {
        text.push_str(&format!(
            "    bad{i}:\n      rule: Path(`/{i}`) &&\n      service: ok\n"
        ));
    }
    text.push_str(
        "  services:\n    ok:\n      loadBalancer:\n        servers:\n          - url: http://a\n",
    );
    for i in 0..5 {
        text.push_str(&format!(
            "    tls{i}:\n      loadBalancer:\n        servers:\n          - url: https://a\n"
        ));
    }
    let e = plan(&read("many.yml", &text).unwrap(), &[], false)
        .unwrap_err()
        .0;
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(lines.len(), 20, "{e}");
    assert!(
        lines.iter().all(|l| l.starts_with("many.yml: http.")),
        "{e}"
    );
    assert!(
        lines.contains(
            &"many.yml: http.routers.r07: router \"r07\": service \"missing7\" does not exist"
        ),
        "{e}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("many.yml: http.routers.bad3: router \"bad3\": rule: column")),
        "{e}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("many.yml: http.services.tls4: service \"tls4\"")),
        "{e}"
    );

    // Objects that do not even parse are all listed too.
    let unparsable = "http:\n  routers:\n    a:\n      rulez: x\n    b:\n      prio: 1\n";
    let e = read("u.yml", unparsable).unwrap_err().0;
    assert_eq!(e.lines().count(), 2, "{e}");
    assert!(e.contains("rulez") && e.contains("prio"), "{e}");
}

#[test]
fn a_file_over_the_size_limit_is_refused_before_parsing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.yml");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(MAX_FILE_BYTES + 1).unwrap();
    let e = load(&[path], std::io::empty()).unwrap_err().0;
    assert!(
        e.ends_with(&format!(
            "larger than {MAX_FILE_BYTES} bytes, the most apply reads from one file"
        )),
        "{e}"
    );
}

#[test]
fn duplicate_keys_are_refused_with_file_and_line() {
    let yaml = "http:\n  routers:\n    api:\n      rule: Path(`/`)\n      service: s\n      middlewares: [auth]\n      middlewares: []\n";
    let e = read("dup.yml", yaml).unwrap_err().0;
    assert!(e.starts_with("dup.yml: not valid YAML: "), "{e}");
    assert!(
        e.contains("http.routers.api: duplicate key `middlewares`") && e.contains("at line 4"),
        "{e}"
    );
    let sections = "http:\n  routers:\n    a: {rule: Path(`/a`), service: s}\n  routers:\n    b: {rule: Path(`/b`), service: s}\n";
    let e = read("dup.yml", sections).unwrap_err().0;
    assert!(
        e.contains("duplicate key `routers`") && e.contains("at line 2"),
        "{e}"
    );
    let json = "{\"http\": {\"routers\": {\"a\": {\"rule\": \"Path(`/`)\", \"service\": \"s\", \"service\": \"t\"}}}}";
    let e = read("dup.json", json).unwrap_err().0;
    assert!(
        e.contains("duplicate key `service`") && e.contains("line 1"),
        "{e}"
    );
    let toml = "[http.routers.a]\nrule = \"Path(`/`)\"\nservice = \"s\"\nservice = \"t\"\n";
    let mut m = Manifest::default();
    let e = read_text("dup.toml", Some(parse::Format::Toml), toml, &mut m)
        .unwrap_err()
        .0;
    assert!(e.contains("duplicate key") && e.contains("line 4"), "{e}");
}

#[test]
fn go_templates_are_named_instead_of_failing_to_parse() {
    let text =
        "http:\n  routers:\n    api:\n      rule: Host(`{{ env \"DOMAIN\" }}`)\n      service: s\n";
    let e = read("t.yml", text).unwrap_err().0;
    assert!(
        e.starts_with("t.yml: line 4: Go template syntax (`{{ ... }}`)"),
        "{e}"
    );
}

#[test]
fn v2_placeholders_in_rules_are_warned_about() {
    let text = "http:\n  routers:\n    api:\n      rule: PathRegexp(`^/{id:[0-9]+}`)\n      service: x\n    ok:\n      rule: Path(`/a`)\n      service: x\n";
    let manifest = read("v.yml", text).unwrap();
    assert_eq!(
        manifest.warnings,
        ["v.yml: http.routers.api: rule: column 1: PathRegexp value \"^/{id:[0-9]+}\" uses `{id...}`, Traefik v2 syntax that v3 treats literally (it matches the braces as text)"]
    );
}

#[test]
fn keys_are_read_in_any_case_as_traefik_reads_them() {
    let text = "HTTP:\n  Routers:\n    api:\n      RULE: Path(`/a`)\n      entrypoints: [web]\n      service: s\n      tls:\n        certresolver: le\n  services:\n    s:\n      loadbalancer:\n        servers:\n          - url: http://a\n        healthcheck:\n          path: /h\n  middlewares:\n    strip:\n      stripprefix:\n        prefixes: [/a]\n";
    let m = read("k.yml", text).unwrap();
    assert_eq!(
        names(&m),
        ["router/api", "service/s", "middleware/strip"].map(String::from)
    );
    assert_eq!(m.entries[0].spec["entryPoints"], json!(["web"]));
    assert_eq!(m.entries[0].spec["tls"]["certResolver"], "le");
    assert_eq!(
        m.entries[1].spec["loadBalancer"]["healthCheck"]["path"],
        "/h"
    );
    assert_eq!(m.entries[2].spec["stripPrefix"]["prefixes"], json!(["/a"]));
}
