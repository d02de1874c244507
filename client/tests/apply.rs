//! End-to-end tests of `raftgatectl apply -f` and `diff -f`: Traefik dynamic configuration
//! files applied to real nodes over gRPC, checked through `get`.

mod support;

use serde_json::Value;
use support::{ctl, ctl_stdin, Cluster};

/// A dynamic configuration in the shape of Traefik's file-provider documentation: routers
/// with entrypoints, priorities and `@file` references, every service type, middlewares of
/// several types and a chain.
const DYNAMIC: &str = r#"
http:
  routers:
    to-whoami:
      rule: "Host(`example.com`) && PathPrefix(`/whoami/`)"
      entryPoints: [web]
      middlewares: [secured@file]
      service: whoami@file
      priority: 42
    to-canary:
      rule: "Host(`example.com`) && Header(`X-Canary`, `1`)"
      service: canary
  services:
    whoami:
      loadBalancer:
        servers:
          - url: http://127.0.0.1:9101/
          - url: http://127.0.0.1:9102/
            weight: 3
        healthCheck:
          path: /health
          interval: 10s
          timeout: 3s
        sticky:
          cookie:
            name: lb
            httpOnly: true
    whoami-v2:
      loadBalancer:
        servers:
          - url: http://127.0.0.1:9103/
        serversTransport: quick
    canary:
      weighted:
        services:
          - name: whoami
            weight: 3
          - name: whoami-v2
            weight: 1
    shadow:
      mirroring:
        service: whoami
        mirrors:
          - name: whoami-v2
            percent: 10
    safe:
      failover:
        service: whoami
        fallback: whoami-v2
  serversTransports:
    quick:
      maxIdleConnsPerHost: 8
      forwardingTimeouts:
        dialTimeout: 2s
        responseHeaderTimeout: 30s
  middlewares:
    strip:
      stripPrefix:
        prefixes: [/whoami]
    add-headers:
      headers:
        customRequestHeaders:
          X-Script-Name: test
        customResponseHeaders:
          X-Custom-Response-Header: value
    allow-lan:
      ipAllowList:
        sourceRange: [127.0.0.1/32, 192.168.1.7]
    secured:
      chain:
        middlewares: [strip, add-headers, allow-lan]
"#;

const OBJECTS: usize = 12;

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn items(list: &Value) -> &Vec<Value> {
    list["items"].as_array().expect("items is a list")
}

async fn get_all(endpoints: &str) -> Value {
    ctl(endpoints, &["get", "all", "-o", "json", "--consistent"])
        .await
        .json()
}

/// The `-o json` result of an apply.
async fn apply(endpoints: &str, args: &[&str]) -> Value {
    let mut all = vec!["apply", "-o", "json"];
    all.extend_from_slice(args);
    ctl(endpoints, &all).await.json()
}

