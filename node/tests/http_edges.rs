//! HTTP edge cases through a real node, with requests written byte by byte: what a client may
//! ask for that a gateway must not pass on as is.

mod support;

use std::time::Duration;

use support::backend::{get, Backend};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One node routing everything to `backend`, once it serves.
async fn node_before(backend: &Backend) -> (TestCluster, String) {
    let (cluster, admin_url, web) = one_node(&[]).await;
    put(
        &admin_url,
        vec![
            service("b", &backend.url()),
            router("all", "PathPrefix(`/`)", "b"),
        ],
    )
    .await;
    let url = format!("{web}/ready");
    wait_for("the route", Duration::from_secs(10), || {
        let url = url.clone();
        async move { get(&url, "x").await.ok().filter(|r| r.0 == 200) }
    })
    .await;
    (cluster, web)
}

/// Writes `request` on a new connection and reads the answer's head.
async fn raw(web: &str, request: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(web.trim_start_matches("http://"))
        .await
        .unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buf = vec![0; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .expect("an answer")
        .unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_websocket_upgrades_reach_a_backend() {
    let backend = Backend::start("b").await;
    let (_cluster, web) = node_before(&backend).await;
    // The h2c-smuggling request: were `Upgrade: h2c` passed on and answered 101, the rest of
    // the connection would be a raw tunnel past routing and middlewares.
    let head = raw(
        &web,
        "GET /smuggle HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n\
         Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let seen = backend.seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!(seen.uri, "/smuggle");
    for name in ["upgrade", "http2-settings", "connection"] {
        assert!(
            !seen.headers.contains_key(name),
            "{name} reached the backend"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_client_cannot_vouch_for_what_a_proxy_saw() {
    let backend = Backend::start("b").await;
    let (_cluster, web) = node_before(&backend).await;
    let head = raw(
        &web,
        "GET /spoof HTTP/1.1\r\nHost: x\r\nForwarded: for=6.6.6.6;proto=https\r\n\
         X-Forwarded-Uri: /admin\r\nX-Forwarded-Method: DELETE\r\n\
         X-Forwarded-Tls-Client-Cert: MIIB\r\nX-Forwarded-Tls-Client-Cert-Info: Subject=admin\r\n\
         X-Forwarded-For: 6.6.6.6\r\nX-Custom: kept\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let seen = backend.seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!(seen.uri, "/spoof");
    for name in [
        "forwarded",
        "x-forwarded-uri",
        "x-forwarded-method",
        "x-forwarded-tls-client-cert",
        "x-forwarded-tls-client-cert-info",
    ] {
        assert!(
            !seen.headers.contains_key(name),
            "{name} reached the backend"
        );
    }
    assert_eq!(seen.headers["x-forwarded-for"], "127.0.0.1");
    assert_eq!(seen.headers["x-custom"], "kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_routed_is_the_one_host_the_request_names() {
    let backend = Backend::start("b").await;
    let (cluster, web) = node_before(&backend).await;
    put(
        &cluster.url(1),
        vec![
            router("a", "Host(`a.example`)", "b"),
            router("other", "Host(`other.example`)", "noop@internal"),
            router("v6", "Host(`10::10`) && PathPrefix(`/v6`)", "noop@internal"),
        ],
    )
    .await;
    let until_routed = |request: &'static str, status: &'static str| {
        let web = web.clone();
        wait_for("the new routers", Duration::from_secs(10), move || {
            let web = web.clone();
            async move { raw(&web, request).await.starts_with(status).then_some(()) }
        })
    };
    until_routed(
        "GET / HTTP/1.1\r\nHost: other.example\r\n\r\n",
        "HTTP/1.1 418",
    )
    .await;

    // Absolute form: the target's authority is the host (RFC 9112 §3.2.2), whatever the Host
    // header says, and it is the host forwarded.
    let hits = backend.hits();
    let head = raw(
        &web,
        "GET http://a.example/abs HTTP/1.1\r\nHost: other.example\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(backend.hits(), hits + 1);
    let seen = backend.seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!(seen.headers["host"], "a.example");

    // An IPv6 literal host, in absolute form or in the Host header, with a port or without,
    // matches `Host(`10::10`)` (or `Host(`[10::10]`)`).
    for request in [
        "GET http://[10::10]/v6 HTTP/1.1\r\nHost: [10::10]\r\n\r\n",
        "GET /v6 HTTP/1.1\r\nHost: [10::10]:8080\r\n\r\n",
    ] {
        let head = raw(&web, request).await;
        assert!(head.starts_with("HTTP/1.1 418"), "{request:?}: {head}");
    }

    // Two Host headers, none on HTTP/1.1, or one that is no host: 400, nothing forwarded.
    let hits = backend.hits();
    for request in [
        "GET /two HTTP/1.1\r\nHost: a.example\r\nHost: other.example\r\n\r\n",
        "GET /none HTTP/1.1\r\n\r\n",
        "GET /bad HTTP/1.1\r\nHost: a b\r\n\r\n",
    ] {
        let head = raw(&web, request).await;
        assert!(head.starts_with("HTTP/1.1 400"), "{request:?}: {head}");
    }
    assert_eq!(
        backend.hits(),
        hits,
        "a refused request reached the backend"
    );
    // HTTP/1.0 may name no host: routed by the other rules.
    let head = raw(&web, "GET /old HTTP/1.0\r\n\r\n").await;
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{head}"
    );
}

/// A backend speaking HTTP/1.0: answers every connection `HTTP/1.0 200` and closes it.
async fn http10_backend() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0; 4096];
                let _ = stream.read(&mut buf).await;
                let _ = stream
                    .write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    .await;
            });
        }
    });
    (url, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_a_backend_could_read_two_ways_are_refused_and_http10_answers_as_http11() {
    let backend = Backend::start("b").await;
    let (cluster, web) = node_before(&backend).await;
    let (old, _task) = http10_backend().await;
    put(
        &cluster.url(1),
        vec![
            service("old", &old),
            router("old", "PathPrefix(`/old`)", "old"),
        ],
    )
    .await;
    let web2 = web.clone();
    let head = wait_for("the HTTP/1.0 route", Duration::from_secs(10), move || {
        let web = web2.clone();
        async move {
            let head = raw(&web, "GET /old HTTP/1.1\r\nHost: x\r\n\r\n").await;
            (!head.starts_with("HTTP/1.1 404")).then_some(head)
        }
    })
    .await;
    // As Traefik answers: in the client's version, not the backend's.
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");

    // Content-Length and Transfer-Encoding together: read by its chunked encoding (the length
    // is dropped, as Go's server drops it for Traefik), and the connection closed after the
    // answer (RFC 9112 §6.3), so nothing smuggled after the body is read as a request.
    let mut stream = tokio::net::TcpStream::connect(web.trim_start_matches("http://"))
        .await
        .unwrap();
    stream
        .write_all(
            b"POST /cl-te HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\
              Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
        )
        .await
        .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
        .await
        .expect("the connection is closed after the answer")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(answer.matches("HTTP/1.1").count(), 1, "{answer}");
    let seen = backend.seen.lock().unwrap().clone();
    assert!(seen.iter().any(|s| s.uri == "/cl-te" && s.body_len == 0));
    assert!(!seen.iter().any(|s| s.uri == "/smuggled"));

    // A transfer coding besides chunked would reach the server silently dropped: 501, as
    // Go's server answers for Traefik.
    let hits = backend.hits();
    let head = raw(
        &web,
        "POST /te HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 501"), "{head}");
    assert_eq!(
        backend.hits(),
        hits,
        "a refused request reached the backend"
    );

    // A chunk size that is no number: 400, nothing forwarded.
    let hits = backend.hits();
    let head = raw(
        &web,
        "POST /chunk HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    assert_eq!(
        backend.hits(),
        hits,
        "a refused request reached the backend"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buffered_bodies_share_a_node_wide_memory_budget() {
    let backend = Backend::start("b").await;
    let (_cluster, url, web) = one_node(&["--buffering-memory-mb", "1"]).await;
    put(
        &url,
        vec![
            service("b", &backend.url()),
            middleware("buf", serde_json::json!({"buffering": {}})),
            routed("all", "PathPrefix(`/`)", "b", &["buf"]),
        ],
    )
    .await;
    let client = support::backend::http_client();
    let post = |size: usize| {
        let (client, url) = (client.clone(), format!("{web}/upload"));
        async move {
            support::backend::send(&client, "POST", &url, "x", &[], vec![b'x'; size].into())
                .await
                .map(|r| r.0)
        }
    };
    // Under the budget (and within maxRequestBodyBytes, unlimited here): forwarded, and the
    // budget is given back, so the next one fits too.
    wait_for("the buffered route", Duration::from_secs(10), || async {
        (post(512 << 10).await == Ok(200)).then_some(())
    })
    .await;
    assert_eq!(post(512 << 10).await, Ok(200));
    // Over the node's 1 MiB: 503, nothing forwarded.
    let hits = backend.hits();
    assert_eq!(post(2 << 20).await, Ok(503));
    assert_eq!(backend.hits(), hits);
    assert_eq!(post(512 << 10).await, Ok(200));
}
