//! What runs while a fault is injected: clients writing and reading config objects through
//! the admin API of different nodes, recording every operation for the linearizability
//! checker, and HTTP traffic through every node's proxy.
//!
//! Each key is a middleware object `chaos-kN` whose `addPrefix.prefix` (`/VALUE`) is the
//! register's value; a write is a one-object Apply (put), a delete is an Apply deleting it,
//! a read is a linearizable `Get` (`consistent: true`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use raftgate_proto as pb;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::watch;
use tonic::Code;

use crate::cluster::{admin, NodeId};
use crate::linearizability::{OpKind, Operation, Outcome};

/// Shared clock: operation times are nanoseconds since the run started.
#[derive(Clone, Copy)]
pub struct Clock(Instant);

impl Clock {
    /// A clock starting now.
    pub fn start() -> Self {
        Self(Instant::now())
    }

    /// Nanoseconds since the start.
    pub fn now(&self) -> u64 {
        self.0.elapsed().as_nanos() as u64
    }

    /// The instant `nanos` after the start.
    pub fn instant(&self, nanos: u64) -> Instant {
        self.0 + Duration::from_nanos(nanos)
    }
}

/// The object name of key `k`.
pub fn key_name(k: usize) -> String {
    format!("chaos-k{k}")
}

/// How the config clients behave.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Concurrent clients; client `c` talks to node `targets[c % targets.len()]`.
    pub clients: usize,
    /// Keys they share.
    pub keys: usize,
    /// Bound of one operation; past it the outcome is unknown.
    pub op_timeout: Duration,
    /// Seed of the operation mix.
    pub seed: u64,
    /// At most one operation per client per `pace`.
    pub pace: Duration,
    /// Pause after an operation that did not succeed.
    pub backoff: Duration,
}

