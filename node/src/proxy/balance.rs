//! Load balancing over the servers of one service: smooth weighted round robin or power of
//! two choices, an optional sticky cookie, and only healthy servers picked.
//!
//! A [`LoadBalancer`] is immutable and built off the request path when a config is compiled;
//! picking a server reads atomics only (health flags, in-flight counts, the round-robin
//! cursor), never a lock. The per-server [`ServerState`]s outlive it: the health registry
//! hands the same ones to the next compiled config while the service and URL are unchanged.

mod p2c;
mod server;
mod sticky;
mod wrr;

use std::sync::Arc;

use http::{HeaderMap, HeaderValue};

pub use p2c::p2c;
pub use server::{InflightGuard, ServerState, ServerUrlError};
pub use sticky::{SameSite, StickyCookie, StickyCookieError};
pub use wrr::{SmoothWrr, MAX_PERIOD};

/// How a [`LoadBalancer`] picks among healthy servers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Strategy {
    /// Smooth weighted round robin.
    #[default]
    Wrr,
    /// Power of two random choices by fewest in-flight requests.
    P2c,
}

impl From<raftgate_model::Strategy> for Strategy {
    fn from(s: raftgate_model::Strategy) -> Self {
        match s {
            raftgate_model::Strategy::Wrr => Strategy::Wrr,
            raftgate_model::Strategy::P2c => Strategy::P2c,
        }
    }
}

/// The server picked for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pick {
    /// Index into [`LoadBalancer::servers`].
    pub index: usize,
    /// A `Set-Cookie` value to add to the response (sticky services whose request did not
    /// name a healthy server).
    pub set_cookie: Option<HeaderValue>,
}

/// A load balancer over servers: strategy wrr (default) or p2c, optional sticky cookie; only
/// healthy servers with a positive weight are picked.
#[derive(Debug)]
pub struct LoadBalancer {
    servers: Box<[Arc<ServerState>]>,
    weights: Box<[u32]>,
    strategy: Strategy,
    wrr: SmoothWrr,
    sticky: Option<StickyCookie>,
    /// The `Set-Cookie` value of each server, rendered once (empty without a sticky cookie).
    cookies: Box<[HeaderValue]>,
}

impl LoadBalancer {
    /// A balancer over `servers` with their weights (weight 0: never picked).
    pub fn new(
        servers: Vec<(Arc<ServerState>, u32)>,
        strategy: Strategy,
        sticky: Option<StickyCookie>,
    ) -> Self {
        let (servers, weights): (Vec<_>, Vec<_>) = servers.into_iter().unzip();
        let cookies = match &sticky {
            Some(cookie) => servers.iter().map(|s| cookie.set_cookie(s)).collect(),
            None => Vec::new(),
        };
        LoadBalancer {
            wrr: SmoothWrr::new(&weights),
            servers: servers.into_boxed_slice(),
            weights: weights.into_boxed_slice(),
            strategy,
            sticky,
            cookies: cookies.into_boxed_slice(),
        }
    }

    /// The servers, in configuration order.
    pub fn servers(&self) -> &[Arc<ServerState>] {
        &self.servers
    }

    /// The strategy in use.
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// The sticky cookie, if the service has one.
    pub fn sticky(&self) -> Option<&StickyCookie> {
        self.sticky.as_ref()
    }

    /// Picks a server for a request: the one its sticky cookie names if that one is healthy,
    /// else one chosen by the strategy (and then a `Set-Cookie` to pin it, for sticky
    /// services). `None` when no server can take the request.
    pub fn pick(&self, headers: &HeaderMap) -> Option<Pick> {
        if let Some(index) = self
            .sticky
            .as_ref()
            .and_then(|c| c.pinned(headers, &self.servers))
        {
            return Some(Pick {
                index,
                set_cookie: None,
            });
        }
        let available = |i: usize| self.is_pickable(i);
        let index = match self.strategy {
            Strategy::Wrr => self.wrr.next(available),
            Strategy::P2c => p2c(self.servers.len(), available, |i| {
                self.servers[i].inflight()
            }),
        }?;
        Some(Pick {
            index,
            set_cookie: self.cookies.get(index).cloned(),
        })
    }

    /// Whether any server can take a request now.
    pub fn is_available(&self) -> bool {
        (0..self.servers.len()).any(|i| self.is_pickable(i))
    }

