//! The Raft state machine on sled: applies committed entries to the [`ConfigState`],
//! persists it, builds and installs snapshots, and publishes every applied state.
//!
//! Persistence: each `apply` call writes its changes and the applied log id in ONE sled
//! batch, so the stored state is always the state after some prefix of the log. It is not
//! fsynced on its own: the log is durable, and openraft replays what the state machine lost
//! (`save_committed` tells it how far). Snapshots are fsynced before they are reported built.
//!
//! Publication: after each `apply`, the new state goes out on a `watch` channel as an
//! `Arc<AppliedState>` (O(1) thanks to persistent maps) and each change on a `broadcast`
//! channel for `watch` streams. The data plane and the admin reads only ever see these
//! immutable snapshots.

// openraft's trait signatures fix the (large) error types used here.
#![allow(clippy::result_large_err)]

use std::io::Cursor;
use std::sync::Arc;

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder, StorageIOError};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, watch};

use super::command::{CommandResponse, ObjectKey};
use super::db::Db;
use super::state::{Change, ConfigState, StoredObject};
use crate::cluster::types::{
    Entry, LogId, SnapshotMeta, StorageError, StoredMembership, TypeConfig,
};
use crate::ops::metrics::Metrics;

/// How many revisions of change history each node keeps for `watch`.
const HISTORY_KEEP: u64 = 10_000;

const META_REVISION: &[u8] = b"m/revision";
const META_CLUSTER_ID: &[u8] = b"m/cluster_id";
const META_EVER_MEMBERS: &[u8] = b"m/ever_members";
const META_LAST_APPLIED: &[u8] = b"m/last_applied";
const META_MEMBERSHIP: &[u8] = b"m/membership";
const OBJECT_PREFIX: &[u8] = b"o/";

const SNAPSHOT_META: &[u8] = b"meta";
const SNAPSHOT_DATA: &[u8] = b"data";

/// The state a node has applied: what every reader of the config sees.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AppliedState {
    /// The config.
    pub config: ConfigState,
    /// The last log id applied.
    pub last_applied: Option<LogId>,
    /// The last membership applied.
    pub membership: StoredMembership,
    /// The config's hash, computed on first use (each published state is immutable).
    #[serde(skip)]
    hash: std::sync::OnceLock<String>,
}

impl AppliedState {
    /// Hex SHA-256 of the config (see [`ConfigState::hash`]), computed once per state.
    pub fn state_hash(&self) -> &str {
        self.hash.get_or_init(|| self.config.hash())
    }
}

/// The sled-backed state machine.
pub struct StateMachineStore {
    db: sled::Db,
    tree: sled::Tree,
    snapshots: sled::Tree,
    history: sled::Tree,
    current: AppliedState,
    snapshot_seq: u64,
    publish: watch::Sender<Arc<AppliedState>>,
    changes: broadcast::Sender<Arc<Change>>,
    metrics: Arc<Metrics>,
}

fn object_key(key: &ObjectKey) -> Vec<u8> {
    let mut k = OBJECT_PREFIX.to_vec();
    k.extend_from_slice(key.kind.to_string().as_bytes());
    k.push(b'/');
    k.extend_from_slice(key.name.as_bytes());
    k
}

fn json<T: Serialize>(value: &T) -> Result<Vec<u8>, StorageError> {
    serde_json::to_vec(value).map_err(|e| StorageIOError::write_state_machine(&e).into())
}

fn read_err(e: impl std::error::Error + 'static) -> StorageError {
    StorageIOError::read_state_machine(&e).into()
}

fn write_err(e: impl std::error::Error + 'static) -> StorageError {
    StorageIOError::write_state_machine(&e).into()
}

impl StateMachineStore {
    /// Opens the state machine of `db`, loading the state it persisted.
    pub fn open(db: &Db, metrics: Arc<Metrics>) -> Result<Self, StorageError> {
        let sled = db.sled().clone();
        let tree = sled.open_tree("state").map_err(read_err)?;
        let snapshots = sled.open_tree("snapshot").map_err(read_err)?;
        let history = sled.open_tree("history").map_err(read_err)?;
        let current = load_state(&tree)?;
        let (publish, _) = watch::channel(Arc::new(current.clone()));
        let (changes, _) = broadcast::channel(4096);
        Ok(Self {
            db: sled,
            tree,
            snapshots,
            history,
            current,
            snapshot_seq: 0,
            publish,
            changes,
            metrics,
        })
    }

