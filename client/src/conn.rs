//! Where a call goes. A call tries the `--endpoints` in order; on a connection error or
//! `Unavailable` it moves to the next one, and when a failed answer names the leader (metadata
//! `raftgate-leader-addr`) it tries the leader next. Attempts are bounded: at most two passes
//! over the list, plus at most as many leader hints. Any other answer ends the call.
//!
//! The choice of the next endpoint ([`Failover`]) and the retry loop ([`with_failover`]) take
//! no network, so they are tested with a scripted fake; [`Conn`] plugs tonic into them.

use std::future::Future;
use std::time::Duration;

use raftgate_proto::admin_client::AdminClient;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Response, Status};

/// Metadata key of a failed answer that names the leader's gRPC URL.
pub const LEADER_HINT_KEY: &str = "raftgate-leader-addr";

/// How many times the endpoint list is walked before giving up.
const PASSES: usize = 2;

/// Whether a call changes the cluster: a write that timed out may still commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Read,
    Write,
}

/// Why one attempt failed.
#[derive(Debug)]
pub enum Failure {
    /// No connection could be made; the text is the cause, on one line.
    Connect(String),
    /// The server (or the transport under an open connection) answered with an error.
    Status(Status),
    /// No answer within the timeout; the request may have been processed.
    Timeout(Duration),
}

impl Failure {
    /// The leader's address, when the server named it.
    pub fn leader_hint(&self) -> Option<&str> {
        match self {
            Failure::Status(status) => status
                .metadata()
                .get(LEADER_HINT_KEY)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|s| !s.is_empty()),
            _ => None,
        }
    }

    /// True when another endpoint may succeed where this one failed. A timeout is not retried:
    /// the first attempt may still take effect.
    fn try_elsewhere(&self) -> bool {
        match self {
            Failure::Connect(_) => true,
            // Even with a leader hint: a request that ran out of time may still take effect.
            Failure::Status(status) if status.code() == Code::DeadlineExceeded => false,
            Failure::Status(status) => {
                status.code() == Code::Unavailable || self.leader_hint().is_some()
            }
            Failure::Timeout(_) => false,
        }
    }
}

/// A call that failed, with the endpoint of its last attempt.
#[derive(Debug)]
pub struct CallError {
    pub endpoint: String,
    pub failure: Failure,
    pub op: Op,
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (reason, _) = crate::error::describe_call(self);
        write!(f, "{reason} (endpoint {})", self.endpoint)
    }
}

impl std::error::Error for CallError {}

/// The plan of attempts of one call: pure, so it is tested without a network.
#[derive(Debug)]
pub struct Failover {
    endpoints: Vec<String>,
    /// Attempts taken from the list so far (walks the list `PASSES` times).
    taken: usize,
    hints_left: usize,
}

impl Failover {
    pub fn new(endpoints: &[String]) -> Self {
        Failover {
            endpoints: endpoints.to_vec(),
            taken: 0,
            hints_left: PASSES * endpoints.len(),
        }
    }

    /// The endpoint of the first attempt (None if the list is empty).
    pub fn first(&mut self) -> Option<String> {
        self.next_from_list()
    }

    /// The endpoint to try after `tried` failed with `failure`, or None to give up.
    pub fn after(&mut self, tried: &str, failure: &Failure) -> Option<String> {
        if !failure.try_elsewhere() {
            return None;
        }
        if let Some(hint) = failure.leader_hint().map(normalize) {
            if hint != normalize(tried) && self.hints_left > 0 {
                self.hints_left -= 1;
                return Some(hint);
            }
        }
        self.next_from_list()
    }

    fn next_from_list(&mut self) -> Option<String> {
        if self.taken >= PASSES * self.endpoints.len() {
            return None;
        }
        let endpoint = self.endpoints[self.taken % self.endpoints.len()].clone();
        self.taken += 1;
        Some(endpoint)
    }
}

fn normalize(url: &str) -> String {
    url.trim().trim_end_matches('/').to_string()
}

/// Runs `attempt` on endpoints chosen by [`Failover`] until one succeeds or the plan gives up.
/// Returns the value and the endpoint that produced it.
pub async fn with_failover<T, A, Fut>(
    endpoints: &[String],
    op: Op,
    mut attempt: A,
) -> Result<(T, String), CallError>
where
    A: FnMut(String) -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let mut plan = Failover::new(endpoints);
    let Some(mut endpoint) = plan.first() else {
        let failure = Failure::Connect("no endpoints given".into());
        return Err(CallError {
            endpoint: String::new(),
            failure,
            op,
        });
    };
    loop {
        match attempt(endpoint.clone()).await {
            Ok(value) => return Ok((value, endpoint)),
            Err(failure) => match plan.after(&endpoint, &failure) {
                Some(next) => endpoint = next,
                None => {
                    return Err(CallError {
                        endpoint,
                        failure,
                        op,
                    })
                }
            },
        }
    }
}

