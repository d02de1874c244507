//! Helpers for middleware unit tests: run one middleware in front of a fake service.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::BodyExt;

use super::{Middleware, Next, ProxyResult, RequestCtx};
use crate::proxy::body::{full, ProxyBody};
use crate::proxy::service::ServiceRuntime;
use crate::proxy::upstream::{Upstream, UpstreamConfig};

/// A real loopback HTTP/1 server that records what it receives and answers with `respond`.
pub struct Recorder {
    /// Its address.
    pub addr: SocketAddr,
    /// The requests it received (head plus whole body).
    pub seen: Arc<Mutex<Vec<Request<Bytes>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Recorder {
    /// Starts a server answering every request with `respond(&request)`.
    pub async fn start<F>(respond: F) -> Self
    where
        F: Fn(&Request<Bytes>) -> Response<Bytes> + Send + Sync + 'static,
    {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen: Arc<Mutex<Vec<Request<Bytes>>>> = Arc::default();
        let respond = Arc::new(respond);
        let log = seen.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (respond, log) = (respond.clone(), log.clone());
                tokio::spawn(async move {
                    let svc =
                        hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                            let (respond, log) = (respond.clone(), log.clone());
                            async move {
                                let (parts, body) = req.into_parts();
                                let body = body.collect().await?.to_bytes();
                                let req = Request::from_parts(parts, body);
                                let resp = respond(&req).map(http_body_util::Full::new);
                                log.lock().unwrap().push(req);
                                Ok::<_, hyper::Error>(resp)
                            }
                        });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                        .with_upgrades()
                        .await;
                });
            }
        });
        Self { addr, seen, task }
    }

    /// A server answering `200 ok` to everything.
    pub async fn ok() -> Self {
        Self::start(|_| Response::new(Bytes::from_static(b"ok"))).await
    }

    /// A load-balanced service runtime with this server as its only server.
    pub fn service(&self) -> Arc<ServiceRuntime> {
        crate::proxy::service::single_server_for_tests(&format!("http://{}", self.addr))
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<Request<Bytes>> {
        self.seen.lock().unwrap().clone()
    }
}

/// The context of a request from 10.0.0.1 on an `http` entrypoint at port 80.
pub fn ctx() -> RequestCtx {
    RequestCtx {
        client_ip: "10.0.0.1".parse().unwrap(),
        scheme: "http",
        port: 80,
    }
}

/// Runs `req` through `chain` in front of `service`.
pub async fn run_chain(
    chain: &[Arc<dyn Middleware>],
    service: &Arc<ServiceRuntime>,
    ctx: &RequestCtx,
    req: Request<ProxyBody>,
) -> ProxyResult {
    let upstream = Arc::new(Upstream::new(&UpstreamConfig::default()));
    Next::new(chain, service, &upstream, ctx).run(req).await
}

/// Runs `req` through `mw` in front of `service` with [`ctx`].
pub async fn run(
    mw: Arc<dyn Middleware>,
    service: &Arc<ServiceRuntime>,
    req: Request<ProxyBody>,
) -> ProxyResult {
    run_chain(&[mw], service, &ctx(), req).await
}

/// A request `GET uri` with Host `example.com` and an empty body.
pub fn get(uri: &str) -> Request<ProxyBody> {
    Request::builder()
        .uri(uri)
        .header(http::header::HOST, "example.com")
        .body(full(Bytes::new()))
        .unwrap()
}

/// A response's whole body as a string.
pub async fn body_string(resp: Response<ProxyBody>) -> String {
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8_lossy(&bytes).into_owned()
}
