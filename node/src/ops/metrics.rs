//! Prometheus metrics of a node: Raft progress, proposals and snapshots.
//!
//! One [`Metrics`] per node, registered in its own registry (several in-process nodes in a
//! test never collide); `/metrics` renders it in the text format.

use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    Opts, Registry, TextEncoder,
};

use crate::cluster::types::RaftMetrics;

/// The node's metrics.
pub struct Metrics {
    registry: Registry,
    /// Current Raft term.
    pub term: IntGauge,
    /// 1 when this node is the leader.
    pub is_leader: IntGauge,
    /// Index of the last log entry.
    pub last_log_index: IntGauge,
    /// Index of the last applied entry.
    pub applied_index: IntGauge,
    /// Config revision applied.
    pub revision: IntGauge,
    /// Proposals by result (`ok`, `rejected`, `error`, `forwarded`).
    pub proposals: IntCounterVec,
    /// Time from proposal to applied response on the leader.
    pub proposal_seconds: Histogram,
    /// Snapshots built by this node.
    pub snapshots_built: IntCounter,
    /// Snapshots installed from a leader.
    pub snapshots_installed: IntCounter,
    /// Config revision the proxy serves.
    pub proxy_revision: IntGauge,
    /// Unix time of the proxy's last config swap.
    pub proxy_swapped_at: Gauge,
    /// 1 while the latest applied revision could not be compiled (an older one is served).
    pub proxy_compile_failed: IntGauge,
    /// Applied revisions the proxy could not compile.
    pub proxy_compile_failures: IntCounter,
    /// Proxied requests by entrypoint and status class.
    pub requests: IntCounterVec,
    /// Time to response headers, by entrypoint.
    pub request_seconds: HistogramVec,
}

/// One entrypoint's request metrics, resolved once so a request only touches atomics.
pub struct RequestMetrics {
    by_class: [IntCounter; 5],
    duration: Histogram,
}

impl RequestMetrics {
    /// Records one answered request.
    pub fn observe(&self, status: u16, seconds: f64) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.by_class[class].inc();
        self.duration.observe(seconds);
    }
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Self {
        let registry = Registry::new();
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::new(name, help).expect("valid metric");
            registry
                .register(Box::new(g.clone()))
                .expect("unique metric");
            g
        };
        let counter = |name: &str, help: &str| {
            let c = IntCounter::new(name, help).expect("valid metric");
            registry
                .register(Box::new(c.clone()))
                .expect("unique metric");
            c
        };
        let proposals = IntCounterVec::new(
            Opts::new(
                "raftgate_proposals_total",
                "Config writes proposed, by result",
            ),
            &["result"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(proposals.clone()))
            .expect("unique metric");
        let proposal_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "raftgate_proposal_duration_seconds",
                "Time from proposal to applied response",
            )
            .buckets(vec![
                0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
        )
        .expect("valid metric");
        registry
            .register(Box::new(proposal_seconds.clone()))
            .expect("unique metric");
        let requests = IntCounterVec::new(
            Opts::new(
                "raftgate_proxy_requests_total",
                "Proxied requests by entrypoint and status class",
            ),
            &["entrypoint", "code"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(requests.clone()))
            .expect("unique metric");
        let request_seconds = HistogramVec::new(
            HistogramOpts::new(
                "raftgate_proxy_request_duration_seconds",
                "Time to response headers",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
            ]),
            &["entrypoint"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(request_seconds.clone()))
            .expect("unique metric");
        let proxy_swapped_at = Gauge::new(
            "raftgate_proxy_config_last_swap_timestamp_seconds",
            "Unix time of the proxy's last config swap (how old the served config is)",
        )
        .expect("valid metric");
        registry
            .register(Box::new(proxy_swapped_at.clone()))
            .expect("unique metric");
        Self {
            proxy_revision: gauge(
                "raftgate_proxy_config_revision",
                "Config revision the proxy serves",
            ),
            proxy_swapped_at,
            proxy_compile_failed: gauge(
                "raftgate_proxy_config_compile_failed",
                "1 while the latest applied config revision could not be compiled and an older one is served",
            ),
            proxy_compile_failures: counter(
                "raftgate_proxy_config_compile_failures_total",
                "Applied config revisions the proxy could not compile",
            ),
            requests,
            request_seconds,
            term: gauge("raftgate_raft_term", "Current Raft term"),
            is_leader: gauge("raftgate_raft_is_leader", "1 if this node is the leader"),
            last_log_index: gauge("raftgate_raft_last_log_index", "Last log index"),
            applied_index: gauge("raftgate_raft_applied_index", "Last applied log index"),
            revision: gauge("raftgate_config_revision", "Applied config revision"),
            snapshots_built: counter("raftgate_snapshots_built_total", "Snapshots built"),
            snapshots_installed: counter(
                "raftgate_snapshots_installed_total",
                "Snapshots installed from the leader",
            ),
            proposals,
            proposal_seconds,
            registry,
        }
    }

    /// The proxy now serves `revision`.
    pub fn proxy_served(&self, revision: u64) {
        self.proxy_revision.set(revision as i64);
        self.proxy_compile_failed.set(0);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        self.proxy_swapped_at.set(now);
    }

    /// The proxy could not compile the latest applied revision.
    pub fn proxy_not_compiled(&self) {
        self.proxy_compile_failed.set(1);
        self.proxy_compile_failures.inc();
    }

    /// Copies Raft's own metrics into the gauges.
    pub fn observe_raft(&self, m: &RaftMetrics) {
        self.term.set(m.current_term as i64);
        self.is_leader.set(i64::from(
            m.current_leader == Some(m.id) && m.state.is_leader(),
        ));
        self.last_log_index
            .set(m.last_log_index.unwrap_or(0) as i64);
        self.applied_index
            .set(m.last_applied.map_or(0, |l| l.index) as i64);
    }

    /// The request metrics of one entrypoint.
    pub fn entrypoint(&self, name: &str) -> RequestMetrics {
        let class = |c: &str| self.requests.with_label_values(&[name, c]);
        RequestMetrics {
            by_class: [
                class("1xx"),
                class("2xx"),
                class("3xx"),
                class("4xx"),
                class("5xx"),
            ],
            duration: self.request_seconds.with_label_values(&[name]),
        }
    }

    /// Renders every metric in Prometheus' text format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding gathered families into a Vec cannot fail.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