/// The admin API of a cluster, reached through its endpoints.
#[derive(Debug, Clone)]
pub struct Conn {
    endpoints: Vec<String>,
    timeout: Duration,
}

impl Conn {
    pub fn new(endpoints: Vec<String>, timeout: Duration) -> Self {
        Conn { endpoints, timeout }
    }

    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// One RPC with failover. `rpc` is called once per attempt with a fresh client.
    pub async fn call<T, F, Fut>(&self, op: Op, rpc: F) -> Result<(T, String), CallError>
    where
        F: Fn(AdminClient<Channel>) -> Fut,
        Fut: Future<Output = Result<Response<T>, Status>>,
    {
        let timeout = self.timeout;
        let rpc = &rpc;
        with_failover(&self.endpoints, op, |endpoint| async move {
            attempt(&endpoint, timeout, rpc).await
        })
        .await
    }

    /// One RPC to one endpoint, without failover (for questions about that node itself).
    pub async fn call_at<T, F, Fut>(&self, endpoint: &str, op: Op, rpc: F) -> Result<T, CallError>
    where
        F: Fn(AdminClient<Channel>) -> Fut,
        Fut: Future<Output = Result<Response<T>, Status>>,
    {
        attempt(endpoint, self.timeout, &rpc)
            .await
            .map_err(|failure| CallError {
                endpoint: endpoint.to_string(),
                failure,
                op,
            })
    }
}

/// Connects to `endpoint` and runs `rpc`, each step bounded by `timeout`.
async fn attempt<T, F, Fut>(endpoint: &str, timeout: Duration, rpc: &F) -> Result<T, Failure>
where
    F: Fn(AdminClient<Channel>) -> Fut,
    Fut: Future<Output = Result<Response<T>, Status>>,
{
    let channel = connect(endpoint, timeout).await?;
    match tokio::time::timeout(timeout, rpc(AdminClient::new(channel))).await {
        Err(_elapsed) => Err(Failure::Timeout(timeout)),
        Ok(Err(status)) => Err(Failure::Status(status)),
        Ok(Ok(response)) => Ok(response.into_inner()),
    }
}

async fn connect(endpoint: &str, timeout: Duration) -> Result<Channel, Failure> {
    let target = Endpoint::from_shared(endpoint.to_string())
        .map_err(|e| Failure::Connect(one_line(&e)))?
        .connect_timeout(timeout);
    match tokio::time::timeout(timeout, target.connect()).await {
        Err(_elapsed) => Err(Failure::Connect(format!(
            "no connection within {}",
            humantime::format_duration(timeout)
        ))),
        Ok(Err(e)) => Err(Failure::Connect(one_line(&e))),
        Ok(Ok(channel)) => Ok(channel),
    }
}

/// An error and its causes on one line, skipping causes already spelled out by their parent.
pub fn one_line(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    squash(&parts.join(": "))
}

