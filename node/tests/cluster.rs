//! Multi-node scenarios on real `raftgate` processes: bootstrap, forwarding, leader failure,
//! crash-restart, join (with snapshot catch-up) and removal.

mod support;

use std::time::{Duration, Instant};

use raftgate_proto as pb;
use support::*;

const ELECTION: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_of_three_and_follower_writes_are_forwarded() {
    let cluster = TestCluster::start(3, &[]);
    let leader = wait_leader(&cluster, &[1, 2, 3], ELECTION).await;
    let followers: Vec<u64> = [1, 2, 3].into_iter().filter(|i| *i != leader).collect();

    // Writes on two different followers: both are forwarded to the leader.
    let r1 = create(
        &cluster.url(followers[0]),
        service("api", "http://127.0.0.1:9101"),
    )
    .await
    .unwrap();
    let r2 = create(
        &cluster.url(followers[1]),
        router("api", "PathPrefix(`/api`)", "api"),
    )
    .await
    .unwrap();
    assert_eq!(r2, r1 + 1, "revisions are consecutive");

    // Every node shows both objects at the same revision once it applied it.
    assert_converged(&cluster, &[1, 2, 3], r2).await;
    for id in [1, 2, 3] {
        let routers = list(&cluster.url(id), pb::Kind::Router).await;
        assert_eq!(routers.revision, r2, "node {id}");
        assert_eq!(routers.objects.len(), 1);
        assert_eq!(routers.objects[0].name, "api");
        assert_eq!(routers.objects[0].mod_revision, r2);
        let services = list(&cluster.url(id), pb::Kind::Service).await;
        assert_eq!(services.objects[0].create_revision, r1);
    }

    // The cluster status seen from a follower lists every member with one leader.
    let status = admin(&cluster.url(followers[0]))
        .cluster_status(pb::ClusterStatusRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.leader_id, Some(leader));
    assert_eq!(status.members.len(), 3);
    let roles: Vec<&str> = status.members.iter().map(|m| m.role.as_str()).collect();
    assert_eq!(
        roles.iter().filter(|r| **r == "leader").count(),
        1,
        "{roles:?}"
    );
    assert_eq!(
        roles.iter().filter(|r| **r == "follower").count(),
        2,
        "{roles:?}"
    );
    assert!(status
        .members
        .iter()
        .all(|m| m.reachable && m.voter && m.revision == r2));

    // A linearizable read on a follower and a wait-for-revision both see the write.
    let got = admin(&cluster.url(followers[1]))
        .get(pb::GetRequest {
            r#ref: Some(pb::ObjectRef {
                kind: pb::Kind::Router as i32,
                name: "api".into(),
            }),
            options: Some(pb::ReadOptions {
                consistent: true,
                min_revision: 0,
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.revision, r2);
    let waited = admin(&cluster.url(followers[0]))
        .wait_applied(pb::WaitAppliedRequest {
            revision: r2,
            timeout_ms: 5000,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(waited.revision >= r2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_kill_elects_a_new_leader_and_writes_continue() {
    let mut cluster = TestCluster::start(3, &[]);
    let old = wait_leader(&cluster, &[1, 2, 3], ELECTION).await;
    let r1 = create(
        &cluster.url(old),
        service("before", "http://127.0.0.1:9101"),
    )
    .await
    .unwrap();
    assert_converged(&cluster, &[1, 2, 3], r1).await;

    let killed_at = Instant::now();
    cluster.node(old).kill();
    let survivors: Vec<u64> = [1, 2, 3].into_iter().filter(|i| *i != old).collect();
    let new = wait_leader(&cluster, &survivors, ELECTION).await;
    let elapsed = killed_at.elapsed();
    eprintln!(
        "time to a new leader after kill -9 of node {old}: {elapsed:?} (new leader: node {new})"
    );
    assert_ne!(new, old);

    // Writes continue through either survivor.
    let r2 = create_retrying(
        &cluster,
        service("after", "http://127.0.0.1:9102"),
        ELECTION,
    )
    .await;
    assert!(r2 > r1);
    assert_converged(&cluster, &survivors, r2).await;

    // The old leader comes back as a follower and catches up.
    cluster.restart(old);
    assert_converged(&cluster, &[1, 2, 3], r2).await;
    let names: Vec<String> = list(&cluster.url(old), pb::Kind::Service)
        .await
        .objects
        .into_iter()
        .map(|o| o.name)
        .collect();
    assert_eq!(names, ["after", "before"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_crash_and_restart_keeps_every_acknowledged_write() {
    let mut cluster = TestCluster::start(3, &[]);
    let leader = wait_leader(&cluster, &[1, 2, 3], ELECTION).await;
    let mut acked = Vec::new();
    for i in 0..40 {
        let target = cluster.url([1, 2, 3][i % 3]);
        let rev = create(
            &target,
            service(&format!("svc-{i}"), "http://127.0.0.1:9101"),
        )
        .await
        .unwrap();
        acked.push((format!("svc-{i}"), rev));
    }
    let last = acked.last().unwrap().1;
    // Crash every node at once (SIGKILL, no graceful flush), leader first.
    cluster.node(leader).kill();
    for id in [1, 2, 3] {
        cluster.node(id).kill();
    }
    for id in [1, 2, 3] {
        cluster.restart(id);
    }
    wait_leader(&cluster, &[1, 2, 3], ELECTION).await;
    assert_converged(&cluster, &[1, 2, 3], last).await;
    for id in [1, 2, 3] {
        let services = list(&cluster.url(id), pb::Kind::Service).await;
        assert_eq!(services.revision, last, "node {id}");
        for (name, rev) in &acked {
            let o = services.objects.iter().find(|o| &o.name == name);
            assert_eq!(
                o.map(|o| o.mod_revision),
                Some(*rev),
                "node {id} lost {name}"
            );
        }
    }
    // And the restarted cluster still takes writes.
    let rev = create_retrying(
        &cluster,
        service("after-restart", "http://127.0.0.1:9101"),
        ELECTION,
    )
    .await;
    assert_eq!(rev, last + 1);
    assert_converged(&cluster, &[1, 2, 3], rev).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fourth_node_joins_from_a_snapshot_and_is_removed() {
    // Snapshot every 10 entries and purge everything behind it: node 4 can only catch up
    // from a snapshot.
    let mut cluster = TestCluster::start(3, &["--snapshot-logs", "10", "--keep-logs", "0"]);
    let leader = wait_leader(&cluster, &[1, 2, 3], ELECTION).await;
    let mut last = 0;
    for i in 0..30 {
        last = create(
            &cluster.url(leader),
            service(&format!("svc-{i}"), "http://127.0.0.1:9101"),
        )
        .await
        .unwrap();
    }
    assert_converged(&cluster, &[1, 2, 3], last).await;
    wait_for(
        "the leader to build a snapshot",
        Duration::from_secs(10),
        || {
            let url = format!(
                "http://127.0.0.1:{}/metrics",
                cluster.nodes[&leader].ops_port
            );
            async move {
                let text = http_get(&url).await?;
                (metric(&text, "raftgate_snapshots_built_total")? >= 1.0).then_some(())
            }
        },
    )
    .await;

    let join = cluster.url(leader);
    let extra = cluster.extra.clone();
    let node4 = cluster.add(4);
    let mut args = extra;
    args.extend(["--join".to_string(), join]);
    node4.start(&args);

    let status = wait_for("node 4 to become a voter", Duration::from_secs(30), || {
        let url = cluster.url(1);
        async move {
            let s = admin(&url)
                .cluster_status(pb::ClusterStatusRequest {})
                .await
                .ok()?
                .into_inner();
            let n4 = s.members.iter().find(|m| m.id == 4)?;
            (n4.voter && n4.reachable && n4.role == "follower").then_some(s)
        }
    })
    .await;
    assert_eq!(status.members.len(), 4);
    assert_converged(&cluster, &[1, 2, 3, 4], last).await;
    let text = http_get(&format!(
        "http://127.0.0.1:{}/metrics",
        cluster.nodes[&4].ops_port
    ))
    .await
    .unwrap();
    assert!(
        metric(&text, "raftgate_snapshots_installed_total").unwrap() >= 1.0,
        "node 4 caught up without a snapshot:\n{text}"
    );

    // Writes after the join reach node 4 too.
    let rev = create(
        &cluster.url(leader),
        service("after-join", "http://127.0.0.1:9101"),
    )
    .await
    .unwrap();
    assert_converged(&cluster, &[1, 2, 3, 4], rev).await;

    // Remove it (through a follower: forwarded), then its id cannot come back.
    let via = [1, 2, 3].into_iter().find(|i| *i != leader).unwrap();
    let resp = admin(&cluster.url(via))
        .remove_node(pb::RemoveNodeRequest { id: 4 })
        .await
        .unwrap()
        .into_inner();
    assert!(
        !resp.voters.contains(&4) && !resp.learners.contains(&4),
        "{resp:?}"
    );
    let status = admin(&cluster.url(leader))
        .cluster_status(pb::ClusterStatusRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        status.members.iter().map(|m| m.id).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    let err = admin(&cluster.url(leader))
        .add_node(pb::AddNodeRequest {
            id: 4,
            addr: cluster.url(4),
            learner_only: false,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::FailedPrecondition);
    assert!(err.message().contains("was removed"), "{}", err.message());
    let rev = create(
        &cluster.url(leader),
        service("after-remove", "http://127.0.0.1:9101"),
    )
    .await
    .unwrap();
    assert_converged(&cluster, &[1, 2, 3], rev).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_joining_at_the_same_time_all_become_voters() {
    let mut cluster = TestCluster::start(3, &[]);
    let leader = wait_leader(&cluster, &[1, 2, 3], ELECTION).await;
    let join = cluster.url(leader);
    // Both ask at once: one membership change waits for the other (retried, not refused).
    for id in [4, 5] {
        let node = cluster.add(id);
        node.start(&["--join".to_string(), join.clone()]);
    }
    wait_for(
        "nodes 4 and 5 to become voters",
        Duration::from_secs(30),
        || {
            let url = cluster.url(leader);
            async move {
                let s = admin(&url)
                    .cluster_status(pb::ClusterStatusRequest {})
                    .await
                    .ok()?
                    .into_inner();
                let voters = s.members.iter().filter(|m| m.voter && m.reachable).count();
                (voters == 5).then_some(())
            }
        },
    )
    .await;
    let rev = create(
        &cluster.url(leader),
        service("after", "http://127.0.0.1:9101"),
    )
    .await
    .unwrap();
    assert_converged(&cluster, &[1, 2, 3, 4, 5], rev).await;
}