    /// A receiver of every applied state (starts with the current one).
    pub fn subscribe(&self) -> watch::Receiver<Arc<AppliedState>> {
        self.publish.subscribe()
    }

    /// The sender of changes, to subscribe `watch` streams.
    pub fn changes(&self) -> broadcast::Sender<Arc<Change>> {
        self.changes.clone()
    }

    /// The change-history tree (revision → changes), for `watch` from a past revision.
    pub fn history(&self) -> History {
        History {
            tree: self.history.clone(),
        }
    }

    fn publish(&self) {
        let mut state = self.current.clone();
        state.hash = std::sync::OnceLock::new();
        self.publish.send_replace(Arc::new(state));
    }

    fn persist_all(&self, batch: &mut sled::Batch) -> Result<(), StorageError> {
        let c = &self.current;
        batch.insert(META_REVISION, json(&c.config.revision)?);
        batch.insert(META_CLUSTER_ID, json(&c.config.cluster_id)?);
        batch.insert(META_EVER_MEMBERS, json(&c.config.ever_members)?);
        batch.insert(META_LAST_APPLIED, json(&c.last_applied)?);
        batch.insert(META_MEMBERSHIP, json(&c.membership)?);
        Ok(())
    }
}

fn load_state(tree: &sled::Tree) -> Result<AppliedState, StorageError> {
    fn get<T: for<'de> Deserialize<'de> + Default>(
        tree: &sled::Tree,
        key: &[u8],
    ) -> Result<T, StorageError> {
        match tree.get(key).map_err(read_err)? {
            Some(raw) => serde_json::from_slice(&raw).map_err(read_err),
            None => Ok(T::default()),
        }
    }
    let mut state = AppliedState {
        last_applied: get(tree, META_LAST_APPLIED)?,
        membership: get(tree, META_MEMBERSHIP)?,
        ..Default::default()
    };
    state.config.revision = get(tree, META_REVISION)?;
    state.config.cluster_id = get(tree, META_CLUSTER_ID)?;
    state.config.ever_members = get(tree, META_EVER_MEMBERS)?;
    for item in tree.scan_prefix(OBJECT_PREFIX) {
        let (_, raw) = item.map_err(read_err)?;
        let (key, object): (ObjectKey, StoredObject) =
            serde_json::from_slice(&raw).map_err(read_err)?;
        state.config.objects.insert(key, object);
    }
    Ok(state)
}

/// Read access to the retained change history.
#[derive(Clone)]
pub struct History {
    tree: sled::Tree,
}

impl History {
    /// Changes with a revision greater than `after` up to `current`, oldest first;
    /// `Err(oldest)` when the history no longer reaches back to `after + 1`.
    pub fn since(&self, after: u64, current: u64) -> Result<Vec<Change>, u64> {
        if after >= current {
            return Ok(Vec::new());
        }
        let oldest = self
            .tree
            .first()
            .ok()
            .flatten()
            .map(|(k, _)| u64::from_be_bytes(k.as_ref().try_into().unwrap_or([0; 8])));
        match oldest {
            Some(oldest) if oldest <= after + 1 => {}
            other => return Err(other.unwrap_or(current + 1)),
        }
        let mut out = Vec::new();
        for (_, raw) in self.tree.range((after + 1).to_be_bytes()..).flatten() {
            if let Ok(changes) = serde_json::from_slice::<Vec<Change>>(&raw) {
                out.extend(changes);
            }
        }
        Ok(out)
    }
}

fn store_snapshot(tree: &sled::Tree, meta: &SnapshotMeta, data: &[u8]) -> Result<(), StorageError> {
    let mut batch = sled::Batch::default();
    batch.insert(SNAPSHOT_META, json(meta)?);
    batch.insert(SNAPSHOT_DATA, data);
    tree.apply_batch(batch).map_err(write_err)
}

