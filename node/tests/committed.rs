//! What the cluster commits always runs: writes that would have crashed, silently dropped or
//! looped the data plane are refused on a real three-node cluster with a one-line reason, the
//! refusal changes nothing, and every node stays up with the same state hash. A revision that
//! fails to compile anyway leaves every node serving the last one it compiled.

mod support;

use std::time::Duration;

use raftgate_model::rule::{MAX_MATCHERS, MAX_RULE_LENGTH};
use raftgate_proto as pb;
use serde_json::json;
use support::backend::{get, send, Backend};
use support::*;

const ELECTION: Duration = Duration::from_secs(20);

/// `alice` / `wonderland` (bcrypt).
const ALICE: &str = "alice:$2y$04$kvvZ9v/HX5KIz84fsvqDp.KcCo6fiJ374F7Vrd3u2giYpaD4QoqNW";

/// A three-node cluster with `backend` behind service `pub` and router `public`
/// (`PathPrefix(/public)`), once every node serves it.
async fn cluster_with(backend: &Backend) -> TestCluster {
    let cluster = TestCluster::start(3, &[]);
    wait_leader(&cluster, &[1, 2, 3], ELECTION).await;
    let url = cluster.url(1);
    put(
        &url,
        vec![
            service("pub", &backend.url()),
            router("public", "PathPrefix(`/public`)", "pub"),
        ],
    )
    .await;
    for id in [1, 2, 3] {
        until_status(&cluster, id, "/public/x", 200).await;
    }
    cluster
}

/// Waits until node `id` answers GET `path` with `status`.
async fn until_status(cluster: &TestCluster, id: u64, path: &str, status: u16) -> String {
    let url = format!("{}{path}", cluster.nodes[&id].web());
    wait_for(
        &format!("node {id}: GET {path} -> {status}"),
        Duration::from_secs(15),
        || {
            let url = url.clone();
            async move {
                get(&url, "example.com")
                    .await
                    .ok()
                    .filter(|r| r.0 == status)
                    .map(|r| r.2)
            }
        },
    )
    .await
}

/// Every node is still running and all agree on the leader's revision and state hash.
async fn all_up_and_equal(cluster: &TestCluster) {
    assert_eq!(cluster.running(), [1, 2, 3], "a node exited");
    let leader = wait_leader(cluster, &[1, 2, 3], ELECTION).await;
    let revision = node_info(&cluster.url(leader)).await.unwrap().revision;
    assert_converged(cluster, &[1, 2, 3], revision).await;
}

/// A write through node 2 (a follower or the leader: either forwards), expected refused with
/// `InvalidArgument`; returns the message, after checking it changed nothing.
async fn refused(cluster: &TestCluster, objects: Vec<pb::Object>) -> String {
    let before = node_info(&cluster.url(1)).await.unwrap();
    let status = try_put(&cluster.url(2), objects)
        .await
        .expect_err("the write must be refused");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    let after = node_info(&cluster.url(1)).await.unwrap();
    assert_eq!(
        (before.revision, before.state_hash),
        (after.revision, after.state_hash),
        "a refused write changed the config"
    );
    status.message().to_string()
}