/// Collapses whitespace runs (newlines included) to single spaces.
pub fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod fake_node;

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::HashMap;

    fn list(urls: &[&str]) -> Vec<String> {
        urls.iter().map(|s| s.to_string()).collect()
    }

    fn refused() -> Failure {
        Failure::Connect("tcp connect error: Connection refused".into())
    }

    fn status(code: Code, hint: Option<&str>) -> Failure {
        let mut s = Status::new(code, "not the leader");
        if let Some(h) = hint {
            s.metadata_mut().insert(LEADER_HINT_KEY, h.parse().unwrap());
        }
        Failure::Status(s)
    }

    #[test]
    fn walks_the_list_twice_then_gives_up() {
        let mut plan = Failover::new(&list(&["a", "b"]));
        let mut seen = vec![plan.first().unwrap()];
        while let Some(next) = plan.after(seen.last().unwrap(), &refused()) {
            seen.push(next);
        }
        assert_eq!(seen, ["a", "b", "a", "b"]);
    }

    #[test]
    fn unavailable_moves_on_but_refusals_and_timeouts_stop() {
        let mut plan = Failover::new(&list(&["a", "b"]));
        plan.first();
        assert_eq!(
            plan.after("a", &status(Code::Unavailable, None)).as_deref(),
            Some("b")
        );
        assert_eq!(plan.after("b", &status(Code::InvalidArgument, None)), None);
        assert_eq!(
            plan.after("b", &Failure::Timeout(Duration::from_secs(1))),
            None
        );
        assert_eq!(plan.after("b", &status(Code::DeadlineExceeded, None)), None);
        assert_eq!(
            plan.after("b", &status(Code::DeadlineExceeded, Some("c"))),
            None
        );
    }

    #[test]
    fn a_leader_hint_is_tried_next_then_the_list_resumes() {
        let mut plan = Failover::new(&list(&["a", "b", "c"]));
        assert_eq!(plan.first().as_deref(), Some("a"));
        // Any failed answer that names the leader sends us there, even a non-Unavailable code.
        let hinted = status(Code::FailedPrecondition, Some("http://leader:7001/"));
        assert_eq!(
            plan.after("a", &hinted).as_deref(),
            Some("http://leader:7001")
        );
        // The leader is unreachable: back to the list where we left it.
        assert_eq!(
            plan.after("http://leader:7001", &refused()).as_deref(),
            Some("b")
        );
    }

    #[test]
    fn a_hint_naming_the_endpoint_itself_is_ignored() {
        let mut plan = Failover::new(&list(&["http://a:1", "http://b:1"]));
        plan.first();
        let selfish = status(Code::Unavailable, Some("http://a:1"));
        assert_eq!(
            plan.after("http://a:1", &selfish).as_deref(),
            Some("http://b:1")
        );
    }

    #[test]
    fn leader_hints_are_bounded() {
        // Two nodes that keep pointing at each other: 2 passes over 1 endpoint + 2 hints.
        let mut plan = Failover::new(&list(&["x"]));
        let mut tried = vec![plan.first().unwrap()];
        loop {
            let last = tried.last().unwrap().clone();
            let other = if last == "y" { "x" } else { "y" };
            match plan.after(&last, &status(Code::Unavailable, Some(other))) {
                Some(next) => tried.push(next),
                None => break,
            }
        }
        assert_eq!(tried.len(), 4, "{tried:?}");
    }

    #[test]
    fn empty_list_has_no_attempt() {
        assert_eq!(Failover::new(&[]).first(), None);
    }

    /// A fake cluster: each endpoint answers from a script, one answer per attempt.
    struct Fake {
        script: RefCell<HashMap<String, Vec<Result<u64, Failure>>>>,
        log: RefCell<Vec<String>>,
    }

    impl Fake {
        fn new(script: Vec<(&str, Vec<Result<u64, Failure>>)>) -> Self {
            let script = script
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
            Fake {
                script: RefCell::new(script),
                log: RefCell::new(Vec::new()),
            }
        }

        async fn answer(&self, endpoint: String) -> Result<u64, Failure> {
            self.log.borrow_mut().push(endpoint.clone());
            let mut script = self.script.borrow_mut();
            match script.get_mut(&endpoint) {
                Some(answers) if !answers.is_empty() => answers.remove(0),
                _ => Err(refused()),
            }
        }
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn follows_the_leader_from_a_follower() {
        let fake = Fake::new(vec![
            ("a", vec![Err(status(Code::Unavailable, Some("c")))]),
            ("c", vec![Ok(42)]),
        ]);
        let out = block_on(with_failover(&list(&["a", "b", "c"]), Op::Write, |e| {
            fake.answer(e)
        }));
        assert_eq!(out.unwrap(), (42, "c".to_string()));
        assert_eq!(*fake.log.borrow(), ["a", "c"]);
    }

    #[test]
    fn skips_dead_endpoints() {
        let fake = Fake::new(vec![("b", vec![Ok(7)])]);
        let out = block_on(with_failover(&list(&["a", "b"]), Op::Read, |e| {
            fake.answer(e)
        }));
        assert_eq!(out.unwrap(), (7, "b".to_string()));
    }

    #[test]
    fn a_refusal_is_returned_at_once_with_its_endpoint() {
        let fake = Fake::new(vec![(
            "a",
            vec![Err(Failure::Status(Status::already_exists(
                "router \"web\" exists",
            )))],
        )]);
        let err = block_on(with_failover(&list(&["a", "b"]), Op::Write, |e| {
            fake.answer(e)
        }))
        .unwrap_err();
        assert_eq!(err.endpoint, "a");
        assert!(matches!(&err.failure, Failure::Status(s) if s.code() == Code::AlreadyExists));
        assert_eq!(*fake.log.borrow(), ["a"]);
    }

    #[test]
    fn all_dead_fails_with_the_last_error() {
        let fake = Fake::new(vec![]);
        let err = block_on(with_failover(&list(&["a", "b"]), Op::Read, |e| {
            fake.answer(e)
        }))
        .unwrap_err();
        assert_eq!(err.endpoint, "b");
        assert!(matches!(err.failure, Failure::Connect(_)));
        assert_eq!(*fake.log.borrow(), ["a", "b", "a", "b"]);
    }

    #[test]
    fn one_line_drops_repeated_causes() {
        #[derive(Debug)]
        struct E(&'static str, Option<Box<E>>);
        impl std::fmt::Display for E {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.0)
            }
        }
        impl std::error::Error for E {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                self.1.as_deref().map(|e| e as _)
            }
        }
        let inner = E("Connection refused\n(os error 111)", None);
        let mid = E(
            "tcp connect error: Connection refused\n(os error 111)",
            Some(Box::new(inner)),
        );
        let top = E("transport error", Some(Box::new(mid)));
        assert_eq!(
            one_line(&top),
            "transport error: tcp connect error: Connection refused (os error 111)"
        );
    }
}
