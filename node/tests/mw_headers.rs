//! `headers`, `redirectScheme`, `redirectRegex` and `contentType` end to end: a real node
//! process in front of real backends, configured through the admin API.

mod support;

use std::time::Duration;

use bytes::Bytes;
use raftgate_proto as pb;
use serde_json::json;
use support::backend::{get, http_client, send, Backend};
use support::*;

/// Polls until `GET path` with Host `host` answers `status`.
async fn until_status(web: &str, path: &str, host: &str, status: u16) {
    let url = format!("{web}{path}");
    wait_for(
        &format!("{url} (Host {host}) to answer {status}"),
        Duration::from_secs(10),
        || {
            let url = url.clone();
            async move { get(&url, host).await.ok().filter(|r| r.0 == status) }
        },
    )
    .await;
}

type Answer = (u16, http::HeaderMap, String);

async fn request(web: &str, method: &str, path: &str, host: &str, h: &[(&str, &str)]) -> Answer {
    send(
        &http_client(),
        method,
        &format!("{web}{path}"),
        host,
        h,
        Bytes::new(),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_apply_custom_cors_and_security_headers() {
    let (_cluster, admin_url, web) = one_node(&[]).await;
    let backend = Backend::start("h").await;

    // Invalid configs are refused when written, naming the field.
    let bad = middleware(
        "bad",
        json!({"headers": {"accessControlAllowOriginListRegex": ["(unclosed"]}}),
    );
    let e = create(&admin_url, bad).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    assert!(
        e.message().contains("accessControlAllowOriginListRegex[0]"),
        "{}",
        e.message()
    );
    let e = create(
        &admin_url,
        middleware("bad", json!({"headers": {"frameDenny": true}})),
    )
    .await
    .unwrap_err();
    assert!(e.message().contains("frameDenny"), "{}", e.message());

    put(
        &admin_url,
        vec![
            service("h", &backend.url()),
            middleware(
                "hdr",
                json!({"headers": {
                    "customRequestHeaders": {"X-Script-Name": "test", "X-Drop": ""},
                    "customResponseHeaders": {"X-Backend": "", "X-Gateway": "raftgate"},
                    "accessControlAllowMethods": ["GET", "PUT"],
                    "accessControlAllowHeaders": ["X-Token"],
                    "accessControlAllowOriginList": ["https://app.example"],
                    "accessControlMaxAge": 100,
                    "addVaryHeader": true,
                    "frameDeny": true,
                    "contentTypeNosniff": true,
                    "referrerPolicy": "no-referrer",
                    "stsSeconds": 300
                }}),
            ),
            middleware(
                "strict",
                json!({"headers": {"allowedHosts": ["allowed.example"],
                    "stsSeconds": 60, "forceSTSHeader": true}}),
            ),
            routed("h", "Host(`h.example`)", "h", &["hdr"]),
            routed(
                "s",
                "Host(`allowed.example`) || Host(`blocked.example`)",
                "h",
                &["strict"],
            ),
        ],
    )
    .await;
    until_status(&web, "/", "h.example", 200).await;

    // An ordinary request from an allowed origin.
    let origin = ("origin", "https://app.example");
    let (status, h, body) =
        request(&web, "GET", "/x", "h.example", &[origin, ("x-drop", "1")]).await;
    assert_eq!((status, body.as_str()), (200, "h 0"));
    assert_eq!(h["x-gateway"], "raftgate");
    assert!(!h.contains_key("x-backend"), "removed by an empty value");
    assert_eq!(h["access-control-allow-origin"], "https://app.example");
    assert_eq!(h["vary"], "Origin");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert!(
        !h.contains_key("strict-transport-security"),
        "STS is for HTTPS unless forced"
    );
    let seen = backend.seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!(seen.uri, "/x");
    assert_eq!(seen.headers["x-script-name"], "test");
    assert!(!seen.headers.contains_key("x-drop"));

    // Another origin gets no Allow-Origin.
    let (_, h, _) = request(
        &web,
        "GET",
        "/",
        "h.example",
        &[("origin", "https://evil.example")],
    )
    .await;
    assert!(!h.contains_key("access-control-allow-origin"));

    // A preflight is answered by the proxy.
    let hits = backend.hits();
    let (status, h, body) = request(
        &web,
        "OPTIONS",
        "/x",
        "h.example",
        &[origin, ("access-control-request-method", "PUT")],
    )
    .await;
    assert_eq!((status, body.as_str()), (200, ""));
    assert_eq!(h["access-control-allow-origin"], "https://app.example");
    assert_eq!(h["access-control-allow-methods"], "GET,PUT");
    assert_eq!(h["access-control-allow-headers"], "X-Token");
    assert_eq!(h["access-control-max-age"], "100");
    assert_eq!(backend.hits(), hits, "the preflight reached the backend");

    // allowedHosts: a forced STS header for the allowed host, 500 for the others.
    let (status, h, _) = request(&web, "GET", "/", "allowed.example", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(h["strict-transport-security"], "max-age=60");
    let hits = backend.hits();
    let (status, _, body) = request(&web, "GET", "/", "blocked.example", &[]).await;
    assert_eq!((status, body.as_str()), (500, "Bad Host\n"));
    assert_eq!(backend.hits(), hits);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_scheme_and_regex_answer_with_traefik_status_codes() {
    let (_cluster, admin_url, web) = one_node(&[]).await;
    let backend = Backend::start("r").await;
    let e = create(
        &admin_url,
        middleware(
            "bad",
            json!({"redirectScheme": {"scheme": "https", "port": "99999"}}),
        ),
    )
    .await
    .unwrap_err();
    assert!(e.message().contains("port"), "{}", e.message());

    put(
        &admin_url,
        vec![
            service("r", &backend.url()),
            middleware(
                "to-https",
                json!({"redirectScheme": {"scheme": "https", "port": "8443", "permanent": true}}),
            ),
            middleware("to-http", json!({"redirectScheme": {"scheme": "http", "port": "80"}})),
            middleware(
                "old-new",
                json!({"redirectRegex": {"regex": "^http://([^/]+)/old/(.*)", "replacement": "http://$1/new/$2"}}),
            ),
            routed("https", "Host(`r.example`)", "r", &["to-https"]),
            routed("same", "Host(`same.example`)", "r", &["to-http"]),
            routed("regex", "Host(`rx.example`)", "r", &["old-new"]),
        ],
    )
    .await;
    until_status(&web, "/", "r.example", 301).await;

    let (status, h, body) = request(&web, "GET", "/a?b=1", "r.example", &[]).await;
    assert_eq!((status, body.as_str()), (301, "Moved Permanently"));
    assert_eq!(h["location"], "https://r.example:8443/a?b=1");
    let (status, h, _) = request(&web, "POST", "/a", "r.example:8080", &[]).await;
    assert_eq!(status, 308, "non-GET keeps its method");
    assert_eq!(h["location"], "https://r.example:8443/a");

    // Already on the target scheme and (default) port: served, not looped.
    let (status, _, body) = request(&web, "GET", "/", "same.example", &[]).await;
    assert_eq!((status, body.as_str()), (200, "r 0"));

    let (status, h, _) = request(&web, "GET", "/old/x?y=1", "rx.example", &[]).await;
    assert_eq!(status, 302);
    assert_eq!(h["location"], "http://rx.example/new/x?y=1");
    let (status, h, _) = request(&web, "PUT", "/old/z", "rx.example", &[]).await;
    assert_eq!(status, 307);
    assert_eq!(h["location"], "http://rx.example/new/z");
    let (status, _, _) = request(&web, "GET", "/new/x", "rx.example", &[]).await;
    assert_eq!(status, 200, "a URL the regex does not match is served");
    let seen: Vec<String> = backend
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.uri.clone())
        .collect();
    assert_eq!(
        seen,
        ["/", "/new/x"],
        "only the non-redirected requests arrive"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_type_is_only_detected_when_enabled() {
    let (_cluster, admin_url, web) = one_node(&[]).await;
    // The backend answers "<name> <body length>" without a Content-Type: "<p> 0" sniffs as HTML.
    let backend = Backend::start("<p>").await;
    put(
        &admin_url,
        vec![
            service("b", &backend.url()),
            middleware("ct-off", json!({"contentType": {"autoDetect": false}})),
            middleware("ct-on", json!({"contentType": {}})),
            middleware(
                "json",
                json!({"headers": {"customResponseHeaders": {"Content-Type": "application/json"}}}),
            ),
            object(
                pb::Kind::Router,
                "plain",
                json!({"rule": "Host(`plain.example`)", "service": "b"}),
            ),
            routed("off", "Host(`off.example`)", "b", &["ct-off"]),
            routed("on", "Host(`on.example`)", "b", &["ct-on"]),
            routed("typed", "Host(`typed.example`)", "b", &["ct-on", "json"]),
        ],
    )
    .await;
    until_status(&web, "/", "typed.example", 200).await;

    for host in ["plain.example", "off.example"] {
        let (status, h, body) = request(&web, "GET", "/", host, &[]).await;
        assert_eq!((status, body.as_str()), (200, "<p> 0"));
        assert!(!h.contains_key("content-type"), "{host}: {h:?}");
    }
    let (_, h, body) = request(&web, "GET", "/", "on.example", &[]).await;
    assert_eq!(body, "<p> 0");
    assert_eq!(h["content-type"], "text/html; charset=utf-8");
    let (_, h, _) = request(&web, "GET", "/", "typed.example", &[]).await;
    assert_eq!(
        h["content-type"], "application/json",
        "the response's own type is kept"
    );

    // A streamed body is sniffed from its first bytes and arrives whole.
    let (status, h, body) =
        request(&web, "GET", "/download?bytes=1048576", "on.example", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(h["content-type"], "text/plain; charset=utf-8");
    assert_eq!(body.len(), 1 << 20);
    assert!(body.bytes().all(|b| b == b'x'));
}
