//! The data plane end to end: real node processes proxying to real backends on loopback.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use raftgate_proto as pb;
use serde_json::json;
use support::backend::{get, http_client, send, websocket_echo, Backend};
use support::*;

const ELECTION: Duration = Duration::from_secs(20);

fn svc(name: &str, spec: serde_json::Value) -> pb::Object {
    object(pb::Kind::Service, name, spec)
}

fn rtr(name: &str, rule: &str, service: &str) -> pb::Object {
    router(name, rule, service)
}

fn lb(urls: &[(&str, u32)]) -> serde_json::Value {
    let servers: Vec<_> = urls
        .iter()
        .map(|(u, w)| json!({"url": u, "weight": w}))
        .collect();
    json!({"loadBalancer": {"servers": servers}})
}

/// Polls `web` until a request answers `status`.
async fn until_status(web: &str, path: &str, host: &str, status: u16) {
    let url = format!("{web}{path}");
    wait_for(
        &format!("{url} (Host {host}) to answer {status}"),
        Duration::from_secs(10),
        || {
            let url = url.clone();
            async move {
                get(&url, host)
                    .await
                    .ok()
                    .filter(|r| r.0 == status)
                    .map(|_| ())
            }
        },
    )
    .await
}

/// Polls until a GET of `path` is answered by the backend called `name`.
async fn until_backend(web: &str, path: &str, name: &'static str, what: &str) {
    let client = http_client();
    let url = format!("{web}{path}");
    wait_for(what, Duration::from_secs(10), || {
        let (client, url) = (client.clone(), url.clone());
        async move {
            let (_, h, _) = send(&client, "GET", &url, "x", &[], Bytes::new())
                .await
                .ok()?;
            (h.get("x-backend")? == name).then_some(())
        }
    })
    .await
}

