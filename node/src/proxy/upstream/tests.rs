//! The HTTP/1.1 pool against real loopback servers: reuse, limits, expiry, and connections
//! the server closed or the proxy gave up on.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::{Upstream, UpstreamConfig};
use crate::proxy::body::empty;
use crate::proxy::error::ProxyError;

/// A keep-alive hyper server that counts the connections it accepted; every response waits
/// `delay` and carries `body_len` bytes.
struct Counted {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Counted {
    async fn start(delay: Duration, body_len: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |_req| async move {
                        tokio::time::sleep(delay).await;
                        let body = Bytes::from(vec![b'x'; body_len]);
                        Ok::<_, hyper::Error>(http::Response::new(Full::new(body)))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Self {
            addr,
            accepted,
            task,
        }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Idle connections `upstream` keeps to this server.
    fn idle_in(&self, upstream: &Upstream) -> usize {
        upstream.idle_connections(&self.addr.to_string())
    }

    fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }
}

/// Reads one request head; false when the client closed first.
async fn read_head(stream: &mut tokio::net::TcpStream) -> bool {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    true
}

fn client(config: UpstreamConfig) -> Upstream {
    Upstream::new(&config)
}

fn get(url: &str) -> Request<crate::proxy::body::ProxyBody> {
    Request::get(url).body(empty()).unwrap()
}

/// Sends a GET and reads the whole body.
async fn fetch(upstream: &Upstream, url: &str) -> (StatusCode, Bytes) {
    let resp = upstream.send(get(url), false).await.expect("response");
    let status = resp.status();
    (status, resp.into_body().collect().await.unwrap().to_bytes())
}

#[tokio::test]
async fn sequential_requests_reuse_one_connection() {
    let server = Counted::start(Duration::ZERO, 10).await;
    let upstream = client(UpstreamConfig::default());
    for _ in 0..20 {
        let (status, body) = fetch(&upstream, &server.url()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body.len(), 10);
    }
    assert_eq!(server.accepted(), 1);
    assert_eq!(server.idle_in(&upstream), 1);
}

#[tokio::test]
async fn the_pool_keeps_at_most_max_idle_per_host() {
    let server = Counted::start(Duration::from_millis(50), 10).await;
    let upstream = client(UpstreamConfig {
        max_idle_per_host: 2,
        ..UpstreamConfig::default()
    });
    let url = server.url();
    let all = (0..5).map(|_| fetch(&upstream, &url));
    for (status, _) in futures::future::join_all(all).await {
        assert_eq!(status, StatusCode::OK);
    }
    assert_eq!(
        server.accepted(),
        5,
        "five overlapping requests, five connections"
    );
    assert_eq!(server.idle_in(&upstream), 2);
    // The kept ones serve the next requests.
    fetch(&upstream, &server.url()).await;
    fetch(&upstream, &server.url()).await;
    assert_eq!(server.accepted(), 5);
}

#[tokio::test]
async fn idle_connections_expire() {
    let server = Counted::start(Duration::ZERO, 10).await;
    let upstream = client(UpstreamConfig {
        idle_timeout: Duration::from_millis(100),
        ..UpstreamConfig::default()
    });
    fetch(&upstream, &server.url()).await;
    // The expiry itself is what is tested: wait past it.
    tokio::time::sleep(Duration::from_millis(250)).await;
    fetch(&upstream, &server.url()).await;
    assert_eq!(
        server.accepted(),
        2,
        "the expired connection was not reused"
    );
}

#[tokio::test]
async fn a_body_dropped_before_its_end_closes_its_connection() {
    let server = Counted::start(Duration::ZERO, 1 << 20).await;
    let upstream = client(UpstreamConfig::default());
    let resp = upstream.send(get(&server.url()), false).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    drop(resp);
    assert_eq!(server.idle_in(&upstream), 0);
    let (_, body) = fetch(&upstream, &server.url()).await;
    assert_eq!(body.len(), 1 << 20);
    assert_eq!(server.accepted(), 2);
    assert_eq!(server.idle_in(&upstream), 1);
}

#[tokio::test]
async fn a_slow_server_times_out_and_its_connection_is_not_reused() {
    let server = Counted::start(Duration::from_millis(500), 10).await;
    let upstream = client(UpstreamConfig {
        response_timeout: Some(Duration::from_millis(100)),
        ..UpstreamConfig::default()
    });
    let result = upstream.send(get(&server.url()), false).await;
    assert!(
        matches!(result, Err(ProxyError::Timeout(_))),
        "{:?}",
        result.map(|r| r.status())
    );
    assert_eq!(server.idle_in(&upstream), 0);
}

#[tokio::test]
async fn a_connection_the_server_closed_while_idle_is_replaced() {
    // A server that answers one request per connection, without saying it will close.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (closed_tx, mut closed_rx) = tokio::sync::mpsc::unbounded_channel();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            assert!(
                read_head(&mut stream).await,
                "client closed before a request"
            );
            stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                .await
                .unwrap();
            drop(stream);
            closed_tx.send(()).unwrap();
        }
    });
    let upstream = client(UpstreamConfig::default());
    let url = format!("http://{addr}/");
    for round in 1..=3 {
        let (status, body) = fetch(&upstream, &url).await;
        assert_eq!(
            (status, &body[..]),
            (StatusCode::OK, &b"ok"[..]),
            "round {round}"
        );
        // The server has hung up on the pooled connection before the next request.
        closed_rx.recv().await.unwrap();
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
    task.abort();
}

/// A server that answers one request per connection, then reads the next and hangs up
/// without answering: the race of a server closing an idle connection just as it is reused.
async fn answers_once_then_hangs_up() -> (SocketAddr, Arc<AtomicUsize>, tokio::task::JoinHandle<()>)
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                if read_head(&mut stream).await {
                    let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                    let _ = stream.write_all(ok).await;
                    read_head(&mut stream).await;
                }
            });
        }
    });
    (addr, accepted, task)
}

#[tokio::test]
async fn an_idempotent_request_lost_to_a_closing_connection_is_sent_again() {
    let (addr, accepted, task) = answers_once_then_hangs_up().await;
    let upstream = client(UpstreamConfig::default());
    let url = format!("http://{addr}/");
    for round in 1..=3 {
        let (status, body) = fetch(&upstream, &url).await;
        assert_eq!(
            (status, &body[..]),
            (StatusCode::OK, &b"ok"[..]),
            "round {round}"
        );
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 3);

    // A request with a body is not sent twice: the client gets the error.
    let post = Request::post(&url)
        .body(crate::proxy::body::full("payload"))
        .unwrap();
    let result = upstream.send(post, false).await;
    assert!(
        matches!(result, Err(ProxyError::Connect { .. })),
        "{:?}",
        result.map(|r| r.status())
    );
    task.abort();
}
