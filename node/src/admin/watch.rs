//! `Watch`: a stream of committed changes, from the node's retained history, then live.

use std::sync::Arc;

use raftgate_proto as pb;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::convert::pb_event;
use super::AdminService;
use crate::cluster::handle::ClusterHandle;

type WatchStream = <AdminService as pb::admin_server::Admin>::WatchStream;

/// Starts a watch of changes after `from_revision` (0: from now on).
pub fn watch(handle: &Arc<ClusterHandle>, from_revision: u64) -> Result<WatchStream, Status> {
    // Subscribe before reading the history, so no change falls between the two.
    let mut live = handle.changes.subscribe();
    let current = handle.state().config.revision;
    let from = if from_revision == 0 {
        current
    } else {
        from_revision
    };
    let backlog = handle.history.since(from, current).map_err(|oldest| {
        Status::out_of_range(format!(
            "revision {from} is no longer in this node's history (oldest kept: {oldest}); \
             list the objects and watch from the list's revision"
        ))
    })?;
    let (tx, rx) = mpsc::channel(256);
    tokio::spawn(async move {
        // Live changes up to the last revision already sent from the history are duplicates.
        let floor = backlog.last().map_or(from, |c| c.revision).max(from);
        let mut sent = floor;
        for change in backlog {
            if tx.send(Ok(pb_event(&change))).await.is_err() {
                return;
            }
        }
        loop {
            match live.recv().await {
                Ok(change) if change.revision <= floor => continue,
                Ok(change) => {
                    sent = change.revision;
                    if tx.send(Ok(pb_event(&change))).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    let _ = tx
                        .send(Err(Status::aborted(format!(
                            "watch fell behind; resume from revision {sent}"
                        ))))
                        .await;
                    return;
                }
                Err(RecvError::Closed) => return,
            }
        }
    });
    Ok(Box::pin(ReceiverStream::new(rx)))
}
