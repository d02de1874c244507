//! The cluster id a node belongs to, once known: stamped on every Raft message it sends and
//! checked on every one it receives, so nodes of two clusters never mix their logs.

use std::sync::Arc;

use arc_swap::ArcSwap;

/// Shared, lock-free holder of this node's cluster id (empty while unknown).
#[derive(Clone, Default)]
pub struct ClusterIdentity(Arc<ArcSwap<String>>);

impl ClusterIdentity {
    /// The cluster id, or an empty string while unknown.
    pub fn get(&self) -> String {
        self.0.load().as_ref().clone()
    }

    /// Records the cluster id.
    pub fn set(&self, id: &str) {
        if self.0.load().as_str() != id {
            self.0.store(Arc::new(id.to_string()));
        }
    }

    /// Refuses a message stamped with another cluster's id. Unknown ids on either side pass:
    /// a new node learns its id from the first snapshot or entries it receives.
    pub fn check(&self, incoming: &str) -> Result<(), tonic::Status> {
        let mine = self.0.load();
        if !incoming.is_empty() && !mine.is_empty() && incoming != mine.as_str() {
            return Err(tonic::Status::failed_precondition(format!(
                "cluster id mismatch: this node belongs to cluster {mine}, the sender to cluster {incoming}"
            )));
        }
        Ok(())
    }
}