fn actions(out: &Value) -> Vec<(String, String)> {
    out["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                format!(
                    "{}/{}",
                    c["kind"].as_str().unwrap(),
                    c["name"].as_str().unwrap()
                ),
                c["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_file_commits_as_one_revision_and_reads_back_unchanged() {
    let cluster = Cluster::start(3).await;
    cluster.wait_leader().await;
    let at = cluster.endpoints();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "dynamic.yml", DYNAMIC);

    let out = apply(&at, &["-f", &file]).await;
    assert_eq!(out["written"], true, "{out}");
    let changes = actions(&out);
    assert_eq!(changes.len(), OBJECTS, "{out}");
    assert!(changes.iter().all(|(_, a)| a == "created"), "{out}");
    let revision = out["revision"].as_u64().unwrap();

    let all = get_all(&at).await;
    assert_eq!(items(&all).len(), OBJECTS, "{all}");
    for item in items(&all) {
        // One Raft entry: every object carries the apply's revision.
        assert_eq!(item["modRevision"], revision, "{item}");
        assert_eq!(item["managedBy"], "apply", "{item}");
    }

    // Applying the same file again changes nothing and writes nothing.
    let again = apply(&at, &["-f", &file]).await;
    assert_eq!(again["written"], false, "{again}");
    assert_eq!(again["revision"], revision, "{again}");
    assert!(actions(&again).iter().all(|(_, a)| a == "unchanged"));

    // `get all -o yaml` (and -o json) is a file `apply -f` accepts back unchanged.
    let yaml = ctl(&at, &["get", "all", "-o", "yaml", "--consistent"]).await;
    let export = write(dir.path(), "export.yaml", yaml.ok());
    let back = apply(&at, &["-f", &export]).await;
    assert_eq!(back["written"], false, "{back}");
    assert_eq!(actions(&back).len(), OBJECTS);
    assert!(
        actions(&back).iter().all(|(_, a)| a == "unchanged"),
        "{back}"
    );
    let json = serde_json::to_string(&all).unwrap();
    let piped = ctl_stdin(&at, &["apply", "-f", "-"], &json).await;
    assert!(
        piped
            .ok()
            .ends_with(&format!("no changes (revision {revision})\n")),
        "{piped:?}"
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_with_one_bad_entry_applies_nothing() {
    let cluster = Cluster::start(1).await;
    cluster.wait_leader().await;
    let at = cluster.endpoints();
    let dir = tempfile::tempdir().unwrap();

    let missing = DYNAMIC.replace("service: canary", "service: canary-typo");
    let file = write(dir.path(), "bad.yml", &missing);
    let err = ctl(&at, &["apply", "-f", &file]).await;
    let line = err.error(2);
    assert!(
        line.contains("bad.yml: http.routers.to-canary: router \"to-canary\": service \"canary-typo\" does not exist"),
        "{line}"
    );

    let bad_rule = DYNAMIC.replace("Header(`X-Canary`, `1`)", "Header(`X-Canary`)");
    let file = write(dir.path(), "rule.yml", &bad_rule);
    let line = ctl(&at, &["apply", "-f", &file]).await.error(2).to_string();
    assert!(
        line.contains("rule.yml: http.routers.to-canary: "),
        "{line}"
    );
    assert!(line.contains("column"), "{line}");

    let bad_cidr = DYNAMIC.replace("192.168.1.7", "192.168.1.300/24");
    let file = write(dir.path(), "cidr.yml", &bad_cidr);
    let line = ctl(&at, &["apply", "-f", &file]).await.error(2).to_string();
    assert!(
        line.contains("cidr.yml: http.middlewares.allow-lan: "),
        "{line}"
    );

    // Nothing of any of these files was written.
    assert!(items(&get_all(&at).await).is_empty());
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_and_dry_run_show_changes_without_writing_and_prune_removes_only_applied_objects() {
    let cluster = Cluster::start(1).await;
    cluster.wait_leader().await;
    let at = cluster.endpoints();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "dynamic.yml", DYNAMIC);
    let first = apply(&at, &["-f", &file]).await["revision"]
        .as_u64()
        .unwrap();
    // An object created by hand is never pruned.
    ctl(
        &at,
        &[
            "service",
            "create",
            "manual",
            "--server",
            "http://127.0.0.1:9200",
        ],
    )
    .await
    .ok();

    // Change one server, drop the mirroring service, add a middleware (as TOML this time).
    let changed = DYNAMIC
        .replace("http://127.0.0.1:9103/", "http://127.0.0.1:9104/")
        .replace(
            "    shadow:\n      mirroring:\n        service: whoami\n        mirrors:\n          - name: whoami-v2\n            percent: 10\n",
            "",
        );
    let file = write(dir.path(), "dynamic.yml", &changed);
    let extra = write(
        dir.path(),
        "extra.toml",
        "[http.middlewares.v1.addPrefix]\nprefix = \"/v1\"\n\n[tcp.routers.db]\nrule = \"HostSNI(`*`)\"\nservice = \"db\"\n",
    );

    let diff = ctl(&at, &["diff", "-f", &file, "-f", &extra, "--prune"]).await;
    let text = diff.ok();
    assert!(
        text.contains("--- live/service/whoami-v2\n+++ file/service/whoami-v2\n"),
        "{text}"
    );
    assert!(
        text.contains("-  - url: http://127.0.0.1:9103/\n+  - url: http://127.0.0.1:9104/\n"),
        "{text}"
    );
    assert!(
        text.contains("--- /dev/null\n+++ file/middleware/v1\n"),
        "{text}"
    );
    assert!(
        text.contains("--- live/service/shadow\n+++ /dev/null\n"),
        "{text}"
    );
    assert!(!text.contains("manual"), "{text}");
    assert!(diff.stderr.contains("warning: "), "{diff:?}");
    assert!(
        diff.stderr.contains("section `tcp` is not supported yet"),
        "{diff:?}"
    );

    let dry = apply(&at, &["-f", &file, "-f", &extra, "--prune", "--dry-run"]).await;
    assert_eq!(dry["dryRun"], true);
    assert_eq!(dry["written"], false);
    let mut writes: Vec<(String, String)> = actions(&dry)
        .into_iter()
        .filter(|(_, a)| a != "unchanged")
        .collect();
    writes.sort();
    assert_eq!(
        writes,
        [
            ("middleware/v1".into(), "created".into()),
            ("service/shadow".into(), "pruned".into()),
            ("service/whoami-v2".into(), "configured".into()),
        ]
    );
    let dry_text = ctl(
        &at,
        &["apply", "-f", &file, "-f", &extra, "--prune", "--dry-run"],
    )
    .await;
    assert!(
        dry_text.ok().contains("service/shadow pruned (dry run)\n"),
        "{dry_text:?}"
    );
    // The dry run wrote nothing.
    let all = get_all(&at).await;
    assert!(items(&all).iter().any(|i| i["name"] == "shadow"), "{all}");

    let applied = apply(&at, &["-f", &file, "-f", &extra, "--prune"]).await;
    let second = applied["revision"].as_u64().unwrap();
    assert!(second > first);
    let all = get_all(&at).await;
    let names: Vec<&str> = items(&all)
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"shadow"), "{all}");
    assert!(names.contains(&"manual") && names.contains(&"v1"), "{all}");
    let changed_at: Vec<&Value> = items(&all)
        .iter()
        .filter(|i| i["modRevision"] == second)
        .collect();
    assert_eq!(
        changed_at.len(),
        2,
        "one revision for the whole apply: {all}"
    );

    let none = ctl(&at, &["diff", "-f", &file, "-f", &extra, "--prune"]).await;
    assert_eq!(none.ok(), "no differences\n");
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_in_deploy_applies() {
    let cluster = Cluster::start(1).await;
    cluster.wait_leader().await;
    let at = cluster.endpoints();
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/examples/dynamic.yml"
    );
    let out = apply(&at, &["-f", example]).await;
    assert_eq!(out["written"], true, "{out}");
    assert_eq!(actions(&out).len(), 9, "{out}");
    cluster.shutdown().await;
}