fn or_chain(terms: usize) -> String {
    (0..terms)
        .map(|i| format!("Path(`/p{i}`)"))
        .collect::<Vec<_>>()
        .join(" || ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_rules_are_held_to_the_limits_and_never_crash_a_node() {
    let backend = Backend::start("b").await;
    let cluster = cluster_with(&backend).await;

    // The rule that took every node down: 6 000 terms (80 KB). Refused on its length.
    let message = refused(&cluster, vec![router("or6000", &or_chain(6000), "pub")]).await;
    assert!(
        message.starts_with("router \"or6000\": rule: column 1: rule is")
            && message.contains(&format!("more than the limit of {MAX_RULE_LENGTH}")),
        "{message}"
    );
    // One term past the matcher limit, well inside the length limit: refused naming it.
    let message = refused(
        &cluster,
        vec![router("over", &or_chain(MAX_MATCHERS + 1), "pub")],
    )
    .await;
    assert!(
        message.contains(&format!("more than {MAX_MATCHERS} matchers")),
        "{message}"
    );
    // A 1 MB PathPrefix: refused on its length.
    let huge = format!("PathPrefix(`/{}`)", "a".repeat(1 << 20));
    let message = refused(&cluster, vec![router("huge", &huge, "pub")]).await;
    assert!(message.contains("more than the limit"), "{message}");
    all_up_and_equal(&cluster).await;

    // Exactly at the matcher limit: committed, compiled and routed by every node.
    put(
        &cluster.url(3),
        vec![router("at-limit", &or_chain(MAX_MATCHERS), "pub")],
    )
    .await;
    let last = format!("/p{}", MAX_MATCHERS - 1);
    for id in [1, 2, 3] {
        until_status(&cluster, id, &last, 200).await;
    }
    all_up_and_equal(&cluster).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_regex_router_accepted_is_the_router_that_runs() {
    let backend = Backend::start("b").await;
    let cluster = cluster_with(&backend).await;
    let url = cluster.url(1);
    // Go's `\w` is ASCII, so this is small and runs on every node: the protected router wins
    // over the lower-priority public one, and its basicAuth holds.
    put(
        &url,
        vec![
            service("adm", &backend.url()),
            middleware("auth", json!({"basicAuth": {"users": [ALICE]}})),
            object(
                pb::Kind::Router,
                "keys",
                json!({"rule": "PathRegexp(`^/public/keys/\\w{30}$`)", "service": "adm",
                       "priority": 500, "middlewares": ["auth"]}),
            ),
        ],
    )
    .await;
    let key_path = format!("/public/keys/{}", "k".repeat(30));
    for id in [1, 2, 3] {
        until_status(&cluster, id, &key_path, 401).await;
    }
    let hits = backend.hits();
    let client = support::backend::http_client();
    let web = cluster.nodes[&2].web();
    let (status, _, _) = send(
        &client,
        "GET",
        &format!("{web}{key_path}"),
        "example.com",
        &[],
        Default::default(),
    )
    .await
    .unwrap();
    assert_eq!(status, 401);
    assert_eq!(
        backend.hits(),
        hits,
        "an unauthenticated request reached the backend"
    );

    // A regex that really is over the compiled-size limit is refused at write time, naming it.
    let message = refused(
        &cluster,
        vec![router("big", "PathRegexp(`^/\\pL{300}$`)", "pub")],
    )
    .await;
    assert!(
        message.contains("too large") && message.contains("limit"),
        "{message}"
    );
    all_up_and_equal(&cluster).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_cycles_and_unservable_values_are_refused_on_every_write_path() {
    let backend = Backend::start("b").await;
    let cluster = cluster_with(&backend).await;
    let url = cluster.url(1);

    // The 2-cycle made by an update, through the imperative commands' gRPC call.
    create(
        &url,
        middleware("b", json!({"stripPrefix": {"prefixes": ["/x"]}})),
    )
    .await
    .unwrap();
    create(
        &url,
        middleware("a", json!({"chain": {"middlewares": ["b"]}})),
    )
    .await
    .unwrap();
    let status = admin(&cluster.url(3))
        .update(pb::UpdateRequest {
            object: Some(middleware("b", json!({"chain": {"middlewares": ["a"]}}))),
            expected_mod_revision: None,
        })
        .await
        .expect_err("the cycle must be refused");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(
        status.message(),
        "middleware \"b\": reference cycle b -> a -> b"
    );

    // A weighted service that reaches itself through another, in one apply.
    let weighted = |of: &str| {
        object(
            pb::Kind::Service,
            "",
            json!({"weighted": {"services": [{"name": of, "weight": 1}]}}),
        )
    };
    let (mut w1, mut w2) = (weighted("w2"), weighted("w1"));
    w1.name = "w1".into();
    w2.name = "w2".into();
    let message = refused(&cluster, vec![w1, w2]).await;
    assert!(
        message.contains("reference cycle w1 -> w2 -> w1"),
        "{message}"
    );

    // Values the data plane cannot serve yet are refused, never accepted then answered 503.
    let message = refused(&cluster, vec![service("tls", "https://127.0.0.1:9")]).await;
    assert!(message.contains("https is not supported yet"), "{message}");
    let message = refused(
        &cluster,
        vec![middleware(
            "fa",
            json!({"forwardAuth": {"address": "https://127.0.0.1:9/auth"}}),
        )],
    )
    .await;
    assert!(message.contains("https is not supported yet"), "{message}");
    let message = refused(
        &cluster,
        vec![object(
            pb::Kind::Router,
            "low",
            json!({"rule": "Path(`/low`)", "service": "pub", "priority": i64::MIN}),
        )],
    )
    .await;
    assert!(
        message.starts_with("router \"low\": priority: "),
        "{message}"
    );

    // Every problem of one write is listed, one line each.
    let message = refused(
        &cluster,
        vec![
            service("tls", "https://127.0.0.1:9"),
            router("bad-rule", "Path(`/x`) &&", "pub"),
            router("dangling", "Path(`/y`)", "nope"),
        ],
    )
    .await;
    let lines: Vec<&str> = message.lines().collect();
    assert_eq!(lines.len(), 3, "{message}");
    assert!(lines[0].starts_with("service \"tls\""), "{message}");
    assert!(
        lines[1].starts_with("router \"bad-rule\": rule:"),
        "{message}"
    );
    assert_eq!(
        lines[2],
        "router \"dangling\": service \"nope\" does not exist"
    );
    all_up_and_equal(&cluster).await;
    for id in [1, 2, 3] {
        until_status(&cluster, id, "/public/x", 200).await;
    }
}

/// A revision that fails to compile anyway (injected in test builds, as a bug would) is
/// reported by every node, which go on serving the revision before it, and restart normally
/// on their data dirs.
#[cfg(feature = "fault-injection")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revision_that_does_not_compile_leaves_every_node_serving_the_last_one() {
    let backend = Backend::start("b").await;
    let mut cluster = cluster_with(&backend).await;
    let url = cluster.url(1);
    let good = node_info(&url).await.unwrap().revision;
    let poison = put(
        &url,
        vec![
            router("fault-compile-1", "PathPrefix(`/new`)", "pub"),
            router("public", "PathPrefix(`/moved`)", "pub"),
        ],
    )
    .await;
    let failed = |id: u64, cluster: &TestCluster| {
        let url = cluster.url(id);
        async move {
            node_info(&url)
                .await
                .filter(|i| i.revision >= poison && !i.proxy_error.is_empty())
        }
    };
    for id in [1, 2, 3] {
        let info = wait_for(
            &format!("node {id} to report the revision it could not compile"),
            Duration::from_secs(15),
            || failed(id, &cluster),
        )
        .await;
        assert_eq!(info.proxy_revision, good);
        assert!(
            info.proxy_error.starts_with(&format!(
                "revision {poison} not served: router \"fault-compile-1\""
            )),
            "{}",
            info.proxy_error
        );
        // Still serving the last good revision: the old route answers, the new one does not.
        until_status(&cluster, id, "/public/x", 200).await;
        until_status(&cluster, id, "/moved/x", 404).await;
        let ops = format!("http://127.0.0.1:{}", cluster.nodes[&id].ops_port);
        let metrics = http_get(&format!("{ops}/metrics")).await.unwrap();
        assert_eq!(
            metric(&metrics, "raftgate_proxy_config_compile_failed"),
            Some(1.0)
        );
        let api = http_get(&format!("{ops}/api/cluster")).await.unwrap();
        let api: serde_json::Value = serde_json::from_str(&api).unwrap();
        assert_eq!(api["proxyRevision"], good);
        assert!(api["proxyError"]
            .as_str()
            .unwrap()
            .contains("fault-compile-1"));
    }
    all_up_and_equal(&cluster).await;

    // A node restarted on its data dir starts normally. It has no earlier runtime to keep, so
    // it serves the revision without what failed (rather than nothing), and says so.
    cluster.node(3).stop();
    cluster.restart(3);
    let info = wait_for("node 3 back, reporting", Duration::from_secs(20), || {
        failed(3, &cluster)
    })
    .await;
    assert!(
        info.proxy_error.starts_with(&format!(
            "revision {poison} served without what failed to compile: router \"fault-compile-1\""
        )),
        "{}",
        info.proxy_error
    );
    until_status(&cluster, 3, "/moved/x", 200).await;

    // A later revision that adds no problem is served by node 3, whose runtime already lacks
    // the failed router; nodes 1 and 2 still hold the last revision that compiled whole.
    let later = put(&url, vec![router("extra", "PathPrefix(`/extra`)", "pub")]).await;
    wait_applied(&cluster, &[1, 2, 3], later).await;
    until_status(&cluster, 3, "/extra/x", 200).await;
    for id in [1, 2] {
        until_status(&cluster, id, "/extra/x", 404).await;
        let info = node_info(&cluster.url(id)).await.unwrap();
        assert_eq!(info.proxy_revision, good);
        assert!(
            info.proxy_error
                .starts_with(&format!("revision {later} not served")),
            "{}",
            info.proxy_error
        );
    }

    // The next revision that compiles is served everywhere and clears the report.
    let fixed = admin(&url)
        .delete(pb::DeleteRequest {
            r#ref: Some(pb::ObjectRef {
                kind: pb::Kind::Router as i32,
                name: "fault-compile-1".into(),
            }),
            expected_mod_revision: None,
        })
        .await
        .unwrap()
        .into_inner()
        .revision;
    for id in [1, 2, 3] {
        let info = wait_for(
            &format!("node {id} to serve revision {fixed}"),
            Duration::from_secs(15),
            || {
                let url = cluster.url(id);
                async move {
                    node_info(&url)
                        .await
                        .filter(|i| i.proxy_revision == fixed && i.proxy_error.is_empty())
                }
            },
        )
        .await;
        assert_eq!(info.revision, fixed);
        until_status(&cluster, id, "/moved/x", 200).await;
        until_status(&cluster, id, "/extra/x", 200).await;
    }
    all_up_and_equal(&cluster).await;
}
