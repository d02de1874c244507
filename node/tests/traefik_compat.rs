//! Traefik behaviours real files rely on, through a real node: the built-in `noop@internal`
//! service, `addPrefix` without a leading slash, `ipStrategy` with both `depth` and
//! `excludedIPs`.

mod support;

use raftgate_proto as pb;
use serde_json::json;
use support::backend::{until_answer as until, Backend};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn noop_internal_answers_418_and_serves_redirect_only_routers() {
    let (_cluster, url, web) = one_node(&[]).await;
    put(
        &url,
        vec![
            middleware("to-https", json!({"redirectScheme": {"scheme": "https"}})),
            routed(
                "redirect",
                "PathPrefix(`/old`)",
                "noop@internal",
                &["to-https"],
            ),
            router("noop", "PathPrefix(`/noop`)", "noop@internal"),
        ],
    )
    .await;
    let (_, headers, _) = until(&web, "/old/page", &[], 302).await;
    assert_eq!(headers["location"], "https://example.com/old/page");
    let (_, _, body) = until(&web, "/noop", &[], 418).await;
    assert_eq!(body, "");

    // The other built-in services are not there: refused, saying so.
    let status = try_put(
        &url,
        vec![router("api", "PathPrefix(`/api`)", "api@internal")],
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status
            .message()
            .contains("the only built-in service raftgate has is noop@internal"),
        "{}",
        status.message()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_prefix_without_a_slash_and_depth_with_excluded_ips_behave_as_in_traefik() {
    let backend = Backend::start("b").await;
    let (_cluster, url, web) = one_node(&["--forwarded-headers-trusted-ips", "127.0.0.1"]).await;
    put(
        &url,
        vec![
            service("b", &backend.url()),
            middleware("prefix", json!({"addPrefix": {"prefix": "api"}})),
            routed("p", "PathPrefix(`/p`)", "b", &["prefix"]),
            // Depth wins: the rightmost entry (the trusted peer appended, 127.0.0.1) is the
            // client; were the exclusions applied, 10.0.0.1 would be, and be refused.
            middleware(
                "allow",
                json!({"ipAllowList": {"sourceRange": ["127.0.0.1"],
                       "ipStrategy": {"depth": 1, "excludedIPs": ["127.0.0.0/8"]}}}),
            ),
            routed("ip", "PathPrefix(`/ip`)", "b", &["allow"]),
        ],
    )
    .await;
    until(&web, "/p/users", &[], 200).await;
    let seen = backend.seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!(seen.uri, "/api/p/users");

    until(&web, "/ip", &[("x-forwarded-for", "10.0.0.1")], 200).await;
    let listed = list(&url, pb::Kind::Middleware).await;
    assert!(listed.objects.iter().any(|o| o.name == "allow"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_behave_as_traefik_v3_on_a_real_node() {
    let (_cluster, url, web) = one_node(&[]).await;
    put(
        &url,
        vec![
            // Matcher names in Traefik's other spellings.
            router(
                "lower",
                "pathprefix(`/lower`) && METHOD(`GET`)",
                "noop@internal",
            ),
            // A `{` that opens no repetition is a literal, as in Go: Traefik v2 placeholders
            // match their own text in v3.
            router("v2", "PathRegexp(`^/{path:(css|js)}$`)", "noop@internal"),
            // `Query(k)` is the parameter with an empty value.
            router("q", "Path(`/q`) && Query(`k`)", "noop@internal"),
            // Paths match decoded.
            router("space", "Path(`/foo bar`)", "noop@internal"),
        ],
    )
    .await;
    until(&web, "/lower/x", &[], 418).await;
    until(&web, "/%7Bpath:css%7D", &[], 418).await;
    until(&web, "/css", &[], 404).await;
    until(&web, "/q?k", &[], 418).await;
    until(&web, "/q?k=", &[], 418).await;
    until(&web, "/q?k=1", &[], 404).await;
    until(&web, "/foo%20bar", &[], 418).await;

    // Empty arguments are refused, as Traefik refuses them, naming the matcher.
    for rule in [
        "Host(``)",
        "Query(`k`, ``)",
        "Header(`X`, ``)",
        "PathRegexp(``)",
    ] {
        let status = try_put(&url, vec![router("empty", rule, "noop@internal")])
            .await
            .unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{rule}");
        assert!(
            status.message().contains("must not be empty"),
            "{rule}: {}",
            status.message()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_router_with_tls_is_never_served_in_cleartext() {
    let (_cluster, url, web) = one_node(&[]).await;
    put(
        &url,
        vec![
            router("plain", "Path(`/plain`)", "noop@internal"),
            object(
                pb::Kind::Router,
                "secure",
                json!({"rule": "Path(`/secure`)", "service": "noop@internal", "tls": {}}),
            ),
        ],
    )
    .await;
    until(&web, "/plain", &[], 418).await;
    // Same revision: the TLS router is stored, and the plain entrypoint does not serve it.
    until(&web, "/secure", &[], 404).await;
    assert!(list(&url, pb::Kind::Router)
        .await
        .objects
        .iter()
        .any(|o| o.name == "secure"));
}