/// Runs the config clients against `targets` (node id → gRPC URL) until `stop` turns true;
/// returns every operation they made.
pub async fn run_clients(
    targets: Vec<(NodeId, String)>,
    config: ClientConfig,
    clock: Clock,
    stop: watch::Receiver<bool>,
) -> Vec<Operation> {
    let history = Arc::new(Mutex::new(Vec::new()));
    let counter = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for client in 0..config.clients {
        let (_, url) = targets[client % targets.len()].clone();
        let (history, counter, config, mut stop) = (
            history.clone(),
            counter.clone(),
            config.clone(),
            stop.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(config.seed * 1000 + client as u64);
            let mut pace = tokio::time::interval(config.pace);
            pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while !*stop.borrow_and_update() {
                pace.tick().await;
                let key = rng.random_range(0..config.keys);
                let roll = rng.random_range(0..100);
                let kind = if roll < 45 {
                    OpKind::Read
                } else if roll < 90 {
                    let seq = counter.fetch_add(1, Ordering::Relaxed);
                    OpKind::Write(Some(format!("c{client}-{seq}")))
                } else {
                    OpKind::Write(None)
                };
                let op = one_op(&url, client as u64, key, kind, &config, clock).await;
                let failed = !matches!(op.outcome, Outcome::Ok(_));
                history.lock().unwrap_or_else(|e| e.into_inner()).push(op);
                if failed {
                    // Like a real client: back off before retrying against a cluster in trouble.
                    tokio::time::sleep(config.backoff).await;
                }
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let ops = std::mem::take(&mut *history.lock().unwrap_or_else(|e| e.into_inner()));
    ops
}

/// Performs and records one operation.
pub async fn one_op(
    url: &str,
    client: u64,
    key: usize,
    kind: OpKind,
    config: &ClientConfig,
    clock: Clock,
) -> Operation {
    let invoke = clock.now();
    let call = call(url, key, &kind);
    let outcome = match tokio::time::timeout(config.op_timeout, call).await {
        Ok(outcome) => outcome,
        Err(_) => Outcome::Unknown,
    };
    let complete = (outcome != Outcome::Unknown).then(|| clock.now());
    Operation {
        client,
        key: key_name(key),
        kind,
        invoke,
        complete,
        outcome,
    }
}

async fn call(url: &str, key: usize, kind: &OpKind) -> Outcome {
    let Ok(mut client) = admin(url) else {
        return Outcome::Fail;
    };
    let name = key_name(key);
    match kind {
        OpKind::Read => {
            let req = pb::GetRequest {
                r#ref: Some(object_ref(&name)),
                options: Some(pb::ReadOptions {
                    consistent: true,
                    min_revision: 0,
                }),
            };
            match client.get(req).await {
                Ok(resp) => Outcome::Ok(resp.into_inner().object.and_then(|o| value_of(&o))),
                Err(s) if s.code() == Code::NotFound => Outcome::Ok(None),
                Err(_) => Outcome::Unknown,
            }
        }
        OpKind::Write(value) => {
            let mut req = pb::ApplyRequest::default();
            match value {
                Some(v) => req.puts.push(pb::Object {
                    kind: pb::Kind::Middleware as i32,
                    name,
                    spec_json: serde_json::to_vec(
                        &serde_json::json!({"addPrefix": {"prefix": format!("/{v}")}}),
                    )
                    .unwrap_or_default(),
                    managed_by: "chaos".into(),
                    ..Default::default()
                }),
                None => req.deletes.push(object_ref(&name)),
            }
            match client.apply(req).await {
                Ok(_) => Outcome::Ok(None),
                Err(s) if definitely_refused(&s) => Outcome::Fail,
                Err(_) => Outcome::Unknown,
            }
        }
        OpKind::Create(_) => Outcome::Fail,
    }
}

/// Whether a failed write certainly changed nothing: the server validated and refused it,
/// or answered that there is no leader to propose it to (it never proposes then), or the
/// client could not even connect. Anything else (a deadline, a transport error under an
/// open call) may have committed.
fn definitely_refused(status: &tonic::Status) -> bool {
    match status.code() {
        Code::NotFound | Code::InvalidArgument | Code::AlreadyExists | Code::FailedPrecondition => {
            true
        }
        Code::Unavailable => {
            let m = status.message();
            m.starts_with("this node is not the leader")
                || m.starts_with("no leader is elected")
                || m.contains("tcp connect error")
        }
        _ => false,
    }
}

fn object_ref(name: &str) -> pb::ObjectRef {
    pb::ObjectRef {
        kind: pb::Kind::Middleware as i32,
        name: name.to_string(),
    }
}

/// The register value an object holds.
fn value_of(object: &pb::Object) -> Option<String> {
    let spec: serde_json::Value = serde_json::from_slice(&object.spec_json).ok()?;
    spec["addPrefix"]["prefix"]
        .as_str()
        .map(|p| p.trim_start_matches('/').to_string())
}

/// Requests answered and failed by one node's proxy.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct ProxyCounts {
    /// 2xx answers.
    pub ok: u64,
    /// Anything else: error statuses, connection failures, timeouts.
    pub errors: u64,
}

/// Sends `GET /ping` with `Host: host` to every node's proxy every `every`, until `stop`.
pub async fn run_proxy_load(
    webs: BTreeMap<NodeId, SocketAddr>,
    host: &'static str,
    every: Duration,
    stop: watch::Receiver<bool>,
) -> BTreeMap<NodeId, ProxyCounts> {
    let mut tasks = Vec::new();
    for (id, addr) in webs {
        let mut stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let client: Client<_, Empty<Bytes>> =
                Client::builder(TokioExecutor::new()).build_http();
            let mut counts = ProxyCounts::default();
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while !*stop.borrow_and_update() {
                tick.tick().await;
                let req = http::Request::get(format!("http://{addr}/ping"))
                    .header(http::header::HOST, host)
                    .body(Empty::new())
                    .expect("valid request");
                let sent = async {
                    let resp = client.request(req).await.ok()?;
                    let ok = resp.status().is_success();
                    resp.into_body().collect().await.ok()?;
                    Some(ok)
                };
                match tokio::time::timeout(Duration::from_secs(2), sent).await {
                    Ok(Some(true)) => counts.ok += 1,
                    _ => counts.errors += 1,
                }
            }
            (id, counts)
        }));
    }
    let mut out = BTreeMap::new();
    for task in tasks {
        if let Ok((id, counts)) = task.await {
            out.insert(id, counts);
        }
    }
    out
}
