//! A tiny HTTP/1.1 server on 127.0.0.1:0 for the health-check tests: it answers `/redirect`
//! with a 302 to `/health`, `/loop` with a 302 to itself, and anything else with a status the
//! test sets (200 at first), after an optional delay. It records the last request it saw.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// What the test server answers, and what it saw.
#[derive(Default)]
struct Shared {
    status: AtomicU16,
    delay_ms: AtomicU64,
    hits: AtomicUsize,
    last: Mutex<Option<(String, HeaderMap)>>,
}

/// A running test server; stops when dropped.
pub(crate) struct TestServer {
    pub(crate) addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl TestServer {
    /// Binds 127.0.0.1:0 and serves until dropped.
    pub(crate) async fn start() -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared::default());
        shared.status.store(200, Ordering::SeqCst);
        let state = Arc::clone(&shared);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = Arc::clone(&state);
                tokio::spawn(async move {
                    let svc = service_fn(move |req| answer(Arc::clone(&state), req));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        TestServer { addr, shared, task }
    }

    /// The status of later answers.
    pub(crate) fn set_status(&self, status: u16) {
        self.shared.status.store(status, Ordering::SeqCst);
    }

    /// A delay before later answers.
    pub(crate) fn set_delay(&self, delay: Duration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.shared.delay_ms.store(ms, Ordering::SeqCst);
    }

    /// Requests answered so far.
    pub(crate) fn hits(&self) -> usize {
        self.shared.hits.load(Ordering::SeqCst)
    }

    /// Path of the last request.
    pub(crate) fn last_path(&self) -> Option<String> {
        self.last().map(|(p, _)| p)
    }

    /// Headers of the last request.
    pub(crate) fn last_headers(&self) -> Option<HeaderMap> {
        self.last().map(|(_, h)| h)
    }

    fn last(&self) -> Option<(String, HeaderMap)> {
        self.shared.last.lock().ok().and_then(|l| l.clone())
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(
    state: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    if let Ok(mut last) = state.last.lock() {
        *last = Some((path.clone(), req.headers().clone()));
    }
    state.hits.fetch_add(1, Ordering::SeqCst);
    let delay = state.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let (status, location) = match path.as_str() {
        "/redirect" => (302, Some("/health")),
        "/loop" => (302, Some("/loop")),
        _ => (state.status.load(Ordering::SeqCst), None),
    };
    let mut resp = Response::builder().status(status);
    if let Some(l) = location {
        resp = resp.header(http::header::LOCATION, l);
    }
    Ok(resp.body(Full::new(Bytes::new())).expect("valid response"))
}

/// A port on 127.0.0.1 that nothing listens on (bound, then released).
pub(crate) async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("local addr").port()
}

/// Polls `cond` every 10ms until it holds or `timeout` passes; returns whether it held.
pub(crate) async fn wait_for(timeout: Duration, cond: impl Fn() -> bool) -> bool {
    tokio::time::timeout(timeout, async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .is_ok()
}
