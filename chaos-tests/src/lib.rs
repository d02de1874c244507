//! raftgate's chaos suite: a fault-injecting TCP relay for peer links, and a linearizability
//! checker for the histories that workloads record while faults are injected.

pub mod backend;
pub mod cluster;
pub mod linearizability;
pub mod relay;
pub mod scenario;
pub mod workload;
