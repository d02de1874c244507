//! Traffic middlewares end to end (ipAllowList, inFlightReq, retry, circuitBreaker,
//! buffering): a real node process in front of real backends on loopback.

mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use raftgate_proto as pb;
use serde_json::json;
use support::backend::{get, http_client, send, Backend};
use support::*;

/// Polls until a request with `headers` answers `status`; returns its body.
async fn until_status(web: &str, path: &str, headers: &[(&str, &str)], status: u16) -> String {
    let client = http_client();
    let url = format!("{web}{path}");
    wait_for(
        &format!("{url} to answer {status}"),
        Duration::from_secs(10),
        || {
            let (client, url) = (client.clone(), url.clone());
            async move {
                send(&client, "GET", &url, "x", headers, Bytes::new())
                    .await
                    .ok()
                    .filter(|r| r.0 == status)
                    .map(|r| r.2)
            }
        },
    )
    .await
}

/// A loopback address nothing listens on.
fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ip_allow_list_checks_the_peer_or_a_trusted_forwarded_for_chain() {
    let (_cluster, admin_url, web) =
        one_node(&["--forwarded-headers-trusted-ips", "127.0.0.0/8"]).await;
    let backend = Backend::start("b").await;
    put(
        &admin_url,
        vec![
            service("b", &backend.url()),
            middleware("local", json!({"ipAllowList": {"sourceRange": ["127.0.0.1/32"]}})),
            middleware("elsewhere", json!({"ipAllowList": {"sourceRange": ["192.0.2.0/24", "2001:db8::/32"], "rejectStatusCode": 404}})),
            middleware("client", json!({"ipAllowList": {"sourceRange": ["203.0.113.0/24"], "ipStrategy": {"depth": 2}}})),
            routed("local", "Path(`/local`)", "b", &["local"]),
            routed("elsewhere", "Path(`/elsewhere`)", "b", &["elsewhere"]),
            routed("client", "Path(`/client`)", "b", &["client"]),
        ],
    )
    .await;
    until_status(&web, "/local", &[], 200).await;
    let body = until_status(&web, "/elsewhere", &[], 404).await;
    assert_eq!(body, "Not Found");
    // The node trusts its loopback peer: the client's chain is kept and the peer appended, so
    // depth 2 is the address the client sent.
    let xff = [("x-forwarded-for", "203.0.113.9")];
    until_status(&web, "/client", &xff, 200).await;
    let seen = backend.seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!(seen.headers["x-forwarded-for"], "203.0.113.9, 127.0.0.1");
    let hits = backend.hits();
    let (status, _, body) = send(
        &http_client(),
        "GET",
        &format!("{web}/client"),
        "x",
        &[("x-forwarded-for", "198.51.100.1")],
        Bytes::new(),
    )
    .await
    .unwrap();
    assert_eq!((status, body.as_str()), (403, "Forbidden"));
    let (status, ..) = get(&format!("{web}/client"), "x").await.unwrap();
    assert_eq!(status, 403, "no forwarded chain: depth 2 finds no client");
    assert_eq!(backend.hits(), hits, "refused requests reached the backend");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_req_answers_429_above_the_limit() {
    let (_cluster, admin_url, web) = one_node(&[]).await;
    let backend = Backend::start("b").await;
    put(
        &admin_url,
        vec![
            service("b", &backend.url()),
            middleware("one", json!({"inFlightReq": {"amount": 1}})),
            routed("r", "PathPrefix(`/`)", "b", &["one"]),
        ],
    )
    .await;
    until_status(&web, "/", &[], 200).await;
    backend.delay_ms.store(1500, Ordering::SeqCst);
    let hits = backend.hits();
    let url = format!("{web}/slow");
    let slow = tokio::spawn({
        let url = url.clone();
        async move { get(&url, "x").await }
    });
    wait_for(
        "the slow request to reach the backend",
        Duration::from_secs(10),
        || async { (backend.hits() > hits).then_some(()) },
    )
    .await;
    let (status, _, body) = get(&url, "x").await.unwrap();
    assert_eq!((status, body.as_str()), (429, "Too Many Requests"));
    assert_eq!(slow.await.unwrap().unwrap().0, 200);
    backend.delay_ms.store(0, Ordering::SeqCst);
    // The slot is free again once the first response is done.
    assert_eq!(get(&url, "x").await.unwrap().0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_req_holds_a_slot_until_the_response_body_is_done() {
    let (_cluster, admin_url, web) = one_node(&[]).await;
    let backend = Backend::start("b").await;
    put(
        &admin_url,
        vec![
            service("b", &backend.url()),
            middleware("one", json!({"inFlightReq": {"amount": 1}})),
            routed("r", "PathPrefix(`/`)", "b", &["one"]),
        ],
    )
    .await;
    until_status(&web, "/", &[], 200).await;
    // A 64 MiB download whose body the client does not read: its headers are back, but
    // the response is not finished, so the request still counts.
    let client = http_client();
    let req = http::Request::get(format!("{web}/download?bytes=67108864"))
        .header("host", "x")
        .body(http_body_util::BodyExt::boxed(http_body_util::Full::new(
            Bytes::new(),
        )))
        .unwrap();
    let download = client.request(req).await.unwrap();
    assert_eq!(download.status(), 200);
    let (status, _, body) = get(&format!("{web}/"), "x").await.unwrap();
    assert_eq!((status, body.as_str()), (429, "Too Many Requests"));
    // The client gives up on the body: the slot is released.
    drop(download);
    drop(client);
    until_status(&web, "/", &[], 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_moves_past_an_unreachable_server() {
    let (_cluster, admin_url, web) = one_node(&[]).await;
    let backend = Backend::start("live").await;
    let servers =
        json!({"loadBalancer": {"servers": [{"url": dead_url()}, {"url": backend.url()}]}});
    put(
        &admin_url,
        vec![
            object(pb::Kind::Service, "half", servers),
            middleware(
                "retry",
                json!({"retry": {"attempts": 2, "initialInterval": "10ms"}}),
            ),
            routed("plain", "Path(`/plain`)", "half", &[]),
            routed("retried", "Path(`/retried`)", "half", &["retry"]),
        ],
    )
    .await;
    until_status(&web, "/plain", &[], 200).await;
    // Without retry, round robin sends every other request to the dead server.
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(get(&format!("{web}/plain"), "x").await.unwrap().0);
    }
    assert!(statuses.contains(&502), "{statuses:?}");
    until_status(&web, "/retried", &[], 200).await;
    for _ in 0..10 {
        let (status, h, _) = get(&format!("{web}/retried"), "x").await.unwrap();
        assert_eq!(status, 200);
        assert_eq!(h["x-backend"], "live");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn circuit_breaker_trips_on_server_errors_and_stops_forwarding() {
    let (_cluster, admin_url, web) = one_node(&[]).await;
    let backend = Backend::start("b").await;
    put(
        &admin_url,
        vec![
            service("b", &backend.url()),
            middleware("cb", json!({"circuitBreaker": {
                "expression": "ResponseCodeRatio(500, 600, 0, 600) > 0.5 || NetworkErrorRatio() > 0.5",
                "checkPeriod": "50ms", "fallbackDuration": "1m", "responseCode": 418
            }})),
            routed("r", "PathPrefix(`/`)", "b", &["cb"]),
        ],
    )
    .await;
    until_status(&web, "/", &[], 200).await;
    backend.status.store(500, Ordering::SeqCst);
    let body = until_status(&web, "/", &[], 418).await;
    assert_eq!(body, "I'm a teapot");
    let hits = backend.hits();
    backend.status.store(200, Ordering::SeqCst);
    for _ in 0..5 {
        assert_eq!(get(&format!("{web}/"), "x").await.unwrap().0, 418);
    }
    assert_eq!(backend.hits(), hits, "a tripped breaker forwarded requests");
    // A new config revision that leaves the breaker unchanged keeps its state.
    put(
        &admin_url,
        vec![routed("other", "Path(`/other-route`)", "b", &[])],
    )
    .await;
    // (Its rule is longer, so it outranks the catch-all router of the breaker.)
    until_status(&web, "/other-route", &[], 200).await;
    let hits = backend.hits();
    assert_eq!(get(&format!("{web}/"), "x").await.unwrap().0, 418);
    assert_eq!(backend.hits(), hits);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn circuit_breaker_recovers_once_the_service_is_healthy_again() {
    let (_cluster, admin_url, web) = one_node(&[]).await;
    let backend = Backend::start("b").await;
    put(
        &admin_url,
        vec![
            service("b", &backend.url()),
            middleware(
                "cb",
                json!({"circuitBreaker": {
                    "expression": "NetworkErrorRatio() > 0.5",
                    "checkPeriod": "20ms", "fallbackDuration": "300ms", "recoveryDuration": "300ms"
                }}),
            ),
            routed("r", "PathPrefix(`/`)", "b", &["cb"]),
        ],
    )
    .await;
    until_status(&web, "/", &[], 200).await;
    // 504s count as network errors, like an unreachable server's 502s.
    backend.status.store(504, Ordering::SeqCst);
    until_status(&web, "/", &[], 503).await;
    backend.status.store(200, Ordering::SeqCst);
    until_status(&web, "/", &[], 200).await;
    // Past recovery the breaker is closed: every request goes through.
    let url = format!("{web}/");
    wait_for(
        "ten requests in a row to pass",
        Duration::from_secs(10),
        || {
            let url = url.clone();
            async move {
                for _ in 0..10 {
                    if get(&url, "x").await.ok()?.0 != 200 {
                        return None;
                    }
                }
                Some(())
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buffering_limits_request_and_response_bodies() {
    let (_cluster, admin_url, web) = one_node(&[]).await;
    let backend = Backend::start("b").await;
    put(
        &admin_url,
        vec![
            service("b", &backend.url()),
            middleware(
                "buf",
                json!({"buffering": {"maxRequestBodyBytes": 10, "maxResponseBodyBytes": 70000}}),
            ),
            routed("r", "PathPrefix(`/`)", "b", &["buf"]),
        ],
    )
    .await;
    until_status(&web, "/", &[], 200).await;
    let client = http_client();
    let post = |body: &'static str| {
        let (client, url) = (client.clone(), format!("{web}/upload"));
        async move {
            send(
                &client,
                "POST",
                &url,
                "x",
                &[],
                Bytes::from_static(body.as_bytes()),
            )
            .await
            .unwrap()
        }
    };
    let (status, _, body) = post("0123456789").await;
    assert_eq!((status, body.as_str()), (200, "b 10"));
    let hits = backend.hits();
    let (status, _, body) = post("0123456789A").await;
    assert_eq!((status, body.as_str()), (413, "Payload Too Large"));
    assert_eq!(backend.hits(), hits);
    // One 64 KiB chunk fits; two do not.
    let (status, h, body) = get(&format!("{web}/download?bytes=65536"), "x")
        .await
        .unwrap();
    assert_eq!((status, body.len()), (200, 65536));
    assert_eq!(h["content-length"], "65536");
    let (status, _, body) = get(&format!("{web}/download?bytes=131072"), "x")
        .await
        .unwrap();
    assert_eq!((status, body.as_str()), (500, "Internal Server Error"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_traffic_middlewares_are_refused_at_write_time_with_the_reason() {
    let (_cluster, admin_url, _web) = one_node(&[]).await;
    let cases = [
        (
            json!({"ipAllowList": {"sourceRange": ["10.0.0.0/33"]}}),
            "ipAllowList.sourceRange[0]: \"10.0.0.0/33\" is neither an IP address nor a CIDR range",
        ),
        (
            json!({"circuitBreaker": {"expression": "NetworkErrorRatio() > 0.5 && Latency() > 1"}}),
            "circuitBreaker.expression: \"NetworkErrorRatio() > 0.5 && Latency() > 1\": column 30: unknown function \"Latency\"",
        ),
        (
            json!({"buffering": {"retryExpression": "IsNetworkError() &&"}}),
            "buffering.retryExpression: \"IsNetworkError() &&\": column 20: expected a number or a function call, found the end",
        ),
        (json!({"retry": {"attempts": 2, "backoff": "1s"}}), "backoff"),
    ];
    for (spec, needle) in cases {
        let err = create(&admin_url, middleware("bad", spec.clone()))
            .await
            .expect_err(&spec.to_string());
        assert_eq!(err.code(), tonic::Code::InvalidArgument, "{spec}");
        assert!(
            err.message().contains(needle),
            "{spec}: {:?} lacks {needle:?}",
            err.message()
        );
    }
}
