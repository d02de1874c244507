use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Request, Response};

use super::super::testing::{body_string, ctx, get, run, run_chain, Recorder};
use super::*;

fn config(address: &str) -> raftgate_model::ForwardAuth {
    raftgate_model::ForwardAuth {
        address: address.into(),
        ..Default::default()
    }
}

/// An auth server that lets requests with `X-Token: good` in, naming the user.
async fn auth_server() -> Recorder {
    Recorder::start(|req: &Request<Bytes>| {
        if req.headers().get("x-token").is_some_and(|v| v == "good") {
            Response::builder()
                .header("X-Auth-User", "alice")
                .header("X-Extra-Id", "7")
                .header("X-Other", "no")
                .header("Set-Cookie", "session=abc; Path=/")
                .header("Set-Cookie", "tracking=1")
                .body(Bytes::from_static(b"ignored"))
                .unwrap()
        } else {
            Response::builder()
                .status(403)
                .header("X-Reason", "no token")
                .header("Location", "/login?next=1")
                .body(Bytes::from_static(b"denied by auth"))
                .unwrap()
        }
    })
    .await
}

fn with(
    mut req: Request<ProxyBody>,
    headers: &[(&'static str, &'static str)],
) -> Request<ProxyBody> {
    for (k, v) in headers {
        req.headers_mut().append(*k, HeaderValue::from_static(v));
    }
    req
}

#[tokio::test]
async fn an_allowed_request_carries_the_auth_headers_and_its_body() {
    let auth = auth_server().await;
    let backend = Recorder::ok().await;
    let mw = ForwardAuth::new(&raftgate_model::ForwardAuth {
        auth_response_headers: vec!["X-Auth-User".into()],
        auth_response_headers_regex: "^X-Extra-".into(),
        ..config(&format!("http://{}/verify?app=1", auth.addr))
    })
    .unwrap();
    let mut req = with(
        get("/api/items?q=1"),
        &[
            ("x-token", "good"),
            ("x-auth-user", "forged"),
            ("x-extra-old", "gone"),
            ("content-length", "5"),
        ],
    );
    *req.method_mut() = Method::POST;
    *req.body_mut() = full("hello");
    let resp = run(Arc::new(mw), &backend.service(), req).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(body_string(resp).await, "ok");

    let seen = auth.requests();
    let a = &seen[0];
    assert_eq!(a.method(), Method::GET);
    assert_eq!(a.uri().to_string(), "/verify?app=1");
    assert!(a.body().is_empty(), "no body goes to the auth server");
    let h = a.headers();
    assert_eq!(h["host"], auth.addr.to_string());
    assert_eq!(h["x-forwarded-method"], "POST");
    assert_eq!(h["x-forwarded-uri"], "/api/items?q=1");
    assert_eq!(h["x-forwarded-host"], "example.com");
    assert_eq!(h["x-forwarded-proto"], "http");
    assert_eq!(h["x-forwarded-for"], "10.0.0.1");
    assert_eq!(h["x-token"], "good");

    let b = &backend.requests()[0];
    assert_eq!(b.method(), Method::POST);
    assert_eq!(b.body().as_ref(), b"hello");
    let h = b.headers();
    assert_eq!(h["x-auth-user"], "alice");
    assert_eq!(h["x-extra-id"], "7");
    assert!(
        h.get("x-extra-old").is_none(),
        "regex-matching request headers are replaced"
    );
    assert!(h.get("x-other").is_none());
}

#[tokio::test]
async fn a_denial_is_returned_as_is_with_an_absolute_location() {
    let auth = auth_server().await;
    let backend = Recorder::ok().await;
    let mw = Arc::new(ForwardAuth::new(&config(&format!("http://{}/verify", auth.addr))).unwrap());
    let resp = run(mw, &backend.service(), get("/private")).await.unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(resp.headers()["x-reason"], "no token");
    assert_eq!(
        resp.headers()["location"],
        format!("http://{}/login?next=1", auth.addr).as_str()
    );
    assert_eq!(body_string(resp).await, "denied by auth");
    assert!(backend.requests().is_empty());

    let keep = ForwardAuth::new(&raftgate_model::ForwardAuth {
        preserve_location_header: true,
        ..config(&format!("http://{}/verify", auth.addr))
    })
    .unwrap();
    let resp = run(Arc::new(keep), &backend.service(), get("/private"))
        .await
        .unwrap();
    assert_eq!(resp.headers()["location"], "/login?next=1");
}

