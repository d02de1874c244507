//! End-to-end tests of the path middlewares and `chain` through a real node: the backend
//! records the URI and headers it received.

mod support;

use serde_json::json;
use support::backend::{get, Backend};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_middlewares_and_chains_rewrite_what_the_backend_receives() {
    let (_cluster, admin_url, web) = one_node(&[]).await;
    let backend = Backend::start("b").await;
    put(
        &admin_url,
        vec![
            service("b", &backend.url()),
            middleware("strip", json!({"stripPrefix": {"prefixes": ["/api"]}})),
            middleware("v2", json!({"addPrefix": {"prefix": "/v2"}})),
            middleware(
                "users",
                json!({"stripPrefixRegex": {"regex": ["/users/[0-9]+"]}}),
            ),
            middleware("fixed", json!({"replacePath": {"path": "/health"}})),
            middleware(
                "rx",
                json!({"replacePathRegex": {"regex": "^/old/(.*)", "replacement": "/new/$1"}}),
            ),
            middleware(
                "api-v2",
                json!({"chain": {"middlewares": ["strip", "v2@file"]}}),
            ),
            routed("api", "PathPrefix(`/api`)", "b", &["api-v2"]),
            routed("users", "PathPrefix(`/users`)", "b", &["users"]),
            routed("ping", "Path(`/ping`)", "b", &["fixed"]),
            routed("old", "PathPrefix(`/old`)", "b", &["rx"]),
        ],
    )
    .await;
    // Each request, then what the backend saw: URI and the header the middleware adds.
    let cases = [
        (
            "/api/items?page=2",
            "/v2/items?page=2",
            ("x-forwarded-prefix", "/api"),
        ),
        (
            "/users/42/photos",
            "/photos",
            ("x-forwarded-prefix", "/users/42"),
        ),
        ("/ping?x=1", "/health?x=1", ("x-replaced-path", "/ping")),
        ("/old/a/b", "/new/a/b", ("x-replaced-path", "/old/a/b")),
    ];
    for (asked, want, (header, value)) in cases {
        let url = format!("{web}{asked}");
        let before = backend.hits();
        wait_for(
            &format!("{asked} to be routed"),
            std::time::Duration::from_secs(10),
            || {
                let url = url.clone();
                async move { (get(&url, "x").await.ok()?.0 == 200).then_some(()) }
            },
        )
        .await;
        assert!(backend.hits() > before);
        let seen = backend.seen.lock().unwrap().last().cloned().unwrap();
        assert_eq!(seen.uri, want, "{asked}");
        assert_eq!(seen.headers[header], value, "{asked}");
    }
}
