use std::sync::Arc;

use http_body_util::StreamBody;
use tokio::io::AsyncReadExt;

use super::super::testing::{get, run, Recorder};
use super::*;
use crate::proxy::body::full;

fn config(json: serde_json::Value) -> Compress {
    let c: raftgate_model::Compress = serde_json::from_value(json).unwrap();
    Compress::new(&c).unwrap()
}

fn text(n: usize) -> String {
    "the quick brown fox jumps over the lazy dog\n"
        .repeat(n / 44 + 1)
        .split_at(n)
        .0
        .to_string()
}

async fn gunzip(bytes: &[u8]) -> String {
    let mut out = String::new();
    async_compression::tokio::bufread::GzipDecoder::new(bytes)
        .read_to_string(&mut out)
        .await
        .unwrap();
    out
}

/// A backend answering `body` with `content_type` (and `extra` headers), status `status`.
async fn backend(
    status: u16,
    content_type: &str,
    extra: &[(&str, &str)],
    body: String,
) -> Recorder {
    let ct = content_type.to_string();
    let extra: Vec<(String, String)> = extra
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Recorder::start(move |_| {
        let mut b = Response::builder().status(status);
        if !ct.is_empty() {
            b = b.header("content-type", ct.as_str());
        }
        for (k, v) in &extra {
            b = b.header(k.as_str(), v.as_str());
        }
        b.body(Bytes::from(body.clone())).unwrap()
    })
    .await
}

fn with_accept(mut req: Request<ProxyBody>, accept: &str) -> Request<ProxyBody> {
    req.headers_mut()
        .insert(header::ACCEPT_ENCODING, accept.parse().unwrap());
    req
}

async fn through(
    mw: Compress,
    backend: &Recorder,
    req: Request<ProxyBody>,
) -> (StatusCode, HeaderMap, Bytes) {
    let resp = run(Arc::new(mw), &backend.service(), req).await.unwrap();
    let (parts, body) = resp.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (parts.status, parts.headers, bytes)
}

