//! Real HTTP backends for proxy tests: hyper servers on ephemeral loopback ports that say who
//! they are, record what they received, and can be made slow, failing, or streaming.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

type BoxBody = http_body_util::combinators::BoxBody<Bytes, Infallible>;

/// A request as a backend saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub uri: String,
    pub headers: http::HeaderMap,
    pub body_len: usize,
}

/// One backend server.
pub struct Backend {
    pub name: String,
    pub addr: SocketAddr,
    pub hits: Arc<AtomicUsize>,
    /// Status answered on ordinary paths (200 by default).
    pub status: Arc<AtomicU16>,
    /// Delay before answering, in ms.
    pub delay_ms: Arc<AtomicU64>,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    task: JoinHandle<()>,
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Backend {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    pub async fn start(name: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let status = Arc::new(AtomicU16::new(200));
        let delay_ms = Arc::new(AtomicU64::new(0));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let state = Arc::new((
            name.to_string(),
            hits.clone(),
            status.clone(),
            delay_ms.clone(),
            seen.clone(),
        ));
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = state.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(answer(&state, req).await) }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection_with_upgrades(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Self {
            name: name.to_string(),
            addr,
            hits,
            status,
            delay_ms,
            seen,
            task,
        }
    }
}

type State = (
    String,
    Arc<AtomicUsize>,
    Arc<AtomicU16>,
    Arc<AtomicU64>,
    Arc<Mutex<Vec<Seen>>>,
);

fn full(b: impl Into<Bytes>) -> BoxBody {
    Full::new(b.into()).boxed()
}

async fn answer(state: &State, req: Request<Incoming>) -> Response<BoxBody> {
    let (name, hits, status, delay, seen) = state;
    hits.fetch_add(1, Ordering::SeqCst);
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    // Count the body as it streams, never holding it.
    let mut body_len = 0usize;
    let mut body = body;
    while let Some(Ok(frame)) = body.frame().await {
        if let Some(data) = frame.data_ref() {
            body_len += data.len();
        }
    }
    seen.lock().unwrap().push(Seen {
        method: parts.method.to_string(),
        uri: parts.uri.to_string(),
        headers: parts.headers.clone(),
        body_len,
    });
    if path == "/download" {
        let total: usize = parts
            .uri
            .query()
            .and_then(|q| q.strip_prefix("bytes="))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
        let chunks = total / chunk.len();
        let stream = futures::stream::iter(0..chunks)
            .map(move |_| Ok::<_, Infallible>(Frame::data(chunk.clone())));
        let mut resp = Response::new(BodyExt::boxed(StreamBody::new(stream)));
        resp.headers_mut()
            .insert("x-backend", name.parse().unwrap());
        return resp;
    }
    let ms = delay.load(Ordering::SeqCst);
    if ms > 0 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let mut resp = Response::new(full(format!("{name} {body_len}")));
    *resp.status_mut() = http::StatusCode::from_u16(status.load(Ordering::SeqCst)).unwrap();
    resp.headers_mut()
        .insert("x-backend", name.parse().unwrap());
    resp
}

/// A WebSocket echo server.
pub async fn websocket_echo() -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                while let Some(Ok(msg)) = ws.next().await {
                    if msg.is_text() || msg.is_binary() {
                        use futures::SinkExt;
                        if ws.send(msg).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    (addr, task)
}

/// A plain HTTP client for tests (pooled keep-alive).
pub fn http_client(
) -> hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, BoxBody>
{
    hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build_http()
}

/// GET `url` with a Host header; returns status, headers and body.
pub async fn get(url: &str, host: &str) -> Result<(u16, http::HeaderMap, String), String> {
    send(&http_client(), "GET", url, host, &[], Bytes::new()).await
}

/// Sends one request.
pub async fn send(
    client: &hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        BoxBody,
    >,
    method: &str,
    url: &str,
    host: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Result<(u16, http::HeaderMap, String), String> {
    let mut req = Request::builder()
        .method(method)
        .uri(url)
        .header("host", host);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(full(body)).map_err(|e| e.to_string())?;
    let resp = client.request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, headers, String::from_utf8_lossy(&body).to_string()))
}

/// Sends GET `web` + `path` (Host `example.com`, with `headers`) until the answer's status is
/// `status`, and returns that answer; panics after 10 s.
pub async fn until_answer(
    web: &str,
    path: &str,
    headers: &[(&str, &str)],
    status: u16,
) -> (u16, http::HeaderMap, String) {
    let client = http_client();
    let url = format!("{web}{path}");
    super::wait_for(
        &format!("{url} to answer {status}"),
        Duration::from_secs(10),
        || {
            let (client, url) = (client.clone(), url.clone());
            async move {
                send(&client, "GET", &url, "example.com", headers, Bytes::new())
                    .await
                    .ok()
                    .filter(|r| r.0 == status)
            }
        },
    )
    .await
}