impl RaftStateMachine<TypeConfig> for StateMachineStore {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        Ok((self.current.last_applied, self.current.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<CommandResponse>, StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut batch = sled::Batch::default();
        let mut responses = Vec::new();
        let mut applied_changes: Vec<Change> = Vec::new();
        for entry in entries {
            self.current.last_applied = Some(entry.log_id);
            let result = match entry.payload {
                EntryPayload::Blank => Ok(self.current.config.revision),
                EntryPayload::Membership(m) => {
                    self.current
                        .config
                        .note_members(m.nodes().map(|(id, _)| *id));
                    self.current.membership = StoredMembership::new(Some(entry.log_id), m);
                    Ok(self.current.config.revision)
                }
                EntryPayload::Normal(cmd) => match self.current.config.apply(&cmd) {
                    Ok(changes) => {
                        applied_changes.extend(changes);
                        Ok(self.current.config.revision)
                    }
                    Err(e) => Err(e),
                },
            };
            responses.push(CommandResponse { result });
        }
        for change in &applied_changes {
            let key = object_key(&change.key);
            match &change.object {
                Some(object) => batch.insert(key, json(&(&change.key, object))?),
                None => batch.remove(key),
            }
        }
        self.persist_all(&mut batch)?;
        self.tree.apply_batch(batch).map_err(write_err)?;
        self.record_history(&applied_changes)?;
        self.publish();
        for change in applied_changes {
            // No receiver is fine: nobody is watching.
            let _ = self.changes.send(Arc::new(change));
        }
        Ok(responses)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        SnapshotBuilder {
            state: self.current.clone(),
            snapshots: self.snapshots.clone(),
            db: self.db.clone(),
            metrics: self.metrics.clone(),
            seq: {
                self.snapshot_seq += 1;
                self.snapshot_seq
            },
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        let data = snapshot.into_inner();
        let state: AppliedState = serde_json::from_slice(&data).map_err(read_err)?;
        let mut batch = sled::Batch::default();
        for key in self.tree.iter().keys() {
            batch.remove(key.map_err(read_err)?);
        }
        for (key, object) in &state.config.objects {
            batch.insert(object_key(key), json(&(key, object))?);
        }
        self.current = AppliedState {
            config: state.config,
            last_applied: meta.last_log_id,
            membership: meta.last_membership.clone(),
            hash: Default::default(),
        };
        self.persist_all(&mut batch)?;
        self.tree.apply_batch(batch).map_err(write_err)?;
        store_snapshot(&self.snapshots, meta, &data)?;
        self.history.clear().map_err(write_err)?;
        self.db.flush_async().await.map_err(write_err)?;
        self.metrics.snapshots_installed.inc();
        tracing::info!(snapshot = %meta.snapshot_id, revision = self.current.config.revision, "installed snapshot");
        self.publish();
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        let meta = self.snapshots.get(SNAPSHOT_META).map_err(read_err)?;
        let data = self.snapshots.get(SNAPSHOT_DATA).map_err(read_err)?;
        match (meta, data) {
            (Some(meta), Some(data)) => Ok(Some(Snapshot {
                meta: serde_json::from_slice(&meta).map_err(read_err)?,
                snapshot: Box::new(Cursor::new(data.to_vec())),
            })),
            _ => Ok(None),
        }
    }
}

impl StateMachineStore {
    fn record_history(&self, changes: &[Change]) -> Result<(), StorageError> {
        let Some(last) = changes.last() else {
            return Ok(());
        };
        let revision = last.revision;
        self.history
            .insert(revision.to_be_bytes(), json(&changes)?)
            .map_err(write_err)?;
        if revision > HISTORY_KEEP {
            let cutoff = (revision - HISTORY_KEEP).to_be_bytes();
            while let Some((k, _)) = self.history.first().map_err(read_err)? {
                if k.as_ref() >= cutoff.as_slice() {
                    break;
                }
                self.history.remove(k).map_err(write_err)?;
            }
        }
        Ok(())
    }
}

/// Builds a snapshot of the state captured when openraft asked for a builder, while the
/// state machine goes on applying.
pub struct SnapshotBuilder {
    state: AppliedState,
    snapshots: sled::Tree,
    db: sled::Db,
    metrics: Arc<Metrics>,
    seq: u64,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        let data = json(&self.state)?;
        let last = self.state.last_applied;
        let meta = SnapshotMeta {
            last_log_id: last,
            last_membership: self.state.membership.clone(),
            snapshot_id: format!(
                "{}-{}-{}",
                last.map_or(0, |l| l.leader_id.term),
                last.map_or(0, |l| l.index),
                self.seq
            ),
        };
        store_snapshot(&self.snapshots, &meta, &data)?;
        self.db.flush_async().await.map_err(write_err)?;
        self.metrics.snapshots_built.inc();
        tracing::info!(snapshot = %meta.snapshot_id, bytes = data.len(), "built snapshot");
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}
