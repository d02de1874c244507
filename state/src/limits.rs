//! The documented limits of what one write may hold. Every one is checked in
//! [`ConfigState::apply`](crate::state::ConfigState::apply), on the leader before it proposes
//! and on every node when it applies, so the data plane never meets an input it was not sized
//! for. They are chosen well above what real configurations use; the README lists them with
//! the rule limits of `raftgate_model::rule`.

/// Operations in one transaction (one `apply -f`, one Raft entry).
pub const MAX_TXN_OPS: usize = 10_000;

/// Longest chain of same-kind references: a `chain` middleware inside a `chain` …, a
/// weighted / mirroring / failover service over another one …, counted in objects along the
/// path (`a -> b -> c` is 3). The data plane flattens chains and nests services this deep.
pub const MAX_REFERENCE_DEPTH: usize = 16;

/// Middlewares a router runs once its `chain`s are flattened.
pub const MAX_ROUTER_MIDDLEWARES: usize = 100;
