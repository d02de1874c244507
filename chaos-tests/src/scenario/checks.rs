//! Checks on a finished run that the linearizability checker does not state directly.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::cluster::{Cluster, NodeId};
use crate::linearizability::{OpKind, Operation, Outcome};

/// Waits until every node in `ids` proxies `Host: host` with a 2xx.
pub async fn wait_proxying<C: Cluster>(
    cluster: &C,
    ids: &[NodeId],
    host: &str,
) -> anyhow::Result<()> {
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let webs = cluster.web_addrs();
    let deadline = Instant::now() + Duration::from_secs(60);
    for id in ids {
        loop {
            let req = http::Request::get(format!("http://{}/ping", webs[id]))
                .header(http::header::HOST, host)
                .body(Empty::new())?;
            if let Ok(resp) = client.request(req).await {
                if resp.status().is_success() {
                    break;
                }
            }
            if Instant::now() > deadline {
                anyhow::bail!("node {id} does not proxy {host}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    Ok(())
}

fn is_write(op: &Operation) -> bool {
    matches!(op.kind, OpKind::Write(_) | OpKind::Create(_))
}

/// Acknowledged writes whose value is not in the final state although nothing could have
/// overwritten them: for each key, the acknowledged write that every other possibly
/// effective write (acknowledged or unknown) strictly preceded must be the final value.
pub fn lost_writes(history: &[Operation], finals: &BTreeMap<String, Option<String>>) -> usize {
    let mut lost = 0;
    for (key, fin) in finals {
        let writes: Vec<&Operation> = history
            .iter()
            .filter(|o| &o.key == key && is_write(o) && o.outcome != Outcome::Fail)
            .collect();
        let last = writes
            .iter()
            .filter(|o| matches!(o.outcome, Outcome::Ok(_)))
            .max_by_key(|o| o.complete);
        let Some(last) = last else { continue };
        let alone = writes
            .iter()
            .all(|o| std::ptr::eq(*o, *last) || o.complete.is_some_and(|c| c < last.invoke));
        let written = match &last.kind {
            OpKind::Write(v) => v.clone(),
            OpKind::Create(v) => Some(v.clone()),
            OpKind::Read => continue,
        };
        if alone && &written != fin {
            lost += 1;
        }
    }
    lost
}

/// The longest stretch of `[from, to]` (clock nanoseconds) without an acknowledged write,
/// in milliseconds.
pub fn write_gap_ms(history: &[Operation], from: u64, to: u64) -> u64 {
    let mut acks: Vec<u64> = history
        .iter()
        .filter(|o| is_write(o) && matches!(o.outcome, Outcome::Ok(_)) && o.client != u64::MAX)
        .filter_map(|o| o.complete)
        .filter(|c| *c >= from && *c <= to)
        .collect();
    acks.sort_unstable();
    let mut previous = from;
    let mut gap = 0;
    for ack in acks.into_iter().chain(std::iter::once(to)) {
        gap = gap.max(ack - previous);
        previous = ack;
    }
    gap / 1_000_000
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(
        client: u64,
        v: Option<&str>,
        invoke: u64,
        complete: Option<u64>,
        ok: bool,
    ) -> Operation {
        Operation {
            client,
            key: "k".into(),
            kind: OpKind::Write(v.map(str::to_string)),
            invoke,
            complete,
            outcome: if ok {
                Outcome::Ok(None)
            } else {
                Outcome::Unknown
            },
        }
    }

    #[test]
    fn a_final_state_without_the_last_acknowledged_write_is_a_loss() {
        let history = vec![
            write(1, Some("a"), 0, Some(10), true),
            write(2, Some("b"), 20, Some(30), true),
        ];
        let good: BTreeMap<String, Option<String>> =
            [("k".to_string(), Some("b".to_string()))].into();
        let bad: BTreeMap<String, Option<String>> =
            [("k".to_string(), Some("a".to_string()))].into();
        assert_eq!(lost_writes(&history, &good), 0);
        assert_eq!(lost_writes(&history, &bad), 1);
        // An unknown write after it could have overwritten it: not counted.
        let mut with_unknown = history.clone();
        with_unknown.push(write(3, Some("c"), 25, None, false));
        assert_eq!(lost_writes(&with_unknown, &bad), 0);
    }

    #[test]
    fn the_write_gap_spans_the_longest_stretch_without_an_ack() {
        let ms = 1_000_000;
        let history = vec![
            write(1, Some("a"), 0, Some(10 * ms), true),
            write(1, Some("b"), 0, Some(50 * ms), true),
            write(1, Some("c"), 0, Some(60 * ms), true),
        ];
        assert_eq!(write_gap_ms(&history, 0, 100 * ms), 40);
        assert_eq!(write_gap_ms(&[], 0, 100 * ms), 100);
    }
}