#[tokio::test]
async fn only_listed_request_headers_are_sent_and_the_method_can_be_kept() {
    let auth = auth_server().await;
    let backend = Recorder::ok().await;
    let mw = ForwardAuth::new(&raftgate_model::ForwardAuth {
        auth_request_headers: vec!["X-Token".into()],
        preserve_request_method: true,
        ..config(&format!("http://{}/", auth.addr))
    })
    .unwrap();
    let mut req = with(get("/"), &[("x-token", "good"), ("cookie", "a=b")]);
    *req.method_mut() = Method::DELETE;
    let resp = run(Arc::new(mw), &backend.service(), req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let seen = auth.requests();
    assert_eq!(seen[0].method(), Method::DELETE);
    assert_eq!(seen[0].headers()["x-token"], "good");
    assert!(seen[0].headers().get("cookie").is_none());
    assert_eq!(seen[0].headers()["x-forwarded-method"], "DELETE");
}

#[tokio::test]
async fn listed_auth_cookies_replace_the_backends_ones() {
    let auth = auth_server().await;
    let backend = Recorder::start(|_| {
        Response::builder()
            .header("Set-Cookie", "session=old")
            .header("Set-Cookie", "keep=1")
            .body(Bytes::from_static(b"ok"))
            .unwrap()
    })
    .await;
    let mw = ForwardAuth::new(&raftgate_model::ForwardAuth {
        add_auth_cookies_to_response: vec!["session".into()],
        ..config(&format!("http://{}/", auth.addr))
    })
    .unwrap();
    let resp = run(
        Arc::new(mw),
        &backend.service(),
        with(get("/"), &[("x-token", "good")]),
    )
    .await
    .unwrap();
    let cookies: Vec<&str> = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(cookies, ["keep=1", "session=abc; Path=/"]);
}

#[tokio::test]
async fn trusted_forward_headers_pass_but_method_and_uri_are_always_the_requests() {
    let auth = auth_server().await;
    let backend = Recorder::ok().await;
    let spoofed = &[
        ("x-token", "good"),
        ("x-forwarded-for", "1.2.3.4"),
        ("x-forwarded-host", "fwd.example"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-uri", "/public"),
        ("x-forwarded-method", "OPTIONS"),
    ];
    for trust in [false, true] {
        let mw = ForwardAuth::new(&raftgate_model::ForwardAuth {
            trust_forward_header: trust,
            ..config(&format!("http://{}/", auth.addr))
        })
        .unwrap();
        let resp = run(
            Arc::new(mw),
            &backend.service(),
            with(get("/admin"), spoofed),
        )
        .await
        .unwrap();
        assert_eq!(resp.status(), 200);
        let seen = auth.requests();
        let h = seen.last().unwrap().headers();
        assert_eq!(h["x-forwarded-uri"], "/admin");
        assert_eq!(h["x-forwarded-method"], "GET");
        let (ip, host, proto) = if trust {
            ("1.2.3.4", "fwd.example", "https")
        } else {
            ("10.0.0.1", "example.com", "http")
        };
        assert_eq!(h["x-forwarded-for"], ip, "trust={trust}");
        assert_eq!(h["x-forwarded-host"], host, "trust={trust}");
        assert_eq!(h["x-forwarded-proto"], proto, "trust={trust}");
    }
}

#[tokio::test]
async fn forward_body_sends_it_within_the_limit_and_refuses_beyond() {
    let auth = auth_server().await;
    let backend = Recorder::ok().await;
    let mw: Arc<dyn Middleware> = Arc::new(
        ForwardAuth::new(&raftgate_model::ForwardAuth {
            forward_body: true,
            max_body_size: Some(8),
            ..config(&format!("http://{}/", auth.addr))
        })
        .unwrap(),
    );
    let post = |body: &'static str| {
        let mut req = with(get("/"), &[("x-token", "good")]);
        *req.method_mut() = Method::POST;
        *req.body_mut() = full(body);
        req
    };
    let resp = run_chain(
        std::slice::from_ref(&mw),
        &backend.service(),
        &ctx(),
        post("12345678"),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(auth.requests()[0].body().as_ref(), b"12345678");
    assert_eq!(backend.requests()[0].body().as_ref(), b"12345678");
    let resp = run_chain(&[mw], &backend.service(), &ctx(), post("123456789"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(auth.requests().len(), 1);
}

#[tokio::test]
async fn an_unreachable_auth_server_gives_an_empty_500() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let backend = Recorder::ok().await;
    let mw = ForwardAuth::new(&config(&format!("http://127.0.0.1:{port}/"))).unwrap();
    let resp = run(Arc::new(mw), &backend.service(), get("/"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 500);
    assert_eq!(body_string(resp).await, "");
    assert!(backend.requests().is_empty());
}

#[test]
fn https_and_tls_are_refused_until_supported() {
    let err = ForwardAuth::new(&config("https://auth.local/verify"))
        .err()
        .unwrap();
    assert!(err.contains("https is not supported yet"), "{err}");
    let err = ForwardAuth::new(&raftgate_model::ForwardAuth {
        tls: Some(Default::default()),
        ..config("http://auth.local/")
    })
    .err()
    .unwrap();
    assert!(
        err.starts_with("tls settings are not supported yet"),
        "{err}"
    );
}

#[test]
fn header_names_are_matched_in_gos_canonical_form() {
    assert_eq!(canonical("x-auth-user"), "X-Auth-User");
    assert_eq!(canonical("www-authenticate"), "Www-Authenticate");
    assert_eq!(
        cookie_name(&HeaderValue::from_static("session=abc; Path=/")),
        Some("session")
    );
}
