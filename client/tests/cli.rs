//! End-to-end tests of `raftgatectl`: the real binary against real nodes (started in this
//! process with the node library) over gRPC on loopback. Each test has its own cluster and
//! temporary directory and stops its nodes at the end.

mod support;

use serde_json::{json, Value};
use support::{ctl, ctl_raw, wait_for, Cluster, DeadPort, Running};

const RULE: &str = "PathPrefix(`/api`)";

/// Creates service `api` and router `web` (routing to it) through `endpoints`; returns the
/// router's revision.
async fn seed(endpoints: &str) -> u64 {
    ctl(
        endpoints,
        &[
            "service",
            "create",
            "api",
            "--server",
            "http://127.0.0.1:9101",
        ],
    )
    .await
    .ok();
    ctl(
        endpoints,
        &[
            "router",
            "create",
            "web",
            "--rule",
            RULE,
            "--service",
            "api",
        ],
    )
    .await
    .revision()
}

/// `get all -o json` through `endpoints`, once the node applied revision `min`.
async fn get_all(endpoints: &str, min: u64) -> Value {
    let min = min.to_string();
    ctl(
        endpoints,
        &["get", "all", "-o", "json", "--min-revision", &min],
    )
    .await
    .json()
}

/// A linearizable `get all -o json` through `endpoints`.
async fn get_all_consistent(endpoints: &str) -> Value {
    ctl(endpoints, &["get", "all", "-o", "json", "--consistent"])
        .await
        .json()
}

