//! The faults: what each scenario does to the cluster, and how it is healed.

use std::time::{Duration, Instant};

use raftgate_proto as pb;

use crate::cluster::{admin, wait_leader, Cluster, NodeId};

/// A fault scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// `kill -9` of the leader; restarted on its data dir when healed.
    KillLeader,
    /// `kill -9` of a follower; restarted when healed.
    KillFollower,
    /// SIGSTOP of the leader, SIGCONT when healed: it must not commit on resume.
    PauseLeader,
    /// The leader cut off from both followers (a minority of one).
    IsolateLeader,
    /// A symmetric 2/1 split with a follower alone.
    SplitTwoOne,
    /// An asymmetric link: the leader's messages to a follower vanish, the follower's to the
    /// leader arrive.
    AsymmetricLink,
    /// `kill -9` of the leader and an immediate restart on its data dir.
    RestartNode,
    /// A fourth node joins (learner, then voter) and is removed again, while writes run.
    JoinRemove,
}

impl Scenario {
    /// Every scenario.
    pub const ALL: [Scenario; 8] = [
        Scenario::KillLeader,
        Scenario::KillFollower,
        Scenario::PauseLeader,
        Scenario::IsolateLeader,
        Scenario::SplitTwoOne,
        Scenario::AsymmetricLink,
        Scenario::RestartNode,
        Scenario::JoinRemove,
    ];

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::KillLeader => "kill-leader",
            Scenario::KillFollower => "kill-follower",
            Scenario::PauseLeader => "pause-leader",
            Scenario::IsolateLeader => "isolate-leader",
            Scenario::SplitTwoOne => "split-two-one",
            Scenario::AsymmetricLink => "asymmetric-link",
            Scenario::RestartNode => "restart-node",
            Scenario::JoinRemove => "join-remove",
        }
    }
}

/// What an injected fault did.
#[derive(Debug, Clone)]
pub struct Injected {
    /// The node the fault targets.
    pub target: NodeId,
    /// Nodes whose proxy may fail (killed or paused); every other node must keep serving.
    pub faulted: Vec<NodeId>,
    /// For faults that take the leader away: the nodes among which a new one must appear.
    pub watch_leader: Option<Vec<NodeId>>,
    /// The members once healed.
    pub members_after: Vec<NodeId>,
}

/// Injects `scenario`'s fault; `leader` leads when it starts.
pub async fn inject<C: Cluster>(
    cluster: &mut C,
    scenario: Scenario,
    leader: NodeId,
) -> anyhow::Result<Injected> {
    let all = cluster.ids();
    let others: Vec<NodeId> = all.iter().copied().filter(|i| *i != leader).collect();
    let follower = others[0];
    let mut injected = Injected {
        target: leader,
        faulted: Vec::new(),
        watch_leader: None,
        members_after: all.clone(),
    };
    match scenario {
        Scenario::KillLeader => {
            cluster.kill(leader)?;
            injected.faulted = vec![leader];
            injected.watch_leader = Some(others);
        }
        Scenario::RestartNode => {
            // The restarted node may well lead again: no "new leader" figure here.
            cluster.kill(leader)?;
            cluster.restart(leader)?;
            injected.faulted = vec![leader];
        }
        Scenario::KillFollower => {
            cluster.kill(follower)?;
            injected.target = follower;
            injected.faulted = vec![follower];
        }
        Scenario::PauseLeader => {
            cluster.pause(leader)?;
            injected.faulted = vec![leader];
            injected.watch_leader = Some(others);
        }
        Scenario::IsolateLeader => {
            cluster.isolate(leader)?;
            if cluster.cuts_clients_off() {
                injected.faulted = vec![leader];
            }
            injected.watch_leader = Some(others);
        }
        Scenario::SplitTwoOne => {
            let majority: Vec<NodeId> = all.iter().copied().filter(|i| *i != follower).collect();
            cluster.partition(&[&[follower], &majority])?;
            injected.target = follower;
            if cluster.cuts_clients_off() {
                injected.faulted = vec![follower];
            }
        }
        Scenario::AsymmetricLink => {
            if !cluster.drop_one_way(leader, follower)? {
                anyhow::bail!("this cluster backend cannot make an asymmetric link");
            }
            injected.target = follower;
        }
        Scenario::JoinRemove => {
            let new_id = all.iter().max().copied().unwrap_or(0) + 1;
            if !cluster.add_node(new_id, &all)? {
                anyhow::bail!("this cluster backend cannot add a node");
            }
            injected.target = new_id;
            membership(cluster, leader, |mut c| async move {
                c.add_node(pb::AddNodeRequest {
                    id: new_id,
                    addr: String::new(),
                    learner_only: false,
                })
                .await
                .map(drop)
            })
            .await
            .or_else(|_| Ok::<_, anyhow::Error>(()))?;
        }
    }
    Ok(injected)
}

/// Heals the fault `injected` describes.
pub async fn heal<C: Cluster>(
    cluster: &mut C,
    scenario: Scenario,
    injected: &Injected,
) -> anyhow::Result<()> {
    match scenario {
        Scenario::KillLeader | Scenario::KillFollower => cluster.restart(injected.target)?,
        Scenario::PauseLeader => cluster.resume(injected.target)?,
        Scenario::IsolateLeader | Scenario::SplitTwoOne | Scenario::AsymmetricLink => {
            cluster.heal()?
        }
        Scenario::RestartNode => {}
        Scenario::JoinRemove => {
            let id = injected.target;
            let members = injected.members_after.clone();
            let (leader, _) = wait_leader(cluster, &members, Duration::from_secs(10))
                .await
                .ok_or_else(|| anyhow::anyhow!("no leader to remove node {id}"))?;
            membership(cluster, leader, |mut c| async move {
                c.remove_node(pb::RemoveNodeRequest { id }).await.map(drop)
            })
            .await?;
            cluster.kill(id)?;
        }
    }
    Ok(())
}

/// Runs a membership change through `leader`, retrying while one is in progress.
async fn membership<C: Cluster, F, Fut>(cluster: &C, leader: NodeId, call: F) -> anyhow::Result<()>
where
    F: Fn(raftgate_proto::admin_client::AdminClient<tonic::transport::Channel>) -> Fut,
    Fut: std::future::Future<Output = Result<(), tonic::Status>>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match call(admin(&cluster.url(leader))?).await {
            Ok(()) => return Ok(()),
            Err(e) if Instant::now() > deadline => anyhow::bail!("membership change: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}
