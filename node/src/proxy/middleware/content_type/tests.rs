use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use http::{Request, Response};
use http_body_util::BodyExt;
use hyper::body::Frame;

use super::super::testing::{body_string, ctx, get, run, run_chain, Recorder};
use super::*;
use crate::proxy::body::{boxed, BoxError};

fn mw(auto_detect: Option<bool>) -> Arc<dyn Middleware> {
    Arc::new(ContentType::new(&raftgate_model::ContentType {
        auto_detect,
    }))
}

async fn answering(
    status: u16,
    headers: &'static [(&'static str, &'static str)],
    body: &'static [u8],
) -> Recorder {
    Recorder::start(move |_| {
        let mut resp = Response::builder().status(status);
        for (k, v) in headers {
            resp = resp.header(*k, *v);
        }
        resp.body(Bytes::from_static(body)).unwrap()
    })
    .await
}

#[tokio::test]
async fn a_missing_type_is_sniffed_and_the_body_kept() {
    let backend = answering(200, &[], b"<!DOCTYPE html><p>hi</p>").await;
    for auto_detect in [None, Some(true)] {
        let resp = run(mw(auto_detect), &backend.service(), get("/"))
            .await
            .unwrap();
        assert_eq!(resp.headers()["content-type"], "text/html; charset=utf-8");
        assert_eq!(body_string(resp).await, "<!DOCTYPE html><p>hi</p>");
    }
    let png = answering(200, &[], b"\x89PNG\x0D\x0A\x1A\x0A\x00\x00\x00\x0DIHDR").await;
    let resp = run(mw(None), &png.service(), get("/")).await.unwrap();
    assert_eq!(resp.headers()["content-type"], "image/png");
}

#[tokio::test]
async fn auto_detect_false_adds_nothing() {
    let backend = answering(200, &[], b"<html>x</html>").await;
    let resp = run(mw(Some(false)), &backend.service(), get("/"))
        .await
        .unwrap();
    assert!(!resp.headers().contains_key("content-type"));
    assert_eq!(body_string(resp).await, "<html>x</html>");
}

#[tokio::test]
async fn the_backends_type_and_bodyless_responses_are_left_alone() {
    for (status, headers, body, want) in [
        (
            200,
            &[("content-type", "application/json")][..],
            &b"<html>"[..],
            Some("application/json"),
        ),
        (
            200,
            &[("content-encoding", "gzip")][..],
            b"\x1F\x8B\x08",
            None,
        ),
        (204, &[][..], b"", None),
        (200, &[][..], b"", None),
    ] {
        let backend = answering(status, headers, body).await;
        let resp = run(mw(None), &backend.service(), get("/")).await.unwrap();
        assert_eq!(
            resp.headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap()),
            want,
            "{status} {headers:?}"
        );
    }
}

/// A "service" that sends one chunk and then never finishes its body.
struct FirstChunkOnly;

impl Middleware for FirstChunkOnly {
    fn handle<'a>(&'a self, _: Request<ProxyBody>, _: Next<'a>) -> BoxFuture<'a, ProxyResult> {
        Box::pin(async move {
            let first = futures::stream::once(async {
                Ok::<_, BoxError>(Frame::data(Bytes::from_static(b"plain text start")))
            });
            let stream = futures::StreamExt::chain(first, futures::stream::pending());
            Ok(Response::new(boxed(http_body_util::StreamBody::new(
                stream,
            ))))
        })
    }
}

#[tokio::test]
async fn only_the_first_chunk_is_awaited() {
    let backend = Recorder::ok().await;
    let chain: Vec<Arc<dyn Middleware>> = vec![mw(None), Arc::new(FirstChunkOnly)];
    let resp = tokio::time::timeout(
        Duration::from_secs(5),
        run_chain(&chain, &backend.service(), &ctx(), get("/")),
    )
    .await
    .expect("the middleware waited for more than the first chunk")
    .unwrap();
    assert_eq!(resp.headers()["content-type"], "text/plain; charset=utf-8");
    let mut body = resp.into_body();
    let frame = body.frame().await.unwrap().unwrap();
    assert_eq!(frame.into_data().unwrap(), "plain text start");
}
