//! The `compress`, `errors` and `grpcWeb` middlewares end to end: a real node process
//! proxying to real backends (and, for gRPC-Web, to a real tonic server: the node's own
//! admin API over h2c).

mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use prost::Message;
use raftgate_proto as pb;
use serde_json::json;
use support::backend::{http_client, Backend};
use support::*;
use tokio::io::AsyncReadExt;

/// One request; the whole body as bytes.
async fn fetch(
    method: &str,
    url: &str,
    host: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Option<(u16, http::HeaderMap, Bytes)> {
    let mut req = http::Request::builder()
        .method(method)
        .uri(url)
        .header("host", host);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Full::new(body).boxed()).ok()?;
    let resp = http_client().request(req).await.ok()?;
    let (parts, body) = resp.into_parts();
    let bytes = body.collect().await.ok()?.to_bytes();
    Some((parts.status.as_u16(), parts.headers, bytes))
}

/// Polls until a GET of `path` on `host` answers with a header `name`, returning it.
async fn until_header(web: &str, path: &str, host: &str, accept: &str, name: &str) {
    let url = format!("{web}{path}");
    wait_for(
        &format!("{url} to answer with {name}"),
        Duration::from_secs(10),
        || {
            let url = url.clone();
            async move {
                let (_, h, _) = fetch(
                    "GET",
                    &url,
                    host,
                    &[("accept-encoding", accept)],
                    Bytes::new(),
                )
                .await?;
                h.contains_key(name).then_some(())
            }
        },
    )
    .await
}

