//! The node's data directory: one sled database holding the Raft log, the state machine
//! and the node's identity.
//!
//! The identity (node id, and the cluster id once known) is checked at start, so a data
//! directory is never used by the wrong node.

use std::path::{Path, PathBuf};

/// Why a data directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// sled failed to open or read the directory.
    #[error("data dir {path}: {source}")]
    Sled {
        /// The data directory.
        path: PathBuf,
        /// The sled error.
        source: sled::Error,
    },
    /// The directory belongs to another node.
    #[error("data dir {path} belongs to node {stored}, not node {requested}: start node {stored} with it, or use an empty data dir")]
    NodeIdMismatch {
        /// The data directory.
        path: PathBuf,
        /// Node id recorded in the directory.
        stored: u64,
        /// Node id given on the command line.
        requested: u64,
    },
}

/// An open data directory.
#[derive(Clone)]
pub struct Db {
    sled: sled::Db,
    path: PathBuf,
}

const NODE_ID: &[u8] = b"node_id";

impl Db {
    /// Opens (or creates) the data directory of node `node_id`, refusing a directory that
    /// belongs to another node.
    pub fn open(path: &Path, node_id: u64) -> Result<Self, DbError> {
        let sled_err = |source| DbError::Sled {
            path: path.to_path_buf(),
            source,
        };
        let sled = sled::Config::new()
            .path(path.join("sled"))
            .mode(sled::Mode::HighThroughput)
            // sled caches up to 1 GiB by default; the config state is small.
            .cache_capacity(64 << 20)
            .open()
            .map_err(sled_err)?;
        let identity = sled.open_tree("identity").map_err(sled_err)?;
        match identity.get(NODE_ID).map_err(sled_err)? {
            Some(raw) => {
                let stored = u64::from_be_bytes(raw.as_ref().try_into().unwrap_or([0; 8]));
                if stored != node_id {
                    return Err(DbError::NodeIdMismatch {
                        path: path.to_path_buf(),
                        stored,
                        requested: node_id,
                    });
                }
            }
            None => {
                identity
                    .insert(NODE_ID, &node_id.to_be_bytes())
                    .map_err(sled_err)?;
                sled.flush().map_err(sled_err)?;
            }
        }
        Ok(Self {
            sled,
            path: path.to_path_buf(),
        })
    }

    /// The sled database.
    pub fn sled(&self) -> &sled::Db {
        &self.sled
    }

    /// The data directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
