//! Control-plane benchmark on a real three-node loopback cluster (separate processes).
//!
//! ```sh
//! cargo build --release -p raftgate --bins --examples
//! target/release/examples/cluster_bench            # defaults: 32 writers, 10 s, 5 failovers
//! WRITERS=64 SECONDS=20 FAILOVERS=10 target/release/examples/cluster_bench
//! ```
//!
//! Prints: config writes/s sustained through the admin API, write latency, commit → applied
//! on all three nodes (p50/p99, at saturation and at a paced 200 writes/s), time to a new
//! leader after `kill -9` of the leader, and each node's RSS idle before and after the run.
//! The node binary is `target/<profile>/raftgate` next to this example (or `$RAFTGATE_BIN`).

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use raftgate_proto::{self as pb};
use tokio_stream::StreamExt;

fn service(name: String) -> pb::Object {
    pb::Object {
        kind: pb::Kind::Service as i32,
        name,
        spec_json: br#"{"loadBalancer":{"servers":[{"url":"http://127.0.0.1:9101"}]}}"#.to_vec(),
        ..Default::default()
    }
}

/// Arrival time of each revision on each node, from one watch stream per node.
type Arrivals = Arc<Mutex<HashMap<u64, Vec<Instant>>>>;

fn watch_all(nodes: &[&Node]) -> Arrivals {
    let arrivals: Arrivals = Arc::default();
    for n in nodes {
        let url = n.url();
        let arrivals = arrivals.clone();
        tokio::spawn(async move {
            let mut stream = client(&url)
                .watch(pb::WatchRequest { from_revision: 0 })
                .await
                .unwrap()
                .into_inner();
            while let Some(Ok(ev)) = stream.next().await {
                arrivals
                    .lock()
                    .unwrap()
                    .entry(ev.revision)
                    .or_default()
                    .push(Instant::now());
            }
        });
    }
    arrivals
}

/// Writes through `url` with `writers` concurrent clients for `secs`, at most `rate`/s in all
/// (0: unpaced). Returns (acks with their times, elapsed).
async fn load(
    url: &str,
    writers: u64,
    secs: u64,
    rate: u64,
    tag: &str,
) -> (Vec<(u64, Instant, Duration)>, Duration) {
    let start = Instant::now();
    let end = start + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for w in 0..writers {
        let mut c = client(url);
        let tag = tag.to_string();
        let interval = (rate > 0).then(|| Duration::from_secs_f64(writers as f64 / rate as f64));
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            let mut i = 0u64;
            let mut next = Instant::now();
            while Instant::now() < end {
                if let Some(iv) = interval {
                    tokio::time::sleep_until(next.into()).await;
                    next += iv;
                }
                let sent = Instant::now();
                let req = pb::CreateRequest {
                    object: Some(service(format!("{tag}-{w}-{i}"))),
                };
                if let Ok(r) = c.create(req).await {
                    out.push((r.into_inner().revision, Instant::now(), sent.elapsed()));
                }
                i += 1;
            }
            out
        }));
    }
    let mut acks = Vec::new();
    for t in tasks {
        acks.extend(t.await.unwrap());
    }
    (acks, start.elapsed())
}

async fn report(
    name: &str,
    acks: &[(u64, Instant, Duration)],
    elapsed: Duration,
    arrivals: &Arrivals,
) {
    // Let the last writes reach every node.
    let last = acks.iter().map(|a| a.0).max().unwrap_or(0);
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if arrivals
            .lock()
            .unwrap()
            .get(&last)
            .is_some_and(|v| v.len() >= 3)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut write_lat: Vec<Duration> = acks.iter().map(|a| a.2).collect();
    write_lat.sort();
    let arr = arrivals.lock().unwrap();
    let mut all_applied: Vec<Duration> = acks
        .iter()
        .filter_map(|(rev, acked, _)| {
            let times = arr.get(rev)?;
            (times.len() >= 3).then(|| {
                times
                    .iter()
                    .max()
                    .unwrap()
                    .saturating_duration_since(*acked)
            })
        })
        .collect();
    all_applied.sort();
    println!(
        "{name}: {} writes in {:.1?} = {:.0} writes/s | write latency p50 {:.2?} p99 {:.2?} | commit->applied on all 3: p50 {:.2?} p99 {:.2?} (n={})",
        acks.len(),
        elapsed,
        acks.len() as f64 / elapsed.as_secs_f64(),
        pct(&write_lat, 0.5),
        pct(&write_lat, 0.99),
        pct(&all_applied, 0.5),
        pct(&all_applied, 0.99),
        all_applied.len()
    );
}

#[tokio::main]
async fn main() {
    let writers = env_or("WRITERS", 32);
    let secs = env_or("SECONDS", 10);
    let failovers = env_or("FAILOVERS", 5);
    let dir = tempfile::tempdir().unwrap();
    let (mut nodes, l) = start_cluster(dir.path(), 3).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    println!(
        "idle RSS at start (MiB): {}",
        nodes
            .iter()
            .map(|n| format!("node{}={:.1}", n.id, n.rss_mib()))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let arrivals = watch_all(&nodes.iter().collect::<Vec<_>>());
    let leader_url = nodes[(l - 1) as usize].url();
    let follower_url = nodes.iter().find(|n| n.id != l).unwrap().url();

    let (acks, el) = load(&leader_url, writers, secs, 0, "sat").await;
    report(
        &format!("saturating, {writers} writers via the leader"),
        &acks,
        el,
        &arrivals,
    )
    .await;
    let (acks, el) = load(&follower_url, writers, secs, 0, "fwd").await;
    report(
        &format!("saturating, {writers} writers via a follower"),
        &acks,
        el,
        &arrivals,
    )
    .await;
    let (acks, el) = load(&leader_url, 4, secs, 200, "paced").await;
    report("paced 200 writes/s via the leader", &acks, el, &arrivals).await;

    tokio::time::sleep(Duration::from_secs(2)).await;
    let total = info(&leader_url).await.map_or(0, |i| i.revision);
    println!(
        "idle RSS after {total} objects (MiB): {}",
        nodes
            .iter()
            .map(|n| format!("node{}={:.1}", n.id, n.rss_mib()))
            .collect::<Vec<_>>()
            .join(" ")
    );

    let mut times = Vec::new();
    for _ in 0..failovers {
        let l = leader(&nodes.iter().collect::<Vec<_>>()).await;
        let killed = Instant::now();
        nodes[(l - 1) as usize].kill();
        let rest: Vec<&Node> = nodes.iter().filter(|n| n.id != l).collect();
        let new = leader(&rest).await;
        let t = killed.elapsed();
        println!(
            "kill -9 of leader {l}: node {new} leads after {} ms",
            t.as_millis()
        );
        times.push(t);
        nodes[(l - 1) as usize].start(None);
        // Wait until the restarted node caught up before the next round.
        let target = info(&nodes[(new - 1) as usize].url())
            .await
            .map_or(0, |i| i.applied_index.unwrap_or(0));
        let url = nodes[(l - 1) as usize].url();
        let deadline = Instant::now() + Duration::from_secs(30);
        while info(&url).await.and_then(|i| i.applied_index).unwrap_or(0) < target
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    times.sort();
    if !times.is_empty() {
        println!(
            "time to a new leader after kill -9 ({} runs): min {} ms, median {} ms, max {} ms",
            times.len(),
            times[0].as_millis(),
            pct(&times, 0.5).as_millis(),
            times[times.len() - 1].as_millis()
        );
    }
}
