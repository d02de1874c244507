//! Where members are dialled: their advertised URL, unless `--peer-routes` names another one
//! (a NAT or proxy in between, or the chaos suite's fault-injecting relays).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::types::NodeId;

/// Per-member dial URLs that override the advertised ones.
#[derive(Debug, Clone, Default)]
pub struct PeerRoutes(Arc<BTreeMap<NodeId, String>>);

impl PeerRoutes {
    /// Routes from member id to URL.
    pub fn new(routes: BTreeMap<NodeId, String>) -> Self {
        Self(Arc::new(routes))
    }

    /// The URL to dial member `id`, whose advertised URL is `advertised`.
    pub fn addr<'a>(&'a self, id: NodeId, advertised: &'a str) -> &'a str {
        self.0.get(&id).map_or(advertised, String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routed_members_are_dialled_at_their_route() {
        let routes = PeerRoutes::new([(2, "http://127.0.0.1:9".to_string())].into());
        assert_eq!(routes.addr(2, "http://10.0.0.2:7001"), "http://127.0.0.1:9");
        assert_eq!(
            routes.addr(3, "http://10.0.0.3:7001"),
            "http://10.0.0.3:7001"
        );
    }
}