fn items(list: &Value) -> &Vec<Value> {
    list["items"].as_array().expect("items is a list")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_through_a_follower_are_seen_on_every_node() {
    let cluster = Cluster::start(3).await;
    let leader = cluster.wait_leader().await;
    let follower = cluster.follower().await;
    let at = cluster.url(follower);

    let service = ctl(
        at,
        &[
            "service",
            "create",
            "api",
            "--server",
            "http://127.0.0.1:9101",
            "-o",
            "json",
        ],
    )
    .await
    .json();
    // Forwarded to the leader, which committed it.
    assert_eq!(service["leaderId"], leader, "{service}");
    let service_rev = service["revision"].as_u64().expect("a revision");
    assert!(service_rev >= 1);

    let out = ctl(
        at,
        &[
            "router",
            "create",
            "api",
            "--rule",
            RULE,
            "--service",
            "api",
        ],
    )
    .await;
    let rev = out.revision();
    assert_eq!(rev, service_rev + 1);
    assert_eq!(out.stdout, format!("router/api created (revision {rev})\n"));
    assert!(out.stderr.is_empty(), "{out:?}");

    let min = rev.to_string();
    for url in cluster.urls.values() {
        let list = ctl(
            url,
            &["router", "list", "-o", "json", "--min-revision", &min],
        )
        .await
        .json();
        assert_eq!(list["revision"], rev, "{url}: {list}");
        let routers = items(&list);
        assert_eq!(routers.len(), 1, "{url}: {list}");
        let router = &routers[0];
        assert_eq!(router["kind"], "router");
        assert_eq!(router["name"], "api");
        assert_eq!(router["spec"]["rule"], RULE);
        assert_eq!(router["spec"]["service"], "api");
        assert_eq!(router["modRevision"], rev);
        assert_eq!(router["createRevision"], rev);
        assert_eq!(router["managedBy"], "cli");

        let one = ctl(url, &["get", "routers", "api", "-o", "json"])
            .await
            .json();
        assert_eq!(
            (&one["name"], &one["modRevision"], &one["revision"]),
            (&json!("api"), &json!(rev), &json!(rev)),
            "{url}: {one}"
        );
    }
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_endpoint_is_skipped() {
    let cluster = Cluster::start(3).await;
    let follower = cluster.follower().await;
    let dead = DeadPort::new();
    let endpoints = format!("{},{}", dead.url(), cluster.url(follower));

    let rev = seed(&endpoints).await;
    let all = ctl(
        &endpoints,
        &[
            "get",
            "all",
            "-o",
            "json",
            "--min-revision",
            &rev.to_string(),
        ],
    )
    .await
    .json();
    assert_eq!(all["revision"], rev);
    assert_eq!(items(&all).len(), 2, "{all}");
    let status = ctl(&endpoints, &["cluster", "status", "-o", "json"])
        .await
        .json();
    assert_eq!(status["members"].as_array().unwrap().len(), 3, "{status}");
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_writes_exit_1_with_one_line_and_change_nothing() {
    let cluster = Cluster::start(3).await;
    let at = cluster.url(cluster.follower().await).to_string();
    let rev = seed(&at).await;
    let before = get_all(&at, rev).await;
    assert_eq!(before["revision"], rev);

    let bad_rule = ctl(
        &at,
        &[
            "router",
            "create",
            "bad",
            "--rule",
            "PathPrefix(`/api`",
            "--service",
            "api",
        ],
    )
    .await;
    let line = bad_rule.error(1);
    assert!(line.contains("column"), "{line}");
    assert!(line.contains("\"bad\""), "{line}");

    let missing = ctl(
        &at,
        &[
            "router",
            "create",
            "orphan",
            "--rule",
            RULE,
            "--service",
            "nosuch",
        ],
    )
    .await;
    let line = missing.error(1);
    assert!(line.contains("nosuch"), "{line}");

    let duplicate = ctl(
        &at,
        &[
            "service",
            "create",
            "api",
            "--server",
            "http://127.0.0.1:9102",
        ],
    )
    .await;
    let line = duplicate.error(1);
    assert!(line.contains("already exists"), "{line}");

    let (dead1, dead2) = (DeadPort::new(), DeadPort::new());
    let dead = format!("{},{}", dead1.url(), dead2.url());
    let unreachable = ctl(
        &dead,
        &[
            "service",
            "create",
            "x",
            "--server",
            "http://127.0.0.1:9103",
        ],
    )
    .await;
    unreachable.error(3);
    ctl(&dead, &["get", "all"]).await.error(3);

    // clap's own usage errors: missing --rule, unknown subcommand, bad --output.
    let usage = ctl(&at, &["router", "create", "x", "--service", "api"]).await;
    assert_eq!(usage.code, 2, "{usage:?}");
    assert!(usage.stderr.contains("--rule"), "{usage:?}");
    assert_eq!(ctl_raw(&["frobnicate"]).await.code, 2);
    assert_eq!(ctl(&at, &["get", "all", "-o", "xml"]).await.code, 2);

    // Linearizable reads: a write committed by mistake would show, on any node.
    for url in cluster.urls.values() {
        let after = get_all_consistent(url).await;
        assert_eq!(after, before, "{url}: a refused write changed the config");
    }
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yaml_and_json_output_describe_the_same_objects() {
    let cluster = Cluster::start(3).await;
    let at = cluster.endpoints();
    seed(&at).await;
    ctl(
        &at,
        &[
            "middleware",
            "create",
            "strip",
            "--spec",
            r#"{"stripPrefix":{"prefixes":["/api"]}}"#,
        ],
    )
    .await
    .ok();
    let rev = ctl(
        &at,
        &[
            "router",
            "update",
            "web",
            "--middleware",
            "strip",
            "--priority",
            "10",
        ],
    )
    .await
    .revision();

    let min = rev.to_string();
    let json = ctl(&at, &["get", "all", "-o", "json", "--min-revision", &min])
        .await
        .json();
    let yaml_out = ctl(&at, &["get", "all", "-o", "yaml", "--min-revision", &min]).await;
    let yaml: Value = serde_yaml_ng::from_str(yaml_out.ok())
        .unwrap_or_else(|e| panic!("not YAML ({e}): {}", yaml_out.stdout));
    assert_eq!(yaml, json);

    assert_eq!(json["revision"], rev);
    let mut kinds: Vec<(&str, &str)> = items(&json)
        .iter()
        .map(|i| (i["kind"].as_str().unwrap(), i["name"].as_str().unwrap()))
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            ("middleware", "strip"),
            ("router", "web"),
            ("service", "api")
        ]
    );
    let router = items(&json).iter().find(|i| i["kind"] == "router").unwrap();
    assert_eq!(router["spec"]["middlewares"], json!(["strip"]));
    assert_eq!(router["spec"]["priority"], 10);
    assert_eq!(router["spec"]["rule"], RULE);
    let middleware = items(&json)
        .iter()
        .find(|i| i["kind"] == "middleware")
        .unwrap();
    assert_eq!(
        middleware["spec"],
        json!({"stripPrefix": {"prefixes": ["/api"]}})
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_status_shows_one_leader_and_equal_hashes() {
    let cluster = Cluster::start(3).await;
    let leader = cluster.wait_leader().await;
    let at = cluster.url(cluster.follower().await).to_string();

    let before = ctl(&at, &["cluster", "status", "-o", "json"]).await.json();
    let rev = seed(&at).await;
    ctl(
        &cluster.endpoints(),
        &["wait-applied", "--revision", &rev.to_string()],
    )
    .await
    .ok();

    let status = ctl(&at, &["cluster", "status", "-o", "json"]).await.json();
    assert_eq!(status["leaderId"], leader, "{status}");
    assert!(
        !status["clusterId"].as_str().unwrap().is_empty(),
        "{status}"
    );
    assert_eq!(status["clusterId"], before["clusterId"]);
    let members = status["members"].as_array().unwrap();
    assert_eq!(members.len(), 3, "{status}");
    let mut ids: Vec<u64> = members.iter().map(|m| m["id"].as_u64().unwrap()).collect();
    ids.sort();
    assert_eq!(ids, [1, 2, 3]);
    let leaders: Vec<&Value> = members.iter().filter(|m| m["leader"] == true).collect();
    assert_eq!(leaders.len(), 1, "{status}");
    assert_eq!(leaders[0]["id"], leader);
    assert_eq!(leaders[0]["role"], "leader");
    for m in members {
        assert_eq!(m["reachable"], true, "{m}");
        assert_eq!(m["voter"], true, "{m}");
        assert_eq!(m["revision"], rev, "{m}");
        assert_eq!(m["addr"], cluster.url(m["id"].as_u64().unwrap()), "{m}");
        if m["id"] != leader {
            assert_eq!(m["role"], "follower", "{m}");
        }
    }
    let hash = members[0]["stateHash"].as_str().unwrap();
    assert_eq!(hash.len(), 64, "{status}");
    assert!(members.iter().all(|m| m["stateHash"] == hash), "{status}");
    // The write changed the hash.
    assert_ne!(before["members"][0]["stateHash"], hash);

    let table = ctl(&at, &["cluster", "status"]).await;
    assert!(table.ok().starts_with("ID "), "{table:?}");
    assert!(table.stdout.contains(&format!("{leader}*")), "{table:?}");
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_prints_events_after_the_given_revision() {
    let cluster = Cluster::start(3).await;
    let at = cluster.url(cluster.follower().await).to_string();
    let from = ctl(
        &at,
        &[
            "service",
            "create",
            "base",
            "--server",
            "http://127.0.0.1:9100",
        ],
    )
    .await
    .revision();

    let mut watch = Running::spawn(&at, &["watch", "--from", &from.to_string(), "-o", "json"]);
    let rev = seed(&at).await;
    let deleted = ctl(&at, &["router", "delete", "web"]).await.revision();

    let mut events = Vec::new();
    for _ in 0..3 {
        let line = watch.next_line().await;
        let event: Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        events.push(event);
    }
    watch.kill().await;

    let summary: Vec<(u64, &str, &str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["revision"].as_u64().unwrap(),
                e["type"].as_str().unwrap(),
                e["kind"].as_str().unwrap(),
                e["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (from + 1, "put", "service", "api"),
            (rev, "put", "router", "web"),
            (deleted, "delete", "router", "web"),
        ]
    );
    assert_eq!(events[1]["spec"]["rule"], RULE);
    assert_eq!(events[1]["managedBy"], "cli");
    assert_eq!(events[2]["spec"], Value::Null);
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_and_delete_of_routers_and_services() {
    let cluster = Cluster::start(3).await;
    let leader = cluster.wait_leader().await;
    let follower = cluster.follower().await;
    let at = cluster.url(follower).to_string();
    let created = seed(&at).await;

    let out = ctl(
        &at,
        &["router", "update", "web", "--rule", "Host(`example.com`)"],
    )
    .await;
    let updated = out.revision();
    assert_eq!(
        out.stdout,
        format!("router/web updated (revision {updated})\n")
    );
    assert_eq!(updated, created + 1);
    // Read back from the leader.
    let web = ctl(
        cluster.url(leader),
        &[
            "router",
            "get",
            "web",
            "-o",
            "json",
            "--min-revision",
            &updated.to_string(),
        ],
    )
    .await
    .json();
    assert_eq!(web["spec"]["rule"], "Host(`example.com`)");
    assert_eq!(web["spec"]["service"], "api", "update kept the service");
    assert_eq!(web["modRevision"], updated);
    assert_eq!(web["createRevision"], created);

    let in_use = ctl(&at, &["service", "delete", "api"]).await;
    let line = in_use.error(1);
    assert!(line.contains("web"), "{line}");
    assert_eq!(get_all_consistent(&at).await["revision"], updated);

    let deleted = ctl(&at, &["router", "delete", "web"]).await.revision();
    assert_eq!(deleted, updated + 1);
    let routers = ctl(
        &at,
        &[
            "router",
            "list",
            "-o",
            "json",
            "--min-revision",
            &deleted.to_string(),
        ],
    )
    .await
    .json();
    assert_eq!(routers["revision"], deleted);
    assert!(items(&routers).is_empty(), "{routers}");
    ctl(&at, &["router", "get", "web"]).await.error(1);

    // Unused now: the service can go.
    let gone = ctl(&at, &["service", "delete", "api"]).await.revision();
    assert_eq!(gone, deleted + 1);
    cluster.shutdown().await;
}

/// Polls `cluster status -o json` through `endpoints` until `check` accepts it.
async fn wait_status(endpoints: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    wait_for(what, || async {
        let out = ctl(endpoints, &["cluster", "status", "-o", "json"]).await;
        if out.code != 0 {
            return None;
        }
        let status: Value = serde_json::from_str(&out.stdout).ok()?;
        check(&status).then_some(status)
    })
    .await
}

fn member(status: &Value, id: u64) -> Option<&Value> {
    status["members"].as_array()?.iter().find(|m| m["id"] == id)
}

fn member_count(status: &Value) -> usize {
    status["members"].as_array().map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_join_are_added_and_removed() {
    let mut cluster = Cluster::start(3).await;
    let leader = cluster.wait_leader().await;
    let leader_url = cluster.url(leader).to_string();
    let founders = cluster.endpoints();
    let rev = seed(&founders).await;

    // Node 4 asks to join by itself.
    cluster
        .start_extra(4, &["--join".to_string(), leader_url.clone()])
        .await;
    let is_voter = |id: u64| {
        move |s: &Value| {
            member(s, id).is_some_and(|m| {
                m["voter"] == true && m["reachable"] == true && m["revision"] == rev
            })
        }
    };
    wait_status(&founders, "node 4 to be a voter", is_voter(4)).await;
    // Its promotion (asked for by node 4 itself) may still be in flight; the next membership
    // change would be refused.
    cluster.wait_membership_settled().await;

    // Node 5 starts with no bootstrap flag and is added by the operator.
    let url5 = cluster.start_extra(5, &[]).await;
    let added = ctl(
        &founders,
        &["cluster", "add-node", "--id", "5", "--addr", &url5],
    )
    .await;
    assert!(
        added.ok().starts_with("node 5 added as voter ("),
        "{added:?}"
    );
    let status = wait_status(&founders, "node 5 to be a voter", is_voter(5)).await;
    assert_eq!(member_count(&status), 5, "{status}");
    // The new members serve reads of the replicated config.
    let all = ctl(
        &url5,
        &[
            "get",
            "all",
            "-o",
            "json",
            "--min-revision",
            &rev.to_string(),
        ],
    )
    .await
    .json();
    assert_eq!(items(&all).len(), 2, "{all}");

    for id in [4, 5] {
        let removed = ctl(
            &founders,
            &[
                "cluster",
                "remove-node",
                "--id",
                &id.to_string(),
                "-o",
                "json",
            ],
        )
        .await
        .json();
        let voters = removed["voters"].as_array().unwrap();
        assert!(!voters.contains(&json!(id)), "{removed}");
    }
    let status = wait_status(&leader_url, "3 members", |s| member_count(s) == 3).await;
    let mut ids: Vec<u64> = status["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_u64().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, [1, 2, 3], "{status}");

    // A removed id is never reused.
    let reuse = ctl(
        &founders,
        &[
            "cluster",
            "add-node",
            "--id",
            "4",
            "--addr",
            &DeadPort::new().url(),
        ],
    )
    .await;
    let line = reuse.error(1);
    assert!(line.contains("4"), "{line}");
    cluster.shutdown().await;
}