async fn decode(encoding: &str, bytes: &[u8]) -> Vec<u8> {
    use async_compression::tokio::bufread::{BrotliDecoder, GzipDecoder, ZstdDecoder};
    let mut out = Vec::new();
    match encoding {
        "gzip" => GzipDecoder::new(bytes).read_to_end(&mut out).await,
        "br" => BrotliDecoder::new(bytes).read_to_end(&mut out).await,
        "zstd" => ZstdDecoder::new(bytes).read_to_end(&mut out).await,
        other => panic!("unexpected encoding {other}"),
    }
    .unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compress_streams_each_encoding_and_skips_small_or_unaccepted_answers() {
    let (_cluster, admin_url, web) = one_node(&[]).await;
    let backend = Backend::start("app").await;
    try_put(
        &admin_url,
        vec![
            service("app", &backend.url()),
            middleware(
                "squeeze",
                json!({"compress": {"encodings": ["zstd", "br", "gzip"]}}),
            ),
            routed("app", "Host(`app`)", "app", &["squeeze"]),
        ],
    )
    .await
    .unwrap();
    until_header(
        &web,
        "/download?bytes=65536",
        "app",
        "gzip",
        "content-encoding",
    )
    .await;

    // 512 KiB streamed by the backend in 64 KiB chunks with no Content-Length.
    let total = 512 * 1024;
    let url = format!("{web}/download?bytes={total}");
    for (accept, chosen) in [
        ("gzip", "gzip"),
        ("br;q=0.9, gzip;q=0.5", "br"),
        ("gzip, br, zstd", "zstd"),
        ("*", "zstd"),
    ] {
        let (status, h, body) = fetch(
            "GET",
            &url,
            "app",
            &[("accept-encoding", accept)],
            Bytes::new(),
        )
        .await
        .unwrap();
        assert_eq!(status, 200);
        assert_eq!(h["content-encoding"], chosen, "Accept-Encoding: {accept}");
        assert_eq!(h["vary"], "Accept-Encoding");
        assert!(h.get("content-length").is_none());
        assert!(body.len() < total / 20, "{chosen}: {} bytes", body.len());
        let plain = decode(chosen, &body).await;
        assert_eq!(plain.len(), total, "{chosen}");
        assert!(plain.iter().all(|b| *b == b'x'), "{chosen}");
    }

    // Without Accept-Encoding: as is.
    let (_, h, body) = fetch("GET", &url, "app", &[], Bytes::new()).await.unwrap();
    assert!(h.get("content-encoding").is_none());
    assert_eq!(body.len(), total);
    // A small answer ("app 0", 5 bytes with Content-Length) is below the 1024-byte minimum.
    let (status, h, body) = fetch(
        "GET",
        &format!("{web}/small"),
        "app",
        &[("accept-encoding", "gzip")],
        Bytes::new(),
    )
    .await
    .unwrap();
    assert_eq!(status, 200);
    assert!(h.get("content-encoding").is_none());
    assert_eq!(h["content-length"], "5");
    assert_eq!(body, "app 0");
    // HEAD is never compressed.
    let (_, h, _) = fetch(
        "HEAD",
        &url,
        "app",
        &[("accept-encoding", "gzip")],
        Bytes::new(),
    )
    .await
    .unwrap();
    assert!(h.get("content-encoding").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_replace_backend_and_proxy_errors_with_pages_keeping_the_status() {
    let (_cluster, admin_url, web) = one_node(&[]).await;
    let app = Backend::start("app").await;
    let pages = Backend::start("pages").await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    try_put(
        &admin_url,
        vec![
            service("app", &app.url()),
            service("pages", &pages.url()),
            service("down", &format!("http://{closed}")),
            middleware(
                "oops",
                json!({"errors": {"status": ["500-599", "404"], "service": "pages", "query": "/{status}.html?u={url}"}}),
            ),
            routed("app", "Host(`app`)", "app", &["oops"]),
            routed("down", "Host(`down`)", "down", &["oops"]),
        ],
    )
    .await
    .unwrap();
    wait_for("the app route", Duration::from_secs(10), || {
        let url = format!("{web}/x");
        async move {
            let (s, _, b) = fetch("GET", &url, "app", &[], Bytes::new()).await?;
            (s == 200 && b == "app 0").then_some(())
        }
    })
    .await;

    app.status.store(503, Ordering::SeqCst);
    let (status, h, body) = fetch("GET", &format!("{web}/a?b=1"), "app", &[], Bytes::new())
        .await
        .unwrap();
    assert_eq!(status, 503, "the original status");
    assert_eq!(body, "pages 0", "the page's body");
    assert_eq!(h["x-backend"], "pages");
    let seen = pages.seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!(seen.method, "GET");
    assert_eq!(seen.uri, "/503.html?u=%2Fa%3Fb%3D1");
    assert_eq!(seen.headers["host"], "app", "the original Host");

    // Statuses out of range keep their own answer.
    app.status.store(409, Ordering::SeqCst);
    let (status, _, body) = fetch("GET", &format!("{web}/a"), "app", &[], Bytes::new())
        .await
        .unwrap();
    assert_eq!((status, body.as_ref()), (409, b"app 0".as_ref()));

    // The proxy's own 502 (backend unreachable) gets the page too.
    let (status, _, body) = fetch("GET", &format!("{web}/a"), "down", &[], Bytes::new())
        .await
        .unwrap();
    assert_eq!((status, body.as_ref()), (502, b"pages 0".as_ref()));
    assert_eq!(
        pages.seen.lock().unwrap().last().unwrap().uri,
        "/502.html?u=%2Fa"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_middleware_configs_are_refused_naming_the_problem() {
    let (_cluster, admin_url, _web) = one_node(&[]).await;
    let cases = [
        (
            json!({"errors": {"status": ["500"], "service": "nowhere"}}),
            "nowhere",
        ),
        (
            json!({"errors": {"status": ["5xx"], "service": "x"}}),
            "5xx",
        ),
        (
            json!({"compress": {"includedContentTypes": ["text/html"], "excludedContentTypes": ["image/png"]}}),
            "excludedContentTypes",
        ),
        (json!({"compress": {"encodings": ["deflate"]}}), "deflate"),
        (json!({"compress": {"level": 3}}), "level"),
        (
            json!({"grpcWeb": {"allowOrigins": ["not an origin"]}}),
            "not an origin",
        ),
    ];
    for (spec, needle) in cases {
        let e = try_put(&admin_url, vec![middleware("bad", spec.clone())])
            .await
            .expect_err(&format!("{spec} accepted"));
        assert!(e.message().contains(needle), "{spec}: {}", e.message());
    }
}

/// A gRPC-Web frame: flag, then the payload.
fn frames(mut body: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while body.len() >= 5 {
        let len = u32::from_be_bytes(body[1..5].try_into().unwrap()) as usize;
        out.push((body[0], body[5..5 + len].to_vec()));
        body = &body[5 + len..];
    }
    assert!(body.is_empty(), "trailing bytes");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_web_calls_reach_a_real_tonic_server() {
    use base64::Engine as _;
    let (cluster, admin_url, web) = one_node(&[]).await;
    let grpc = cluster.nodes[&1].grpc_port;
    try_put(
        &admin_url,
        vec![
            service("admin", &format!("h2c://127.0.0.1:{grpc}")),
            middleware(
                "web",
                json!({"grpcWeb": {"allowOrigins": ["https://ui.example"]}}),
            ),
            routed("grpc", "Host(`grpc`)", "admin", &["web"]),
        ],
    )
    .await
    .unwrap();
    // An empty NodeStatusRequest: one uncompressed frame of length 0.
    let call = Bytes::from_static(&[0, 0, 0, 0, 0]);
    let url = format!("{web}/raftgate.v1.Admin/NodeStatus");
    let headers = [
        ("content-type", "application/grpc-web+proto"),
        ("origin", "https://ui.example"),
        ("x-grpc-web", "1"),
    ];
    let (h, body) = wait_for("the gRPC-Web route", Duration::from_secs(10), || {
        let (url, call) = (url.clone(), call.clone());
        async move {
            let (s, h, b) = fetch("POST", &url, "grpc", &headers, call).await?;
            (s == 200).then_some((h, b))
        }
    })
    .await;
    // tonic answers `application/grpc`, which becomes `application/grpc-web`.
    assert_eq!(h["content-type"], "application/grpc-web");
    assert_eq!(h["access-control-allow-origin"], "https://ui.example");
    let got = frames(&body);
    assert_eq!(got.len(), 2, "a message then the trailers");
    assert_eq!(got[0].0, 0);
    let info = pb::NodeInfo::decode(got[0].1.as_slice()).unwrap();
    assert_eq!(info.id, 1);
    assert_eq!(got[1].0, 0x80);
    let trailers = String::from_utf8(got[1].1.clone()).unwrap();
    assert!(trailers.contains("grpc-status:0\r\n"), "{trailers:?}");

    // grpc-web-text: base64 both ways.
    let b64 = base64::engine::general_purpose::STANDARD;
    let (status, h, body) = fetch(
        "POST",
        &url,
        "grpc",
        &[("content-type", "application/grpc-web-text")],
        Bytes::from(b64.encode(&call)),
    )
    .await
    .unwrap();
    assert_eq!(status, 200);
    assert_eq!(h["content-type"], "application/grpc-web-text");
    let got = frames(&b64.decode(&body).unwrap());
    assert_eq!(pb::NodeInfo::decode(got[0].1.as_slice()).unwrap().id, 1);
    assert_eq!(got.last().unwrap().0, 0x80);

    // An unknown method: tonic answers trailers-only; the status reaches the client.
    let (status, h, body) = fetch(
        "POST",
        &format!("{web}/raftgate.v1.Admin/Nope"),
        "grpc",
        &headers,
        call.clone(),
    )
    .await
    .unwrap();
    assert_eq!(status, 200);
    assert_eq!(h["grpc-status"], "12");
    let got = frames(&body);
    assert_eq!(got.last().unwrap().0, 0x80);
    assert!(String::from_utf8_lossy(&got.last().unwrap().1).contains("grpc-status:12"));

    // The CORS preflight of a browser.
    let (status, h, _) = fetch(
        "OPTIONS",
        &url,
        "grpc",
        &[
            ("origin", "https://ui.example"),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "content-type,x-grpc-web"),
        ],
        Bytes::new(),
    )
    .await
    .unwrap();
    assert_eq!(status, 204);
    assert_eq!(h["access-control-allow-origin"], "https://ui.example");
    assert_eq!(h["access-control-allow-headers"], "content-type,x-grpc-web");
}

/// A backend that sends `first`, then holds the response open until `release` fires, then
/// sends `rest`.
async fn stalling_backend(
    first: &'static str,
    rest: &'static str,
) -> (
    std::net::SocketAddr,
    std::sync::Arc<tokio::sync::Notify>,
    tokio::task::JoinHandle<()>,
) {
    use hyper::body::Frame;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let release = std::sync::Arc::new(tokio::sync::Notify::new());
    let gate = release.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let gate = gate.clone();
            tokio::spawn(async move {
                let svc =
                    hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let gate = gate.clone();
                        async move {
                            let (tx, rx) = tokio::sync::mpsc::channel::<
                                Result<Frame<Bytes>, std::convert::Infallible>,
                            >(2);
                            let probe = req.uri().path() == "/probe";
                            tokio::spawn(async move {
                                let _ = tx
                                    .send(Ok(Frame::data(Bytes::from_static(first.as_bytes()))))
                                    .await;
                                if !probe {
                                    gate.notified().await;
                                }
                                let _ = tx
                                    .send(Ok(Frame::data(Bytes::from_static(rest.as_bytes()))))
                                    .await;
                            });
                            let body = http_body_util::StreamBody::new(
                                tokio_stream::wrappers::ReceiverStream::new(rx),
                            );
                            let resp = http::Response::builder()
                                .header("content-type", "text/event-stream")
                                .body(body)
                                .unwrap();
                            Ok::<_, std::convert::Infallible>(resp)
                        }
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (addr, release, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressed_streams_are_not_held_back_until_the_backend_finishes() {
    use tokio::io::AsyncWriteExt;
    let first: &'static str = Box::leak("data: tick\n\n".repeat(200).into_boxed_str());
    let (_cluster, admin_url, web) = one_node(&[]).await;
    let (addr, release, _task) = stalling_backend(first, "data: done\n\n").await;
    try_put(
        &admin_url,
        vec![
            service("events", &format!("http://{addr}")),
            middleware("squeeze", json!({"compress": {}})),
            routed("events", "Host(`events`)", "events", &["squeeze"]),
        ],
    )
    .await
    .unwrap();
    until_header(&web, "/probe", "events", "gzip", "content-encoding").await;

    let req = http::Request::builder()
        .uri(format!("{web}/stream"))
        .header("host", "events")
        .header("accept-encoding", "gzip")
        .body(Full::new(Bytes::new()).boxed())
        .unwrap();
    let resp = http_client().request(req).await.unwrap();
    assert_eq!(resp.headers()["content-encoding"], "gzip");
    let mut body = resp.into_body();
    // The backend holds the rest back: what it sent so far must arrive, decodable.
    let mut decoder = async_compression::tokio::write::GzipDecoder::new(Vec::new());
    let first_events = async {
        while decoder.get_ref().len() < first.len() {
            let frame = body.frame().await.expect("body ended early").unwrap();
            if let Ok(data) = frame.into_data() {
                decoder.write_all(&data).await.unwrap();
                decoder.flush().await.unwrap();
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), first_events)
        .await
        .expect("the first events arrive, compressed, while the backend holds the rest");
    assert_eq!(decoder.get_ref().as_slice(), first.as_bytes());
    release.notify_one();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            decoder.write_all(&data).await.unwrap();
        }
    }
    decoder.shutdown().await.unwrap();
    assert_eq!(
        String::from_utf8(decoder.into_inner()).unwrap(),
        format!("{first}data: done\n\n")
    );
}
