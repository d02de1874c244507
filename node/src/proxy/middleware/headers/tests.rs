use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use http::{Method, Request, Response};

use super::super::testing::{body_string, ctx, get, run, run_chain, Recorder};
use super::*;
use crate::proxy::body::boxed;
use crate::proxy::middleware::RequestCtx;

fn headers(json: serde_json::Value) -> Arc<dyn Middleware> {
    let config: raftgate_model::Headers = serde_json::from_value(json).unwrap();
    Arc::new(Headers::new(&config).unwrap())
}

fn with(mut req: Request<ProxyBody>, pairs: &[(&str, &str)]) -> Request<ProxyBody> {
    for (k, v) in pairs {
        req.headers_mut().append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    req
}

#[tokio::test]
async fn custom_request_headers_are_set_replaced_and_removed() {
    let backend = Recorder::ok().await;
    let mw = headers(serde_json::json!({"customRequestHeaders": {
        "X-Script-Name": "test", "X-Drop": "", "Host": "internal.example", "X-Twice": "one"
    }}));
    let req = with(
        get("/"),
        &[("x-drop", "a"), ("x-twice", "1"), ("x-twice", "2")],
    );
    let resp = run(mw, &backend.service(), req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let seen = backend.requests();
    let h = seen[0].headers();
    assert_eq!(h["x-script-name"], "test");
    assert!(!h.contains_key("x-drop"));
    assert_eq!(h["host"], "internal.example");
    assert_eq!(h.get_all("x-twice").iter().count(), 1, "a set replaces");
    assert_eq!(h["x-twice"], "one");
}

#[tokio::test]
async fn custom_response_headers_override_and_remove_the_backends() {
    let backend = Recorder::start(|_| {
        Response::builder()
            .header("server", "backend/1.0")
            .header("x-powered-by", "php")
            .body(Bytes::from_static(b"body"))
            .unwrap()
    })
    .await;
    let mw = headers(serde_json::json!({"customResponseHeaders": {
        "Server": "gateway", "X-Powered-By": "", "X-Custom": "yes"
    }}));
    let resp = run(mw, &backend.service(), get("/")).await.unwrap();
    assert_eq!(resp.headers()["server"], "gateway");
    assert!(!resp.headers().contains_key("x-powered-by"));
    assert_eq!(resp.headers()["x-custom"], "yes");
    assert_eq!(body_string(resp).await, "body");
}

fn cors() -> Arc<dyn Middleware> {
    headers(serde_json::json!({
        "accessControlAllowMethods": ["GET", "OPTIONS", "PUT"],
        "accessControlAllowHeaders": ["X-Token", "Content-Type"],
        "accessControlAllowOriginList": ["https://a.example"],
        "accessControlAllowOriginListRegex": ["^https://[a-z]+\\.b\\.example$"],
        "accessControlExposeHeaders": ["X-Total"],
        "accessControlMaxAge": 600,
        "accessControlAllowCredentials": true,
        "addVaryHeader": true
    }))
}

#[tokio::test]
async fn a_preflight_is_answered_without_reaching_the_backend() {
    let backend = Recorder::ok().await;
    let preflight = |origin: &str| {
        let mut req = with(
            get("/api"),
            &[("origin", origin), ("access-control-request-method", "PUT")],
        );
        *req.method_mut() = Method::OPTIONS;
        req
    };
    let resp = run(cors(), &backend.service(), preflight("https://a.example"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let h = resp.headers().clone();
    assert_eq!(h["access-control-allow-origin"], "https://a.example");
    assert_eq!(h["access-control-allow-methods"], "GET,OPTIONS,PUT");
    assert_eq!(h["access-control-allow-headers"], "X-Token,Content-Type");
    assert_eq!(h["access-control-allow-credentials"], "true");
    assert_eq!(h["access-control-max-age"], "600");
    assert_eq!(body_string(resp).await, "");
    // An origin that is not allowed still gets an answer, without Allow-Origin.
    let resp = run(
        cors(),
        &backend.service(),
        preflight("https://evil.example"),
    )
    .await
    .unwrap();
    assert!(!resp.headers().contains_key("access-control-allow-origin"));
    assert!(backend.requests().is_empty(), "the backend saw a preflight");

    // OPTIONS without Access-Control-Request-Method is an ordinary request.
    let mut plain = with(get("/"), &[("origin", "https://a.example")]);
    *plain.method_mut() = Method::OPTIONS;
    run(cors(), &backend.service(), plain).await.unwrap();
    assert_eq!(backend.requests().len(), 1);
}

#[tokio::test]
async fn allowed_origins_get_cors_headers_on_ordinary_responses() {
    let backend = Recorder::start(|_| {
        Response::builder()
            .header("vary", "Accept-Encoding")
            .body(Bytes::new())
            .unwrap()
    })
    .await;
    let service = backend.service();
    for (origin, allowed) in [
        ("https://a.example", Some("https://a.example")),
        ("https://x.b.example", Some("https://x.b.example")),
        ("https://x.b.example.evil", None),
        ("https://evil.example", None),
    ] {
        let req = with(get("/"), &[("origin", origin)]);
        let resp = run(cors(), &service, req).await.unwrap();
        let h = resp.headers();
        assert_eq!(
            h.get("access-control-allow-origin")
                .map(|v| v.to_str().unwrap()),
            allowed,
            "{origin}"
        );
        assert_eq!(h["access-control-expose-headers"], "X-Total");
        assert_eq!(h["access-control-allow-credentials"], "true");
        assert_eq!(h["vary"], "Accept-Encoding,Origin");
    }
    let any = headers(serde_json::json!({"accessControlAllowOriginList": ["*"]}));
    let resp = run(any, &service, with(get("/"), &[("origin", "https://z")]))
        .await
        .unwrap();
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
    assert!(!resp
        .headers()
        .contains_key("access-control-allow-credentials"));
}

#[tokio::test]
async fn wildcards_with_credentials_answer_what_was_asked() {
    let backend = Recorder::ok().await;
    let service = backend.service();
    let mw = headers(serde_json::json!({
        "accessControlAllowCredentials": true,
        "accessControlAllowOriginList": ["*"],
        "accessControlAllowHeaders": ["*"],
        "accessControlAllowMethods": ["*"],
        "accessControlExposeHeaders": ["*"]
    }));
    let mut req = with(
        get("/"),
        &[
            ("origin", "https://z.example"),
            ("access-control-request-method", "PATCH"),
            ("access-control-request-headers", "X-A,X-B"),
        ],
    );
    *req.method_mut() = Method::OPTIONS;
    let resp = run(mw.clone(), &service, req).await.unwrap();
    let h = resp.headers();
    assert_eq!(h["access-control-allow-origin"], "https://z.example");
    assert_eq!(h["access-control-allow-methods"], "PATCH");
    assert_eq!(h["access-control-allow-headers"], "X-A,X-B");
    assert!(!h.contains_key("access-control-expose-headers"));
    assert!(!h.contains_key("access-control-max-age"), "not configured");
    let resp = run(mw, &service, get("/")).await.unwrap();
    assert!(
        !resp.headers().contains_key("access-control-allow-origin"),
        "no Origin, nothing to echo"
    );
    assert_eq!(resp.headers()["access-control-allow-credentials"], "true");
}

#[test]
fn vary_origin_is_not_added_twice() {
    let mut h = HeaderMap::new();
    cors::add_vary_origin(&mut h);
    assert_eq!(h["vary"], "Origin");
    cors::add_vary_origin(&mut h);
    assert_eq!(h["vary"], "Origin");
}

fn https_ctx() -> RequestCtx {
    RequestCtx {
        scheme: "https",
        port: 443,
        ..ctx()
    }
}

const SECURE: &str = r#"{
    "stsSeconds": 31536000, "stsIncludeSubdomains": true, "stsPreload": true,
    "frameDeny": true, "contentTypeNosniff": true, "browserXssFilter": true,
    "contentSecurityPolicy": "default-src 'self'", "contentSecurityPolicyReportOnly": "img-src *",
    "referrerPolicy": "same-origin", "permissionsPolicy": "camera=()", "publicKey": "pin-sha256=\"x\"",
    "sslProxyHeaders": {"X-Forwarded-Ssl": "on"}
}"#;

#[tokio::test]
async fn security_headers_and_sts_only_over_https() {
    let backend = Recorder::start(|_| {
        Response::builder()
            .header("x-frame-options", "ALLOWALL")
            .body(Bytes::new())
            .unwrap()
    })
    .await;
    let service = backend.service();
    let mw = headers(serde_json::from_str(SECURE).unwrap());
    let resp = run(mw.clone(), &service, get("/")).await.unwrap();
    let h = resp.headers();
    assert_eq!(h["x-frame-options"], "DENY", "replaces the backend's");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-xss-protection"], "1; mode=block");
    assert_eq!(h["content-security-policy"], "default-src 'self'");
    assert_eq!(h["content-security-policy-report-only"], "img-src *");
    assert_eq!(h["referrer-policy"], "same-origin");
    assert_eq!(h["permissions-policy"], "camera=()");
    assert!(!h.contains_key("strict-transport-security"), "plain http");
    assert!(!h.contains_key("public-key-pins"), "plain http");

    let sts = "max-age=31536000; includeSubDomains; preload";
    let resp = run_chain(std::slice::from_ref(&mw), &service, &https_ctx(), get("/"))
        .await
        .unwrap();
    assert_eq!(resp.headers()["strict-transport-security"], sts);
    assert_eq!(resp.headers()["public-key-pins"], "pin-sha256=\"x\"");
    let behind_tls = with(get("/"), &[("x-forwarded-ssl", "on")]);
    let resp = run(mw.clone(), &service, behind_tls).await.unwrap();
    assert_eq!(resp.headers()["strict-transport-security"], sts);
    let wrong_value = with(get("/"), &[("x-forwarded-ssl", "yes")]);
    let resp = run(mw, &service, wrong_value).await.unwrap();
    assert!(!resp.headers().contains_key("strict-transport-security"));

    let forced = headers(serde_json::json!({"stsSeconds": 60, "forceSTSHeader": true,
        "customFrameOptionsValue": "SAMEORIGIN", "frameDeny": true,
        "customBrowserXSSValue": "0", "browserXssFilter": true}));
    let resp = run(forced, &service, get("/")).await.unwrap();
    assert_eq!(resp.headers()["strict-transport-security"], "max-age=60");
    assert_eq!(resp.headers()["x-frame-options"], "SAMEORIGIN");
    assert_eq!(resp.headers()["x-xss-protection"], "0");

    let dev = headers(serde_json::json!({"stsSeconds": 60, "forceSTSHeader": true,
        "isDevelopment": true, "allowedHosts": ["other.com"], "frameDeny": true}));
    let resp = run(dev, &service, get("/")).await.unwrap();
    assert_eq!(resp.status(), 200, "allowedHosts is ignored in development");
    assert!(!resp.headers().contains_key("strict-transport-security"));
    assert_eq!(resp.headers()["x-frame-options"], "DENY");
}

#[tokio::test]
async fn custom_response_headers_can_remove_security_headers() {
    let backend = Recorder::ok().await;
    let mw = headers(serde_json::json!({"frameDeny": true,
        "customResponseHeaders": {"X-Frame-Options": ""}}));
    let resp = run(mw, &backend.service(), get("/")).await.unwrap();
    assert!(!resp.headers().contains_key("x-frame-options"));
}

#[tokio::test]
async fn hosts_outside_allowed_hosts_get_500_bad_host() {
    let backend = Recorder::ok().await;
    let service = backend.service();
    let mw = headers(
        serde_json::json!({"allowedHosts": ["Example.com", "api.example.com"],
        "hostsProxyHeaders": ["X-Forwarded-Host-Orig"]}),
    );
    let resp = run(mw.clone(), &service, get("/")).await.unwrap();
    assert_eq!(resp.status(), 200, "host matches ignoring case");
    let via_proxy = with(get("/"), &[("x-forwarded-host-orig", "api.example.com")]);
    assert_eq!(
        run(mw.clone(), &service, via_proxy).await.unwrap().status(),
        200
    );
    let mut other = get("/");
    other
        .headers_mut()
        .insert("host", HeaderValue::from_static("example.com:8080"));
    let resp = run(mw, &service, other).await.unwrap();
    assert_eq!(resp.status(), 500, "the port is part of the host");
    assert_eq!(body_string(resp).await, "Bad Host\n");
    assert_eq!(backend.requests().len(), 2);
}

/// A "service" whose response body never ends: proves the middleware does not wait for it.
struct Endless;

impl Middleware for Endless {
    fn handle<'a>(&'a self, _: Request<ProxyBody>, _: Next<'a>) -> BoxFuture<'a, ProxyResult> {
        Box::pin(async move {
            let body = http_body_util::StreamBody::new(futures::stream::pending::<
                Result<hyper::body::Frame<Bytes>, std::convert::Infallible>,
            >());
            Ok(Response::new(boxed(body)))
        })
    }
}

#[tokio::test]
async fn response_headers_do_not_wait_for_the_body() {
    let backend = Recorder::ok().await;
    let mw = headers(serde_json::json!({"frameDeny": true,
        "customResponseHeaders": {"X-A": "1"}, "accessControlAllowOriginList": ["*"]}));
    let chain: Vec<Arc<dyn Middleware>> = vec![mw, Arc::new(Endless)];
    let resp = tokio::time::timeout(
        Duration::from_secs(5),
        run_chain(&chain, &backend.service(), &ctx(), get("/")),
    )
    .await
    .expect("headers were held back until the body ended")
    .unwrap();
    assert_eq!(resp.headers()["x-a"], "1");
    assert_eq!(resp.headers()["x-frame-options"], "DENY");
}
