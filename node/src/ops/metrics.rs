//! Prometheus metrics of a node: Raft progress, proposals and snapshots.
//!
//! One [`Metrics`] per node, registered in its own registry (several in-process nodes in a
//! test never collide); `/metrics` renders it in the text format.

use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
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
        Self {
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
