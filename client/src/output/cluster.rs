//! Cluster answers as printed: member status, membership changes, `wait-applied` results.

use raftgate_proto::{ClusterStatusResponse, MembershipResponse};
use serde::Serialize;

use super::table;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusOut {
    pub cluster_id: String,
    pub leader_id: Option<u64>,
    pub members: Vec<MemberOut>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberOut {
    pub id: u64,
    pub addr: String,
    pub role: String,
    pub voter: bool,
    /// True for the member the answering node names as leader.
    pub leader: bool,
    pub term: u64,
    pub revision: u64,
    pub state_hash: String,
    pub leader_id: Option<u64>,
    pub last_log_index: Option<u64>,
    pub applied_index: Option<u64>,
    pub reachable: bool,
    pub error: Option<String>,
    /// The revision the node's proxy serves.
    pub proxy_revision: u64,
    /// Why the latest applied revision is not (wholly) served, when it is not.
    pub proxy_error: Option<String>,
}

impl StatusOut {
    pub fn from_proto(resp: &ClusterStatusResponse) -> Self {
        let members = resp
            .members
            .iter()
            .map(|m| MemberOut {
                id: m.id,
                addr: m.addr.clone(),
                role: m.role.clone(),
                voter: m.voter,
                leader: resp.leader_id == Some(m.id),
                term: m.term,
                revision: m.revision,
                state_hash: m.state_hash.clone(),
                leader_id: m.leader_id,
                last_log_index: m.last_log_index,
                applied_index: m.applied_index,
                reachable: m.reachable,
                error: (!m.reachable).then(|| m.error.clone()),
                proxy_revision: m.proxy_revision,
                proxy_error: (!m.proxy_error.is_empty()).then(|| m.proxy_error.clone()),
            })
            .collect();
        StatusOut {
            cluster_id: resp.cluster_id.clone(),
            leader_id: resp.leader_id,
            members,
        }
    }
}

/// The members table; the leader's id carries a `*`.
pub fn status_table(status: &StatusOut) -> String {
    let headers = [
        "ID",
        "ADDRESS",
        "ROLE",
        "TERM",
        "REVISION",
        "APPLIED",
        "STATE-HASH",
        "PROXY",
        "REACHABLE/ERROR",
    ];
    let rows: Vec<Vec<String>> = status
        .members
        .iter()
        .map(|m| {
            let id = if m.leader {
                format!("{}*", m.id)
            } else {
                m.id.to_string()
            };
            if !m.reachable {
                let error = crate::conn::squash(m.error.as_deref().unwrap_or(""));
                let dash = || "-".to_string();
                return vec![
                    id,
                    m.addr.clone(),
                    dash(),
                    dash(),
                    dash(),
                    dash(),
                    dash(),
                    dash(),
                    format!("no: {error}"),
                ];
            }
            vec![
                id,
                m.addr.clone(),
                if m.role.is_empty() {
                    "-".into()
                } else {
                    m.role.clone()
                },
                m.term.to_string(),
                m.revision.to_string(),
                m.applied_index.map_or("-".into(), |i| i.to_string()),
                m.state_hash.chars().take(12).collect(),
                m.proxy_revision.to_string(),
                match &m.proxy_error {
                    None => "yes".into(),
                    Some(e) => format!("yes; proxy: {}", crate::conn::squash(e)),
                },
            ]
        })
        .collect();
    table(&headers, &rows)
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MembershipOut {
    pub voters: Vec<u64>,
    pub learners: Vec<u64>,
    pub log_index: u64,
}

impl MembershipOut {
    pub fn from_proto(resp: &MembershipResponse) -> Self {
        MembershipOut {
            voters: resp.voters.clone(),
            learners: resp.learners.clone(),
            log_index: resp.log_index,
        }
    }

    /// `voters 1,2,3; learners -; log index 17`
    pub fn summary(&self) -> String {
        let ids = |v: &[u64]| {
            if v.is_empty() {
                "-".to_string()
            } else {
                v.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
            }
        };
        format!(
            "voters {}; learners {}; log index {}",
            ids(&self.voters),
            ids(&self.learners),
            self.log_index
        )
    }
}

/// One node's answer to `wait-applied`.
#[derive(Debug, Serialize)]
pub struct AppliedOut {
    pub endpoint: String,
    pub applied: Option<u64>,
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct WaitOut {
    pub revision: u64,
    pub nodes: Vec<AppliedOut>,
}

pub fn wait_table(out: &WaitOut) -> String {
    let rows: Vec<Vec<String>> = out
        .nodes
        .iter()
        .map(|n| {
            vec![
                n.endpoint.clone(),
                n.applied.map_or("-".into(), |r| r.to_string()),
                n.error.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    table(&["ENDPOINT", "APPLIED", "ERROR"], &rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Output;
    use crate::output::render;
    use serde_json::Value;

    #[test]
    fn status_table_marks_the_leader_and_shortens_the_hash() {
        let mut resp = ClusterStatusResponse {
            leader_id: Some(1),
            cluster_id: "c1".into(),
            ..Default::default()
        };
        // Members are built through the response's own field, whatever their type is named.
        resp.members.push(Default::default());
        let m = &mut resp.members[0];
        m.id = 1;
        m.addr = "http://n1:7001".into();
        m.role = "leader".into();
        m.term = 3;
        m.revision = 9;
        m.applied_index = Some(20);
        m.state_hash = "0123456789abcdef0123".into();
        m.reachable = true;
        m.voter = true;
        m.proxy_revision = 9;
        let mut down = m.clone();
        down.id = 2;
        down.addr = "http://n2:7001".into();
        down.reachable = false;
        down.error = "connection\nrefused".into();
        resp.members.push(down);
        let status = StatusOut::from_proto(&resp);
        assert_eq!(
            status_table(&status),
            "ID  ADDRESS         ROLE    TERM  REVISION  APPLIED  STATE-HASH    PROXY  REACHABLE/ERROR\n\
             1*  http://n1:7001  leader  3     9         20       0123456789ab  9      yes\n\
             2   http://n2:7001  -       -     -         -        -             -      no: connection refused\n"
        );
        let v: Value =
            serde_json::from_str(&render(Output::Json, &status, |_| unreachable!()).unwrap())
                .unwrap();
        assert_eq!(v["members"][0]["stateHash"], "0123456789abcdef0123");
        assert_eq!(v["members"][0]["leader"], true);
        assert_eq!(v["members"][0]["error"], Value::Null);
        assert_eq!(v["members"][1]["error"], "connection\nrefused");
        assert_eq!(v["leaderId"], 1);
        assert_eq!(v["members"][0]["proxyRevision"], 9);
        assert_eq!(v["members"][0]["proxyError"], Value::Null);
    }

    #[test]
    fn a_proxy_behind_its_revision_says_why() {
        let mut resp = ClusterStatusResponse::default();
        resp.members.push(Default::default());
        let m = &mut resp.members[0];
        (m.id, m.revision, m.proxy_revision, m.reachable) = (1, 9, 7, true);
        m.proxy_error = "revision 9 not served: router \"x\": boom".into();
        let table = status_table(&StatusOut::from_proto(&resp));
        assert!(
            table.ends_with("7      yes; proxy: revision 9 not served: router \"x\": boom\n"),
            "{table}"
        );
    }
}