/// One node with one backend behind one router, served once `probe` answers 200.
async fn single_route(
    name: &str,
    rule: &str,
    probe: &str,
) -> (TestCluster, String, String, Backend) {
    let (cluster, admin_url, web) = one_node(&[]).await;
    let backend = Backend::start(name).await;
    put(
        &admin_url,
        vec![svc(name, lb(&[(&backend.url(), 1)])), rtr(name, rule, name)],
    )
    .await;
    until_status(&web, probe, "x", 200).await;
    (cluster, admin_url, web, backend)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_written_on_one_node_is_served_by_every_node() {
    let cluster = TestCluster::start(3, &[]);
    let leader = wait_leader(&cluster, &[1, 2, 3], ELECTION).await;
    let a = Backend::start("a").await;
    let b = Backend::start("b").await;
    let follower = [1, 2, 3].into_iter().find(|i| *i != leader).unwrap();
    put(
        &cluster.url(follower),
        vec![
            svc("api", lb(&[(&a.url(), 1), (&b.url(), 1)])),
            rtr("api", "Host(`example.com`) && PathPrefix(`/api`)", "api"),
        ],
    )
    .await;
    for id in [1, 2, 3] {
        let web = cluster.nodes[&id].web();
        until_status(&web, "/api/x", "example.com", 200).await;
        let (status, headers, body) = get(&format!("{web}/api/x?q=1"), "EXAMPLE.com:8081")
            .await
            .unwrap();
        assert_eq!(
            status, 200,
            "node {id}: host is case-insensitive and ignores the port"
        );
        assert!(body.starts_with("a ") || body.starts_with("b "), "{body}");
        assert!(headers.contains_key("x-backend"));
        let (status, _, body) = get(&format!("{web}/other"), "example.com").await.unwrap();
        assert_eq!((status, body.as_str()), (404, "404 page not found\n"));
        assert_eq!(
            get(&format!("{web}/api"), "other.com").await.unwrap().0,
            404
        );
    }
    // The backends saw Traefik's forwarding headers, and both got traffic.
    let seen: Vec<_> = a
        .seen
        .lock()
        .unwrap()
        .iter()
        .chain(b.seen.lock().unwrap().iter())
        .cloned()
        .collect();
    let last = seen
        .iter()
        .rev()
        .find(|s| s.uri == "/api/x?q=1")
        .expect("a forwarded request");
    assert_eq!(last.headers["x-forwarded-for"], "127.0.0.1");
    assert_eq!(last.headers["x-real-ip"], "127.0.0.1");
    assert_eq!(last.headers["x-forwarded-proto"], "http");
    assert_eq!(last.headers["x-forwarded-host"], "EXAMPLE.com:8081");
    assert_eq!(last.headers["x-forwarded-port"], "8081");
    assert_eq!(
        last.headers["host"], "EXAMPLE.com:8081",
        "passHostHeader defaults to true"
    );
    assert!(a.hits() > 0 && b.hits() > 0);

    // The proxy reports what it served and which config revision it serves.
    let ops = format!("http://127.0.0.1:{}", cluster.nodes[&follower].ops_port);
    let text = http_get(&format!("{ops}/metrics")).await.unwrap();
    let ok = text
        .lines()
        .find(|l| l.starts_with("raftgate_proxy_requests_total{code=\"2xx\",entrypoint=\"web\"}"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok());
    assert!(ok.is_some_and(|n| n >= 1.0), "{text}");
    assert!(text
        .lines()
        .any(|l| l.starts_with("raftgate_proxy_requests_total{code=\"4xx\"")));
    let view: serde_json::Value =
        serde_json::from_str(&http_get(&format!("{ops}/api/cluster")).await.unwrap()).unwrap();
    assert_eq!(view["proxyRevision"], view["revision"]);

    // HTTP/2 without TLS (h2c, prior knowledge) is served too; its `:authority` is the host
    // routed, as Go's server (Traefik's) takes it.
    let web = cluster.nodes[&leader].web();
    let stream = tokio::net::TcpStream::connect(web.trim_start_matches("http://"))
        .await
        .unwrap();
    let (mut h2, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    let req = http::Request::get("http://example.com/api/h2")
        .body(http_body_util::Empty::<Bytes>::new())
        .unwrap();
    let status = h2.send_request(req).await.unwrap().status();
    assert_eq!(status, 200);

    // Deleting the router stops it everywhere.
    admin(&cluster.url(leader))
        .delete(pb::DeleteRequest {
            r#ref: Some(pb::ObjectRef {
                kind: pb::Kind::Router as i32,
                name: "api".into(),
            }),
            expected_mod_revision: None,
        })
        .await
        .unwrap();
    for id in [1, 2, 3] {
        until_status(&cluster.nodes[&id].web(), "/api/x", "example.com", 404).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weights_and_sticky_cookies_pick_servers() {
    let (_cluster, admin_url, web) = one_node(&[]).await;
    let a = Backend::start("a").await;
    let b = Backend::start("b").await;
    put(
        &admin_url,
        vec![
            svc("w", lb(&[(&a.url(), 3), (&b.url(), 1)])),
            rtr("w", "PathPrefix(`/w`)", "w"),
            svc(
                "s",
                json!({"loadBalancer": {"servers": [{"url": a.url()}, {"url": b.url()}],
                       "sticky": {"cookie": {"name": "pin", "httpOnly": true}}}}),
            ),
            rtr("s", "PathPrefix(`/s`)", "s"),
        ],
    )
    .await;
    until_status(&web, "/w", "x", 200).await;
    let client = http_client();
    let mut counts = std::collections::HashMap::new();
    for _ in 0..400 {
        let (_, h, _) = send(&client, "GET", &format!("{web}/w"), "x", &[], Bytes::new())
            .await
            .unwrap();
        *counts
            .entry(h["x-backend"].to_str().unwrap().to_string())
            .or_insert(0) += 1;
    }
    // Smooth WRR is exact over each period of 4 (sequential requests).
    assert_eq!((counts["a"], counts["b"]), (300, 100), "{counts:?}");

    let (_, h, _) = send(&client, "GET", &format!("{web}/s"), "x", &[], Bytes::new())
        .await
        .unwrap();
    let set_cookie = h["set-cookie"].to_str().unwrap().to_string();
    assert!(
        set_cookie.starts_with("pin=") && set_cookie.contains("HttpOnly"),
        "{set_cookie}"
    );
    let pinned = h["x-backend"].to_str().unwrap().to_string();
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    for _ in 0..20 {
        let (_, h, _) = send(
            &client,
            "GET",
            &format!("{web}/s"),
            "x",
            &[("cookie", &cookie)],
            Bytes::new(),
        )
        .await
        .unwrap();
        assert_eq!(h["x-backend"], pinned.as_str());
        assert!(!h.contains_key("set-cookie"), "a valid pin is not re-set");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_health_check_takes_a_failing_server_out_and_brings_it_back() {
    let (_cluster, admin_url, web) = one_node(&[]).await;
    let a = Backend::start("a").await;
    let b = Backend::start("b").await;
    put(
        &admin_url,
        vec![
            svc(
                "h",
                json!({"loadBalancer": {"servers": [{"url": a.url()}, {"url": b.url()}],
                       "healthCheck": {"path": "/health", "interval": "100ms", "timeout": "80ms"}}}),
            ),
            rtr("h", "PathPrefix(`/`)", "h"),
        ],
    )
    .await;
    until_status(&web, "/", "x", 200).await;
    let client = http_client();
    let streak_of = |name: &'static str| {
        let client = client.clone();
        let web = web.clone();
        async move {
            for _ in 0..10 {
                let (_, h, _) = send(&client, "GET", &format!("{web}/"), "x", &[], Bytes::new())
                    .await
                    .ok()?;
                if h.get("x-backend")? != name {
                    return None;
                }
            }
            Some(())
        }
    };
    a.status.store(500, Ordering::SeqCst);
    wait_for("a to leave the rotation", Duration::from_secs(10), || {
        streak_of("b")
    })
    .await;
    a.status.store(200, Ordering::SeqCst);
    until_backend(&web, "/", "a", "a to come back").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weighted_mirroring_and_failover_services() {
    let (_cluster, admin_url, web) = one_node(&[]).await;
    let a = Backend::start("a").await;
    let b = Backend::start("b").await;
    let m = Backend::start("m").await;
    let f = Backend::start("f").await;
    put(
        &admin_url,
        vec![
            svc("svc-a", lb(&[(&a.url(), 1)])),
            svc("svc-b", lb(&[(&b.url(), 1)])),
            svc("svc-m", lb(&[(&m.url(), 1)])),
            svc(
                "svc-f",
                json!({"loadBalancer": {"servers": [{"url": f.url()}],
                       "healthCheck": {"path": "/", "interval": "100ms", "timeout": "80ms"}}}),
            ),
            svc("split", json!({"weighted": {"services": [{"name": "svc-a", "weight": 1}, {"name": "svc-b@file", "weight": 1}]}})),
            svc("split-sticky", json!({"weighted": {"services": [{"name": "svc-a", "weight": 1}, {"name": "svc-b", "weight": 1}],
                                        "sticky": {"cookie": {"name": "lane"}}}})),
            rtr("split-sticky", "PathPrefix(`/sticky`)", "split-sticky"),
            svc("mirror", json!({"mirroring": {"service": "svc-a", "mirrors": [{"name": "svc-m", "percent": 100}]}})),
            svc("fo", json!({"failover": {"service": "svc-f", "fallback": "svc-b"}})),
            rtr("split", "PathPrefix(`/split`)", "split"),
            rtr("mirror", "PathPrefix(`/mirror`)", "mirror"),
            rtr("fo", "PathPrefix(`/fo`)", "fo"),
        ],
    )
    .await;
    until_status(&web, "/split", "x", 200).await;
    let client = http_client();
    let mut counts = std::collections::HashMap::new();
    for _ in 0..100 {
        let (_, h, _) = send(
            &client,
            "GET",
            &format!("{web}/split"),
            "x",
            &[],
            Bytes::new(),
        )
        .await
        .unwrap();
        *counts
            .entry(h["x-backend"].to_str().unwrap().to_string())
            .or_insert(0) += 1;
    }
    assert_eq!((counts["a"], counts["b"]), (50, 50));

    // A sticky weighted service pins a client to the child it first got.
    let (_, h, _) = send(
        &client,
        "GET",
        &format!("{web}/sticky"),
        "x",
        &[],
        Bytes::new(),
    )
    .await
    .unwrap();
    let cookie = h["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    assert!(cookie.starts_with("lane="), "{cookie}");
    let first = h["x-backend"].to_str().unwrap().to_string();
    for _ in 0..20 {
        let (_, h, _) = send(
            &client,
            "GET",
            &format!("{web}/sticky"),
            "x",
            &[("cookie", &cookie)],
            Bytes::new(),
        )
        .await
        .unwrap();
        assert_eq!(h["x-backend"], first.as_str());
    }

    for i in 0..10 {
        let (status, h, body) = send(
            &client,
            "POST",
            &format!("{web}/mirror/{i}"),
            "x",
            &[],
            Bytes::from_static(b"hello"),
        )
        .await
        .unwrap();
        assert_eq!(
            (status, h["x-backend"].to_str().unwrap(), body.as_str()),
            (200, "a", "a 5")
        );
    }
    wait_for(
        "the mirror to receive every copy",
        Duration::from_secs(10),
        || {
            let n = m
                .seen
                .lock()
                .unwrap()
                .iter()
                .filter(|s| s.uri.starts_with("/mirror/") && s.body_len == 5)
                .count();
            async move { (n == 10).then_some(()) }
        },
    )
    .await;

    let (_, h, _) = send(&client, "GET", &format!("{web}/fo"), "x", &[], Bytes::new())
        .await
        .unwrap();
    assert_eq!(h["x-backend"], "f");
    f.status.store(503, Ordering::SeqCst);
    until_backend(&web, "/fo", "b", "failover to the fallback").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websockets_pass_through() {
    let (_cluster, admin_url, web) = one_node(&[]).await;
    let (ws_addr, _ws) = websocket_echo().await;
    let probe = Backend::start("probe").await;
    put(
        &admin_url,
        vec![
            svc("ws", lb(&[(&format!("http://{ws_addr}"), 1)])),
            rtr("ws", "Host(`ws.test`)", "ws"),
            svc("probe", lb(&[(&probe.url(), 1)])),
            rtr("probe", "Host(`probe.test`)", "probe"),
        ],
    )
    .await;
    // Same revision as the WebSocket route: once the probe answers, so can the WebSocket.
    until_status(&web, "/", "probe.test", 200).await;
    let stream = tokio::net::TcpStream::connect(web.trim_start_matches("http://"))
        .await
        .unwrap();
    let req = http::Request::builder()
        .uri("ws://ws.test/chat")
        .header("host", "ws.test")
        .header("connection", "Upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header(
            "sec-websocket-key",
            tokio_tungstenite::tungstenite::handshake::client::generate_key(),
        )
        .body(())
        .unwrap();
    let (mut ws, resp) = tokio_tungstenite::client_async(req, stream).await.unwrap();
    assert_eq!(resp.status(), 101);
    for text in ["hello", "through", "raftgate"] {
        ws.send(tokio_tungstenite::tungstenite::Message::text(text))
            .await
            .unwrap();
        let echo = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(echo.into_text().unwrap().as_str(), text);
    }
}

fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_megabyte_bodies_stream_through_with_bounded_memory() {
    let (cluster, _admin_url, web, _big) = single_route("big", "PathPrefix(`/`)", "/warm").await;
    let pid = cluster.nodes[&1].pid().unwrap();
    let before = peak_rss_kib(pid);
    const SIZE: usize = 100 << 20;

    // Upload: 100 MiB produced chunk by chunk, counted by the backend as it streams.
    let chunk = Bytes::from(vec![b'u'; 64 * 1024]);
    let stream = futures::stream::iter(0..SIZE / chunk.len())
        .map(move |_| Ok::<_, std::convert::Infallible>(Frame::data(chunk.clone())));
    let req = http::Request::builder()
        .method("POST")
        .uri(format!("{web}/upload"))
        .header("host", "x")
        .body(BodyExt::boxed(StreamBody::new(stream)))
        .unwrap();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http();
    let resp = client.request(req).await.unwrap();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(String::from_utf8_lossy(&body), format!("big {SIZE}"));

    // Download: 100 MiB counted as it arrives.
    let req = http::Request::builder()
        .uri(format!("{web}/download?bytes={SIZE}"))
        .header("host", "x")
        .body(http_body_util::Empty::<Bytes>::new().boxed())
        .unwrap();
    let client2 = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http();
    let mut body = client2.request(req).await.unwrap().into_body();
    let mut received = 0usize;
    while let Some(frame) = body.frame().await {
        if let Some(d) = frame.unwrap().data_ref() {
            received += d.len();
        }
    }
    assert_eq!(received, SIZE);
    let growth_mib = (peak_rss_kib(pid).saturating_sub(before)) / 1024;
    eprintln!("peak RSS growth of the node while streaming 2 x 100 MiB: {growth_mib} MiB");
    assert!(
        growth_mib < 32,
        "the proxy buffered: peak RSS grew by {growth_mib} MiB"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_config_swaps_under_load_fail_no_request() {
    let (_cluster, admin_url, web, a) =
        single_route("stable", "PathPrefix(`/stable`)", "/stable").await;

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let mut load = Vec::new();
    for _ in 0..4 {
        let (stop, ok, failed, web) = (stop.clone(), ok.clone(), failed.clone(), web.clone());
        load.push(tokio::spawn(async move {
            let client = http_client();
            while !stop.load(Ordering::SeqCst) {
                match send(
                    &client,
                    "GET",
                    &format!("{web}/stable"),
                    "x",
                    &[],
                    Bytes::new(),
                )
                .await
                {
                    Ok((200, _, _)) => ok.fetch_add(1, Ordering::SeqCst),
                    other => {
                        eprintln!("failed request: {other:?}");
                        failed.fetch_add(1, Ordering::SeqCst)
                    }
                };
            }
        }));
    }
    let started = Instant::now();
    let mut last = 0;
    for i in 0..1000 {
        // Every write changes the config: the stable service's weight and a churning router.
        last = put(
            &admin_url,
            vec![
                svc("stable", lb(&[(&a.url(), 1 + (i % 5))])),
                rtr(
                    &format!("churn-{}", i % 50),
                    &format!("Path(`/churn/{i}`)"),
                    "stable",
                ),
            ],
        )
        .await;
    }
    until_status(&web, "/churn/999", "x", 200).await;
    stop.store(true, Ordering::SeqCst);
    for t in load {
        t.await.unwrap();
    }
    eprintln!(
        "1000 config swaps in {:?} under load: {} requests ok, {} failed (last revision {last})",
        started.elapsed(),
        ok.load(Ordering::SeqCst),
        failed.load(Ordering::SeqCst)
    );
    assert!(ok.load(Ordering::SeqCst) > 100);
    assert_eq!(failed.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_failures_answer_502_and_504() {
    let (_cluster, admin_url, web) = one_node(&["--upstream-response-timeout-ms", "300"]).await;
    let slow = Backend::start("slow").await;
    slow.delay_ms.store(3000, Ordering::SeqCst);
    let closed = format!("http://127.0.0.1:{}", free_port());
    put(
        &admin_url,
        vec![
            svc("down", lb(&[(&closed, 1)])),
            svc("slow", lb(&[(&slow.url(), 1)])),
            rtr("down", "PathPrefix(`/down`)", "down"),
            rtr("slow", "PathPrefix(`/slow`)", "slow"),
        ],
    )
    .await;
    until_status(&web, "/down", "x", 502).await;
    let started = Instant::now();
    let (status, _, _) = get(&format!("{web}/slow"), "x").await.unwrap();
    assert_eq!(status, 504);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "timed out after {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paths_are_normalized_once_and_ambiguous_encodings_refused() {
    let (_cluster, _admin_url, web, a) =
        single_route("pub", "PathPrefix(`/public`)", "/public/x").await;
    assert_eq!(
        get(&format!("{web}/public/./y/../z"), "x").await.unwrap().0,
        200
    );
    assert!(
        a.seen.lock().unwrap().iter().any(|s| s.uri == "/public/z"),
        "the upstream gets the normalized path"
    );
    assert_eq!(
        get(&format!("{web}/public/../admin"), "x").await.unwrap().0,
        404
    );
    for bad in [
        "/public/%2e%2e/admin",
        "/public/%2F..%2Fadmin",
        "/public/a%5cb",
    ] {
        assert_eq!(
            get(&format!("{web}{bad}"), "x").await.unwrap().0,
            400,
            "{bad}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_cut_off_from_the_quorum_keeps_serving_its_last_config() {
    let mut cluster = TestCluster::start(3, &[]);
    let leader = wait_leader(&cluster, &[1, 2, 3], ELECTION).await;
    let a = Backend::start("a").await;
    let rev = put(
        &cluster.url(leader),
        vec![
            svc("api", lb(&[(&a.url(), 1)])),
            rtr("api", "PathPrefix(`/api`)", "api"),
        ],
    )
    .await;
    assert_converged(&cluster, &[1, 2, 3], rev).await;
    let survivor = [1, 2, 3].into_iter().find(|i| *i != leader).unwrap();
    let web = cluster.nodes[&survivor].web();
    until_status(&web, "/api", "x", 200).await;
    // Kill the two others: the survivor has no quorum, no leader, and cannot commit...
    for id in [1, 2, 3].into_iter().filter(|i| *i != survivor) {
        cluster.node(id).kill();
    }
    let err = create(&cluster.url(survivor), service("late", &a.url()))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.code(),
            tonic::Code::Unavailable | tonic::Code::DeadlineExceeded
        ),
        "{err:?}"
    );
    // ...but its proxy goes on serving the config it applied.
    let client = http_client();
    for _ in 0..50 {
        let (status, h, _) = send(
            &client,
            "GET",
            &format!("{web}/api"),
            "x",
            &[],
            Bytes::new(),
        )
        .await
        .unwrap();
        assert_eq!((status, h["x-backend"].to_str().unwrap()), (200, "a"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_requests_in_flight() {
    let (mut cluster, _admin_url, web, slow) =
        single_route("slow", "PathPrefix(`/slow`)", "/slow").await;
    slow.delay_ms.store(1500, Ordering::SeqCst);
    let before = slow.hits();
    let url = format!("{web}/slow");
    let inflight = tokio::spawn(async move { get(&url, "x").await });
    wait_for(
        "the request to reach the backend",
        Duration::from_secs(5),
        || {
            let n = slow.hits();
            async move { (n > before).then_some(()) }
        },
    )
    .await;
    cluster.node(1).terminate();
    // The request in flight still gets its answer...
    let (status, h, _) = inflight.await.unwrap().unwrap();
    assert_eq!((status, h["x-backend"].to_str().unwrap()), (200, "slow"));
    // ...and the node then exits on its own.
    wait_for("the node to exit", Duration::from_secs(15), || {
        let exited = cluster.node(1).has_exited();
        async move { exited.then_some(()) }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_servers_transport_sets_its_services_timeouts() {
    // The node's default gives servers 10 s to answer; the `fast-fail` transport 300 ms.
    let (_cluster, admin_url, web) = one_node(&["--upstream-response-timeout-ms", "10000"]).await;
    let slow = Backend::start("slow").await;
    slow.delay_ms.store(1000, Ordering::SeqCst);
    let mut strict = lb(&[(&slow.url(), 1)]);
    strict["loadBalancer"]["serversTransport"] = json!("fast-fail@file");
    put(
        &admin_url,
        vec![
            object(
                pb::Kind::ServersTransport,
                "fast-fail",
                json!({"forwardingTimeouts": {"responseHeaderTimeout": "300ms"}, "maxIdleConnsPerHost": 4}),
            ),
            svc("strict", strict),
            svc("patient", lb(&[(&slow.url(), 1)])),
            rtr("strict", "PathPrefix(`/strict`)", "strict"),
            rtr("patient", "PathPrefix(`/patient`)", "patient"),
        ],
    )
    .await;
    until_status(&web, "/strict", "x", 504).await;
    let (status, _, _) = get(&format!("{web}/patient"), "x").await.unwrap();
    assert_eq!(
        status, 200,
        "the default transport waits for the slow server"
    );

    // Changing the transport applies to its service; deleting a transport in use is refused.
    let mut admin = admin(&admin_url);
    put(
        &admin_url,
        vec![object(
            pb::Kind::ServersTransport,
            "fast-fail",
            json!({"forwardingTimeouts": {"responseHeaderTimeout": "5s"}}),
        )],
    )
    .await;
    until_status(&web, "/strict", "x", 200).await;
    let refused = admin
        .delete(pb::DeleteRequest {
            r#ref: Some(pb::ObjectRef {
                kind: pb::Kind::ServersTransport as i32,
                name: "fast-fail".into(),
            }),
            expected_mod_revision: None,
        })
        .await
        .unwrap_err();
    assert!(
        refused
            .message()
            .contains("still used by service \"strict\""),
        "{}",
        refused.message()
    );
}
