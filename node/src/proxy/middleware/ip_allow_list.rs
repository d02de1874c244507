//! `ipAllowList`: only clients whose address is within `sourceRange` get through; the others
//! are answered `rejectStatusCode` (default 403) with its reason phrase, as Traefik does. The
//! client address comes from the `ipStrategy` (see [`super::ip_strategy`]); a request for
//! which the strategy finds no address is refused.

use futures::future::BoxFuture;
use http::{Request, StatusCode};
use ipnet::IpNet;

use super::ip_strategy::{parse_net, IpStrategy};
use super::respond::status_response;
use super::{answer, Middleware, Next, ProxyResult};
use crate::proxy::body::ProxyBody;

/// A compiled `ipAllowList`.
pub struct IpAllowList {
    ranges: Vec<IpNet>,
    strategy: IpStrategy,
    reject: StatusCode,
}

impl IpAllowList {
    /// Compiles the config.
    pub fn new(config: &raftgate_model::IpAllowList) -> Result<Self, String> {
        let ranges = config
            .source_range
            .iter()
            .map(|s| parse_net(s))
            .collect::<Result<Vec<_>, _>>()?;
        if ranges.is_empty() {
            return Err("sourceRange is empty".into());
        }
        let reject = match config.reject_status_code {
            None => StatusCode::FORBIDDEN,
            Some(code) => u16::try_from(code)
                .ok()
                .and_then(|c| StatusCode::from_u16(c).ok())
                .ok_or_else(|| format!("rejectStatusCode {code} is not a status code"))?,
        };
        Ok(Self {
            ranges,
            strategy: IpStrategy::new(config.ip_strategy.as_ref())?,
            reject,
        })
    }
}

impl Middleware for IpAllowList {
    fn handle<'a>(&'a self, req: Request<ProxyBody>, next: Next<'a>) -> BoxFuture<'a, ProxyResult> {
        let client = self.strategy.client_ip(req.headers(), next.ctx().client_ip);
        let allowed = client.is_some_and(|ip| self.ranges.iter().any(|n| n.contains(&ip)));
        if !allowed {
            tracing::debug!(client = ?client, "ipAllowList refused the request");
            return answer(status_response(self.reject));
        }
        next.run(req)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::proxy::middleware::testing::{body_string, ctx, get, run, run_chain, Recorder};

    fn allow(json: serde_json::Value) -> Arc<dyn Middleware> {
        Arc::new(IpAllowList::new(&serde_json::from_value(json).unwrap()).unwrap())
    }

    #[tokio::test]
    async fn clients_in_range_pass_and_others_get_403() {
        let backend = Recorder::ok().await;
        let svc = backend.service();
        // testing::ctx() is a request from 10.0.0.1.
        let resp = run(
            allow(serde_json::json!({"sourceRange": ["192.168.0.0/16", "10.0.0.1"]})),
            &svc,
            get("/"),
        )
        .await
        .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(body_string(resp).await, "ok");
        let resp = run(
            allow(serde_json::json!({"sourceRange": ["192.168.0.0/16"]})),
            &svc,
            get("/"),
        )
        .await
        .unwrap();
        assert_eq!(resp.status(), 403);
        assert_eq!(body_string(resp).await, "Forbidden");
        assert_eq!(backend.requests().len(), 1);
    }

    #[tokio::test]
    async fn the_reject_status_is_configurable() {
        let backend = Recorder::ok().await;
        let mw = allow(serde_json::json!({"sourceRange": ["1.2.3.4"], "rejectStatusCode": 404}));
        let resp = run(mw, &backend.service(), get("/")).await.unwrap();
        assert_eq!(resp.status(), 404);
        assert_eq!(body_string(resp).await, "Not Found");
    }

    #[tokio::test]
    async fn the_ip_strategy_picks_the_address_checked() {
        let backend = Recorder::ok().await;
        let svc = backend.service();
        let mw =
            allow(serde_json::json!({"sourceRange": ["1.1.1.0/24"], "ipStrategy": {"depth": 2}}));
        let with_xff = |v: &'static str| {
            let mut r = get("/");
            r.headers_mut()
                .insert("x-forwarded-for", http::HeaderValue::from_static(v));
            r
        };
        let ok = run_chain(
            std::slice::from_ref(&mw),
            &svc,
            &ctx(),
            with_xff("1.1.1.9, 10.0.0.1"),
        )
        .await
        .unwrap();
        assert_eq!(ok.status(), 200);
        let refused = run_chain(
            std::slice::from_ref(&mw),
            &svc,
            &ctx(),
            with_xff("1.1.1.9, 2.2.2.2, 10.0.0.1"),
        )
        .await
        .unwrap();
        assert_eq!(refused.status(), 403);
        // Too few entries for the depth: no client address, refused.
        let refused = run_chain(&[mw], &svc, &ctx(), with_xff("10.0.0.1"))
            .await
            .unwrap();
        assert_eq!(refused.status(), 403);
    }
}