#[tokio::test]
async fn a_large_response_is_gzipped_for_a_client_that_accepts_it() {
    let original = text(5000);
    let b = backend(
        200,
        "text/html; charset=utf-8",
        &[("accept-ranges", "bytes")],
        original.clone(),
    )
    .await;
    let (status, h, body) = through(
        config(serde_json::json!({})),
        &b,
        with_accept(get("/"), "gzip, deflate"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(h["content-encoding"], "gzip");
    assert_eq!(h["vary"], "Accept-Encoding");
    assert!(h.get("content-length").is_none());
    assert!(h.get("accept-ranges").is_none());
    assert!(body.len() < original.len());
    assert_eq!(gunzip(&body).await, original);
    // The client's Accept-Encoding still reaches the backend.
    assert_eq!(
        b.requests()[0].headers()["accept-encoding"],
        "gzip, deflate"
    );
}

#[tokio::test]
async fn small_or_ineligible_responses_pass_unchanged() {
    let big = text(4000);
    let small = text(1023);
    let cases: Vec<(&str, Recorder, Request<ProxyBody>, bool)> = vec![
        (
            "below the minimum",
            backend(200, "text/plain", &[], small.clone()).await,
            with_accept(get("/"), "gzip"),
            true,
        ),
        (
            "no accept-encoding",
            backend(200, "text/plain", &[], big.clone()).await,
            get("/"),
            true,
        ),
        (
            "only identity",
            backend(200, "text/plain", &[], big.clone()).await,
            with_accept(get("/"), "identity"),
            true,
        ),
        (
            "already encoded",
            backend(
                200,
                "text/plain",
                &[("content-encoding", "br")],
                big.clone(),
            )
            .await,
            with_accept(get("/"), "gzip"),
            false,
        ),
        (
            "grpc response",
            backend(200, "application/grpc", &[], big.clone()).await,
            with_accept(get("/"), "gzip"),
            false,
        ),
        (
            "partial content",
            backend(
                206,
                "text/plain",
                &[("content-range", "bytes 0-3999/9000")],
                big.clone(),
            )
            .await,
            with_accept(get("/"), "gzip"),
            false,
        ),
    ];
    for (what, b, req, vary) in cases {
        let expected = b.requests().len();
        let (_, h, body) = through(config(serde_json::json!({})), &b, req).await;
        assert_eq!(b.requests().len(), expected + 1);
        assert!(
            h.get("content-encoding").is_none_or(|v| v == "br"),
            "{what}"
        );
        assert!(
            body.len() == 1023 || body.len() == 4000,
            "{what}: body changed"
        );
        assert_eq!(h.contains_key("vary"), vary, "{what}: vary");
    }
}

#[tokio::test]
async fn head_and_bodiless_statuses_are_left_alone() {
    let b = backend(200, "text/plain", &[], text(4000)).await;
    let mut head = with_accept(get("/"), "gzip");
    *head.method_mut() = Method::HEAD;
    let (_, h, _) = through(config(serde_json::json!({})), &b, head).await;
    assert!(h.get("content-encoding").is_none());
    for status in [204, 304] {
        let b = backend(status, "text/plain", &[], String::new()).await;
        let (s, h, _) = through(
            config(serde_json::json!({"minResponseBodyBytes": 0})),
            &b,
            with_accept(get("/"), "gzip"),
        )
        .await;
        assert_eq!(s.as_u16(), status);
        assert!(h.get("content-encoding").is_none(), "{status}");
    }
}

#[tokio::test]
async fn content_type_lists_decide() {
    let excluded = serde_json::json!({"excludedContentTypes": ["text/event-stream", "image/png"]});
    let included = serde_json::json!({"includedContentTypes": ["application/json; charset=utf-8"]});
    for (cfg, ct, compressed) in [
        (&excluded, "image/png", false),
        (&excluded, "IMAGE/PNG ; q=1", false),
        (&excluded, "text/html", true),
        (&included, "application/json; charset=UTF-8", true),
        (&included, "application/json", false),
        (&included, "text/html", false),
        (&included, "", false),
    ] {
        let b = backend(200, ct, &[], text(3000)).await;
        let (_, h, _) = through(config(cfg.clone()), &b, with_accept(get("/"), "gzip")).await;
        assert_eq!(
            h.contains_key("content-encoding"),
            compressed,
            "{cfg} {ct:?}"
        );
    }
}

#[tokio::test]
async fn the_configured_encodings_order_breaks_ties() {
    let b = backend(200, "text/plain", &[], text(3000)).await;
    let mw = || config(serde_json::json!({"encodings": ["br", "gzip"]}));
    let (_, h, _) = through(mw(), &b, with_accept(get("/"), "gzip, zstd, br")).await;
    assert_eq!(h["content-encoding"], "br");
    let (_, h, _) = through(mw(), &b, with_accept(get("/"), "zstd")).await;
    assert!(h.get("content-encoding").is_none(), "zstd is not offered");
    let (_, h, _) = through(
        config(serde_json::json!({})),
        &b,
        with_accept(get("/"), "*"),
    )
    .await;
    assert_eq!(h["content-encoding"], "zstd");
}

fn streamed(chunks: Vec<&'static str>) -> Response<ProxyBody> {
    let frames = chunks
        .into_iter()
        .map(|c| Ok::<_, BoxError>(Frame::data(Bytes::from_static(c.as_bytes()))));
    let mut resp = Response::new(StreamBody::new(futures::stream::iter(frames)).boxed());
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    resp
}

#[tokio::test]
async fn unknown_lengths_are_decided_after_the_first_bytes() {
    let mw = config(serde_json::json!({"minResponseBodyBytes": 10}));
    // Ends before the minimum: sent as is, with its length now known.
    let resp = mw
        .respond(Some(Encoding::Gzip), streamed(vec!["abc", "def"]))
        .await
        .unwrap();
    assert!(resp.headers().get("content-encoding").is_none());
    assert_eq!(resp.headers()["content-length"], "6");
    assert_eq!(
        resp.into_body().collect().await.unwrap().to_bytes(),
        "abcdef"
    );
    // Reaches the minimum: compressed, the bytes read ahead included.
    let resp = mw
        .respond(
            Some(Encoding::Gzip),
            streamed(vec!["hello ", "streamed ", "world"]),
        )
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-encoding"], "gzip");
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(gunzip(&bytes).await, "hello streamed world");
}

#[test]
fn compiling_rejects_unknown_encodings() {
    let c = raftgate_model::Compress {
        encodings: vec!["deflate".into()],
        ..Default::default()
    };
    assert!(Compress::new(&c).err().unwrap().contains("deflate"));
    let _ = full(Bytes::new());
}
