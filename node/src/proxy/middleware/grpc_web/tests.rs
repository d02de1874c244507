use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{Full, StreamBody};
use hyper::body::Frame;

use super::super::testing::run;
use super::*;
use crate::proxy::body::{full, BoxError};

/// What the h2c backend saw: version, content-type, te, body.
type Seen = Arc<Mutex<Vec<(http::Version, String, String, Bytes)>>>;

/// A real HTTP/2 (prior knowledge) gRPC-like server: echoes the request's message back
/// with `grpc-status: 0` trailers, or answers trailers-only `grpc-status: 12` on `/missing`.
async fn h2c_backend() -> (std::net::SocketAddr, Seen, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let log = log.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                    let log = log.clone();
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body.collect().await.unwrap().to_bytes();
                        let header = |n: header::HeaderName| {
                            parts
                                .headers
                                .get(n)
                                .map(|v| v.to_str().unwrap().to_string())
                                .unwrap_or_default()
                        };
                        log.lock().unwrap().push((
                            parts.version,
                            header(header::CONTENT_TYPE),
                            header(header::TE),
                            body.clone(),
                        ));
                        if parts.uri.path() == "/missing" {
                            let resp = Response::builder()
                                .header("content-type", "application/grpc")
                                .header("grpc-status", "12")
                                .header("grpc-message", "unimplemented")
                                .body(BodyExt::boxed(
                                    Full::new(Bytes::new()).map_err(|n: Infallible| match n {}),
                                ))
                                .unwrap();
                            return Ok::<_, Infallible>(resp);
                        }
                        let mut trailers = HeaderMap::new();
                        trailers.insert("grpc-status", "0".parse().unwrap());
                        let frames = vec![
                            Ok::<_, Infallible>(Frame::data(body)),
                            Ok(Frame::trailers(trailers)),
                        ];
                        let resp = Response::builder()
                            .header("content-type", "application/grpc+proto")
                            .body(BodyExt::boxed(StreamBody::new(futures::stream::iter(
                                frames,
                            ))))
                            .unwrap();
                        Ok(resp)
                    }
                });
                let _ =
                    hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                        .await;
            });
        }
    });
    (addr, seen, task)
}

fn mw(origins: &[&str]) -> Arc<dyn Middleware> {
    Arc::new(GrpcWeb::new(&raftgate_model::GrpcWeb {
        allow_origins: origins.iter().map(|s| s.to_string()).collect(),
    }))
}

fn call(path: &str, content_type: &str, body: Bytes) -> Request<ProxyBody> {
    Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::HOST, "example.com")
        .header(header::CONTENT_TYPE, content_type)
        .header(header::ORIGIN, "https://app.example")
        .header(header::CONTENT_LENGTH, body.len())
        .body(full(body))
        .unwrap()
}

const MESSAGE: &[u8] = b"\0\0\0\0\x05hello";

fn expected_trailer(lines: &str) -> Vec<u8> {
    let mut v = vec![0x80];
    v.extend_from_slice(&(lines.len() as u32).to_be_bytes());
    v.extend_from_slice(lines.as_bytes());
    v
}

#[tokio::test]
async fn binary_calls_become_grpc_over_h2_and_trailers_become_a_frame() {
    let (addr, seen, _task) = h2c_backend().await;
    let service = crate::proxy::service::single_server_for_tests(&format!("h2c://{addr}"));
    let req = call(
        "/pkg.Svc/Echo",
        "application/grpc-web+proto",
        Bytes::from_static(MESSAGE),
    );
    let resp = run(mw(&["https://app.example"]), &service, req)
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/grpc-web+proto");
    assert_eq!(
        resp.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    assert_eq!(
        resp.headers()["access-control-expose-headers"],
        "grpc-status, grpc-message"
    );
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let mut expected = MESSAGE.to_vec();
    expected.extend(expected_trailer("grpc-status:0\r\n"));
    assert_eq!(body, expected);
    let (version, ct, te, got) = seen.lock().unwrap()[0].clone();
    assert_eq!(
        (version, ct.as_str(), te.as_str()),
        (http::Version::HTTP_2, "application/grpc+proto", "trailers")
    );
    assert_eq!(got, MESSAGE);
}

#[tokio::test]
async fn text_calls_are_base64_both_ways_and_trailers_only_answers_keep_their_status() {
    let (addr, seen, _task) = h2c_backend().await;
    let service = crate::proxy::service::single_server_for_tests(&format!("h2c://{addr}"));
    let b64 = base64::engine::general_purpose::STANDARD;
    let req = call(
        "/pkg.Svc/Echo",
        "application/grpc-web-text",
        Bytes::from(b64.encode(MESSAGE)),
    );
    let resp = run(mw(&[]), &service, req).await.unwrap();
    assert_eq!(
        resp.headers()["content-type"],
        "application/grpc-web-text+proto"
    );
    assert!(
        resp.headers().get("access-control-allow-origin").is_none(),
        "origin not allowed"
    );
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let decoded = b64.decode(&body).unwrap();
    assert_eq!(&decoded[..MESSAGE.len()], MESSAGE);
    assert_eq!(
        &decoded[MESSAGE.len()..],
        expected_trailer("grpc-status:0\r\n")
    );
    assert_eq!(
        seen.lock().unwrap()[0].3,
        MESSAGE,
        "the backend got the decoded message"
    );

    let req = call(
        "/missing",
        "application/grpc-web",
        Bytes::from_static(MESSAGE),
    );
    let resp = run(mw(&["*"]), &service, req).await.unwrap();
    assert_eq!(resp.headers()["grpc-status"], "12");
    assert_eq!(resp.headers()["content-type"], "application/grpc-web");
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(
        body,
        expected_trailer("grpc-status:12\r\ngrpc-message:unimplemented\r\n")
    );
}

#[tokio::test]
async fn preflights_are_answered_for_allowed_origins_only() {
    let service = crate::proxy::service::single_server_for_tests("http://127.0.0.1:1");
    let preflight = |origin: &str| {
        Request::builder()
            .method(Method::OPTIONS)
            .uri("/pkg.Svc/Echo")
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(
                header::ACCESS_CONTROL_REQUEST_HEADERS,
                "content-type,x-grpc-web",
            )
            .body(empty())
            .unwrap()
    };
    let resp = run(
        mw(&["https://app.example"]),
        &service,
        preflight("https://app.example"),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 204);
    let h = resp.headers();
    assert_eq!(h["access-control-allow-origin"], "https://app.example");
    assert_eq!(h["access-control-allow-methods"], "POST");
    assert_eq!(h["access-control-allow-headers"], "content-type,x-grpc-web");
    assert_eq!(h["access-control-allow-credentials"], "true");
    let resp = run(
        mw(&["https://app.example"]),
        &service,
        preflight("https://evil.example"),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 204);
    assert!(resp.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn other_requests_pass_through() {
    let backend = super::super::testing::Recorder::ok().await;
    let req = Request::builder()
        .method(Method::POST)
        .uri("/x")
        .header(header::CONTENT_TYPE, "application/json")
        .body(full(Bytes::from_static(b"{}")))
        .unwrap();
    let resp = run(mw(&["*"]), &backend.service(), req).await.unwrap();
    assert_eq!(resp.into_body().collect().await.unwrap().to_bytes(), "ok");
    assert_eq!(
        backend.requests()[0].headers()["content-type"],
        "application/json"
    );
    let _: Option<BoxError> = None;
}