    fn is_pickable(&self, i: usize) -> bool {
        self.weights[i] > 0 && self.servers[i].is_healthy()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::COOKIE;
    use raftgate_model::Cookie;

    fn servers(n: usize) -> Vec<Arc<ServerState>> {
        (0..n)
            .map(|i| ServerState::parse(&format!("http://10.0.0.{i}:80")).expect("valid url"))
            .collect()
    }

    fn lb(weights: &[u32], strategy: Strategy, sticky: bool) -> LoadBalancer {
        let cookie = sticky.then(|| {
            let cfg = Cookie {
                name: "lb".into(),
                ..Cookie::default()
            };
            StickyCookie::from_config("api", &cfg).expect("valid cookie")
        });
        let list = servers(weights.len())
            .into_iter()
            .zip(weights.iter().copied());
        LoadBalancer::new(list.collect(), strategy, cookie)
    }

    fn cookie_header(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, HeaderValue::from_str(value).expect("valid header"));
        h
    }

    #[test]
    fn wrr_follows_weights_and_health() {
        let lb = lb(&[5, 1, 1], Strategy::Wrr, false);
        let none = HeaderMap::new();
        let picks: Vec<_> = (0..7)
            .filter_map(|_| lb.pick(&none))
            .map(|p| p.index)
            .collect();
        assert_eq!(picks, [0, 0, 1, 0, 2, 0, 0]);
        lb.servers()[0].set_healthy(false);
        for _ in 0..10 {
            let p = lb.pick(&none).expect("a server");
            assert_ne!(p.index, 0);
            assert_eq!(p.set_cookie, None);
        }
        lb.servers()[1].set_healthy(false);
        lb.servers()[2].set_healthy(false);
        assert!(!lb.is_available());
        assert_eq!(lb.pick(&none), None);
    }

    #[test]
    fn p2c_avoids_the_loaded_server() {
        let lb = lb(&[1, 1, 1], Strategy::P2c, false);
        let _busy: Vec<_> = (0..100).map(|_| lb.servers()[1].begin()).collect();
        for _ in 0..1_000 {
            let p = lb.pick(&HeaderMap::new()).expect("a server");
            assert_ne!(p.index, 1);
        }
    }

    #[test]
    fn zero_weight_servers_are_never_picked() {
        for strategy in [Strategy::Wrr, Strategy::P2c] {
            let lb = lb(&[0, 1, 0], strategy, false);
            for _ in 0..100 {
                assert_eq!(lb.pick(&HeaderMap::new()).map(|p| p.index), Some(1));
            }
            lb.servers()[1].set_healthy(false);
            assert!(!lb.is_available());
            assert_eq!(lb.pick(&HeaderMap::new()), None);
        }
    }

    #[test]
    fn sticky_pins_and_falls_back_with_a_new_cookie() {
        let lb = lb(&[1, 1, 1], Strategy::Wrr, true);
        let first = lb.pick(&HeaderMap::new()).expect("a server");
        let set = first.set_cookie.clone().expect("asks to set a cookie");
        let pair = set
            .to_str()
            .expect("ascii")
            .split(';')
            .next()
            .unwrap_or_default()
            .to_string();
        let pinned = cookie_header(&pair);
        for _ in 0..10 {
            assert_eq!(
                lb.pick(&pinned),
                Some(Pick {
                    index: first.index,
                    set_cookie: None
                })
            );
        }
        // The pinned server goes down: another one, and a cookie for it.
        lb.servers()[first.index].set_healthy(false);
        let moved = lb.pick(&pinned).expect("a server");
        assert_ne!(moved.index, first.index);
        let expected = lb
            .sticky()
            .map(|c| c.set_cookie(&lb.servers()[moved.index]));
        assert_eq!(moved.set_cookie, expected);
        // An unknown value falls back too.
        let unknown = lb
            .pick(&cookie_header("lb=ffffffffffffffff"))
            .expect("a server");
        assert!(unknown.set_cookie.is_some());
    }

    #[test]
    fn strategy_from_model() {
        assert_eq!(Strategy::from(raftgate_model::Strategy::Wrr), Strategy::Wrr);
        assert_eq!(Strategy::from(raftgate_model::Strategy::P2c), Strategy::P2c);
        assert_eq!(Strategy::default(), Strategy::Wrr);
    }
}
