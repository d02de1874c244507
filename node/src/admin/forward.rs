//! Forwarding of admin calls from a follower to the leader.
//!
//! A follower forwards once; the forwarded call is marked, and a node that receives a
//! marked call without being the leader answers `Unavailable` with the leader hint
//! instead of forwarding again (no loops while leadership moves).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use raftgate_proto::admin_client::AdminClient;
use tonic::metadata::MetadataMap;
use tonic::transport::{Channel, Endpoint};

use super::status::{bad_request, not_leader};
use crate::cluster::handle::ClusterHandle;

/// Metadata key marking a forwarded call.
pub const FORWARDED: &str = "raftgate-forwarded";

/// Where a leader-only call runs.
pub enum Route {
    /// Here: this node leads.
    Local,
    /// On the leader, through this client.
    Leader(AdminClient<Channel>),
}

/// Channels to other members, kept per address.
#[derive(Default)]
pub struct Forwarder {
    channels: Mutex<HashMap<String, Channel>>,
}

impl Forwarder {
    /// A client for the member at `addr` (lazily connected, reused).
    pub fn client(&self, addr: &str) -> Result<AdminClient<Channel>, tonic::Status> {
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        let channel = match channels.get(addr) {
            Some(c) => c.clone(),
            None => {
                let c = Endpoint::from_shared(addr.to_string())
                    .map_err(|e| bad_request(format!("bad member address {addr}: {e}")))?
                    .connect_timeout(Duration::from_secs(1))
                    .tcp_nodelay(true)
                    .connect_lazy();
                channels.insert(addr.to_string(), c.clone());
                c
            }
        };
        Ok(AdminClient::new(channel))
    }

    /// Decides where a leader-only call runs.
    pub fn route(
        &self,
        handle: &ClusterHandle,
        metadata: &MetadataMap,
    ) -> Result<Route, tonic::Status> {
        if handle.is_leader() {
            return Ok(Route::Local);
        }
        let leader = handle.leader().filter(|(id, _)| *id != handle.id);
        match leader {
            Some((id, addr)) if metadata.get(FORWARDED).is_none() => {
                Ok(Route::Leader(self.client(handle.routes.addr(id, &addr))?))
            }
            Some((_, addr)) => Err(not_leader(Some(&addr))),
            None => Err(not_leader(None)),
        }
    }
}

/// Wraps `body` as a forwarded request bounded by `timeout`.
pub fn forwarded<T>(body: T, timeout: Duration) -> tonic::Request<T> {
    let mut req = tonic::Request::new(body);
    req.metadata_mut()
        .insert(FORWARDED, tonic::metadata::MetadataValue::from_static("1"));
    req.set_timeout(timeout);
    req
}
