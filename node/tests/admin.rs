//! The admin API on real nodes: refused writes change nothing, watch streams committed
//! changes, the ops endpoint answers, and a wrong data dir is refused at start.

mod support;

use std::process::Stdio;
use std::time::Duration;

use raftgate_proto as pb;
use support::*;
use tokio_stream::StreamExt;

const ELECTION: Duration = Duration::from_secs(20);

async fn revision(url: &str) -> u64 {
    node_info(url).await.unwrap().revision
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_writes_are_refused_with_a_clear_message_and_change_nothing() {
    let cluster = TestCluster::start(3, &[]);
    let leader = wait_leader(&cluster, &[1, 2, 3], ELECTION).await;
    let follower = [1, 2, 3].into_iter().find(|i| *i != leader).unwrap();
    let url = cluster.url(follower);
    let base = create(&url, service("api", "http://127.0.0.1:9101"))
        .await
        .unwrap();
    create(
        &url,
        object(
            pb::Kind::Middleware,
            "strip",
            serde_json::json!({"stripPrefix": {"prefixes": ["/api"]}}),
        ),
    )
    .await
    .unwrap();
    let before = revision(&cluster.url(leader)).await;
    let hash_before = node_info(&cluster.url(leader)).await.unwrap().state_hash;
    assert_eq!(before, base + 1);

    let cases: Vec<(pb::Object, tonic::Code, &str)> = vec![
        (
            router("r1", "PathPrefix(`/api`", "api"),
            tonic::Code::InvalidArgument,
            "column",
        ),
        (
            router("r2", "Hots(`a.com`)", "api"),
            tonic::Code::InvalidArgument,
            "Hots",
        ),
        (
            service("bad-url", "not a url"),
            tonic::Code::InvalidArgument,
            "url",
        ),
        (
            router("r3", "Path(`/x`)", "missing"),
            tonic::Code::InvalidArgument,
            "service \"missing\"",
        ),
        (
            service("api", "http://127.0.0.1:9102"),
            tonic::Code::AlreadyExists,
            "service \"api\" already exists",
        ),
        (
            object(
                pb::Kind::Router,
                "r4",
                serde_json::json!({"rule": "Path(`/x`)", "service": "api", "middlewares": ["nope"]}),
            ),
            tonic::Code::InvalidArgument,
            "middleware \"nope\"",
        ),
        (
            service("Bad Name!", "http://127.0.0.1:9101"),
            tonic::Code::InvalidArgument,
            "Bad Name!",
        ),
        (
            object(
                pb::Kind::Router,
                "r5",
                serde_json::json!({"rule": "Path(`/x`)", "service": "api", "bogus": 1}),
            ),
            tonic::Code::InvalidArgument,
            "bogus",
        ),
    ];
    for (object, code, needle) in cases {
        let name = object.name.clone();
        // Through the leader and through a follower (forwarded): the same refusal.
        for via in [cluster.url(leader), url.clone()] {
            let err = create(&via, object.clone()).await.expect_err(&name);
            assert_eq!(err.code(), code, "{name}: {}", err.message());
            assert!(
                err.message().contains(needle),
                "{name}: {:?} lacks {needle:?}",
                err.message()
            );
            assert!(
                !err.message().contains('\n'),
                "one-line message: {:?}",
                err.message()
            );
        }
    }
    // Deleting a service that a router uses is refused too.
    create(&url, router("web", "Path(`/`)", "api"))
        .await
        .unwrap();
    let err = admin(&url)
        .delete(pb::DeleteRequest {
            r#ref: Some(pb::ObjectRef {
                kind: pb::Kind::Service as i32,
                name: "api".into(),
            }),
            expected_mod_revision: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::FailedPrecondition);
    assert!(
        err.message().contains("router \"web\""),
        "{}",
        err.message()
    );
    let after = before + 1;
    assert_converged(&cluster, &[1, 2, 3], after).await;
    // Only the router write moved the revision.
    assert_eq!(revision(&cluster.url(leader)).await, after);
    assert_ne!(
        node_info(&cluster.url(leader)).await.unwrap().state_hash,
        hash_before
    );

    // Optimistic concurrency: an update with a stale revision is refused.
    let err = admin(&url)
        .update(pb::UpdateRequest {
            object: Some(router("web", "Path(`/v2`)", "api")),
            expected_mod_revision: Some(1),
        })
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        tonic::Code::FailedPrecondition,
        "{}",
        err.message()
    );
    // An atomic apply with one bad entry applies nothing.
    let err = admin(&url)
        .apply(pb::ApplyRequest {
            puts: vec![
                service("ok-1", "http://127.0.0.1:9101"),
                router("bad", "Path(`/x`)", "nothing"),
            ],
            deletes: vec![],
            expected_revision: None,
            dry_run: false,
        })
        .await
        .unwrap_err();
    assert!(err.message().contains("\"nothing\""), "{}", err.message());
    assert_eq!(revision(&cluster.url(leader)).await, after);
    // A dry run is validated by the leader and writes nothing, whether valid or not.
    for (target, ok) in [("nothing", false), ("api", true)] {
        let dry = admin(&url)
            .apply(pb::ApplyRequest {
                puts: vec![router("dry", "Path(`/dry`)", target)],
                deletes: vec![],
                expected_revision: Some(after),
                dry_run: true,
            })
            .await;
        assert_eq!(dry.is_ok(), ok, "{dry:?}");
        if let Ok(resp) = dry {
            assert_eq!(resp.into_inner().revision, after);
        }
    }
    assert_eq!(revision(&cluster.url(leader)).await, after);
    let resp = admin(&url)
        .apply(pb::ApplyRequest {
            puts: vec![
                service("ok-1", "http://127.0.0.1:9101"),
                router("good", "Path(`/x`)", "ok-1"),
            ],
            deletes: vec![pb::ObjectRef {
                kind: pb::Kind::Middleware as i32,
                name: "strip".into(),
            }],
            expected_revision: Some(after),
            dry_run: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.revision, after + 1, "one apply, one revision");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_streams_committed_changes_from_a_revision() {
    let cluster = TestCluster::start(3, &[]);
    let leader = wait_leader(&cluster, &[1, 2, 3], ELECTION).await;
    let follower = [1, 2, 3].into_iter().find(|i| *i != leader).unwrap();
    // (from_revision 0 means "from now on", so start the history at revision 1.)
    create(
        &cluster.url(leader),
        service("first", "http://127.0.0.1:9101"),
    )
    .await
    .unwrap();
    let r1 = create(&cluster.url(leader), service("a", "http://127.0.0.1:9101"))
        .await
        .unwrap();
    wait_applied(&cluster, &[follower], r1).await;

    // From r1 - 1: the history replays r1, then live changes follow.
    let mut stream = admin(&cluster.url(follower))
        .watch(pb::WatchRequest {
            from_revision: r1 - 1,
        })
        .await
        .unwrap()
        .into_inner();
    let r2 = create(&cluster.url(leader), router("a", "Path(`/a`)", "a"))
        .await
        .unwrap();
    let r3 = admin(&cluster.url(leader))
        .delete(pb::DeleteRequest {
            r#ref: Some(pb::ObjectRef {
                kind: pb::Kind::Router as i32,
                name: "a".into(),
            }),
            expected_mod_revision: Some(r2),
        })
        .await
        .unwrap()
        .into_inner()
        .revision;
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let event = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("watch event in time")
            .expect("stream open")
            .expect("event");
        let o = event.object.unwrap();
        seen.push((event.revision, event.r#type, o.kind, o.name));
    }
    assert_eq!(
        seen,
        vec![
            (
                r1,
                pb::EventType::Put as i32,
                pb::Kind::Service as i32,
                "a".to_string()
            ),
            (
                r2,
                pb::EventType::Put as i32,
                pb::Kind::Router as i32,
                "a".to_string()
            ),
            (
                r3,
                pb::EventType::Delete as i32,
                pb::Kind::Router as i32,
                "a".to_string()
            ),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ops_endpoint_serves_ping_metrics_and_cluster_view() {
    let cluster = TestCluster::start(3, &[]);
    let leader = wait_leader(&cluster, &[1, 2, 3], ELECTION).await;
    create(&cluster.url(leader), service("a", "http://127.0.0.1:9101"))
        .await
        .unwrap();
    let ops = format!("http://127.0.0.1:{}", cluster.nodes[&leader].ops_port);
    let body = http_get(&format!("{ops}/ping")).await.expect("ping 200");
    assert_eq!(body, "OK");
    let metrics = http_get(&format!("{ops}/metrics")).await.unwrap();
    for name in [
        "raftgate_raft_term",
        "raftgate_raft_is_leader 1",
        "raftgate_raft_last_log_index",
        "raftgate_raft_applied_index",
        "raftgate_proposals_total{result=\"ok\"} 1",
        "raftgate_proposal_duration_seconds_bucket",
        "raftgate_snapshots_built_total",
    ] {
        assert!(metrics.contains(name), "/metrics lacks {name}:\n{metrics}");
    }
    let view: serde_json::Value =
        serde_json::from_str(&http_get(&format!("{ops}/api/cluster")).await.unwrap()).unwrap();
    assert_eq!(view["id"], leader);
    assert_eq!(view["role"], "leader");
    assert_eq!(view["members"].as_array().unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_dir_of_another_node_or_cluster_is_refused_at_start() {
    let mut cluster = TestCluster::start(3, &[]);
    wait_leader(&cluster, &[1, 2, 3], ELECTION).await;

    // Node 2's data dir started as node 5.
    cluster.node(2).stop();
    let mut other = NodeProc::new(cluster.dir.path(), 5);
    other.data_dir = cluster.nodes[&2].data_dir.clone();
    let out = other.command(&[]).stderr(Stdio::piped()).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("belongs to node 2, not node 5"), "{stderr}");

    // A single-node cluster B, stopped, then pointed at cluster A with --join.
    let mut b = NodeProc::new(cluster.dir.path(), 1);
    b.data_dir = cluster.dir.path().join("cluster-b");
    b.log = cluster.dir.path().join("cluster-b.log");
    b.start(&["--peers".into(), format!("1={}", b.url())]);
    let b_url = b.url();
    wait_for("cluster B to get its id", ELECTION, || {
        let u = b_url.clone();
        async move { node_info(&u).await.filter(|i| !i.cluster_id.is_empty()) }
    })
    .await;
    b.stop();
    let out = b
        .command(&["--join".into(), cluster.url(1)])
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("belongs to cluster") && stderr.contains("is a member of cluster"),
        "{stderr}"
    );
}
