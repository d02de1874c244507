//! openraft's own storage conformance suite against the sled log store and state machine.

use std::sync::Arc;

use openraft::testing::{StoreBuilder, Suite};
use raftgate::cluster::types::{StorageError, TypeConfig};
use raftgate::ops::metrics::Metrics;
use raftgate::store::db::Db;
use raftgate::store::log_store::LogStore;
use raftgate::store::state_machine::StateMachineStore;

struct SledBuilder;

impl StoreBuilder<TypeConfig, LogStore, StateMachineStore, tempfile::TempDir> for SledBuilder {
    async fn build(
        &self,
    ) -> Result<(tempfile::TempDir, LogStore, StateMachineStore), StorageError> {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Db::open(dir.path(), 1).expect("open db");
        let log = LogStore::open(&db).expect("log store");
        let sm = StateMachineStore::open(&db, Arc::new(Metrics::new()))?;
        Ok((dir, log, sm))
    }
}

#[test]
#[allow(clippy::result_large_err)] // openraft's suite returns its own error type
fn sled_store_passes_the_openraft_suite() -> Result<(), StorageError> {
    Suite::test_all(SledBuilder)
}
