//! What runs where now: the current-state matrix and its change stamps.

use super::StoreError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// One cell of the current-state matrix: what runs in a pair, and the version that ran there
/// just before it (for the rollback mark). Leaner than [`DeploymentRecord`]: the matrix reads
/// thousands of these at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurrentStateRecord {
    pub application_id: Uuid,
    pub application_name: String,
    pub environment_id: Uuid,
    pub environment_name: String,
    pub deployment_id: Uuid,
    pub version_id: Uuid,
    pub version_identifier: String,
    pub version_created_at: DateTime<Utc>,
    pub deployment_date: DateTime<Utc>,
    pub deployed_by: Option<String>,
    /// (identifier, created_at) of the previous live deployment's version in this pair.
    pub previous_version: Option<(String, DateTime<Utc>)>,
}

/// Narrows a current-state read.
#[derive(Clone, Copy, Debug, Default)]
pub struct PairFilter {
    pub application_id: Option<Uuid>,
    pub environment_id: Option<Uuid>,
}

/// The matrix epoch and every pair row's revision (raised by each record or retraction into
/// it), read in one snapshot, in the pairs' key order; `pairs` names them when asked for.
/// Within one epoch pair rows are only ever added, so two reads of one epoch with as many
/// revisions list the same pairs in the same order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PairRevisions {
    pub epoch: i64,
    pub revisions: Vec<i64>,
    /// (application id, environment id) per revision; empty unless asked for.
    pub pairs: Vec<(Uuid, Uuid)>,
}

/// The pairs whose revision rose above a given one (see [`CurrentStateStore::pair_changes`]), with the
/// epoch and the stamp's sum read in the same snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairChanges {
    pub epoch: i64,
    pub revision_sum: i64,
    /// ((application id, environment id), revision), lowest revision first.
    pub changed: Vec<((Uuid, Uuid), i64)>,
}

/// Changes whenever anything the current-state matrix shows changes (a recorded or retracted
/// deployment, an application or environment edit), whichever server made the change: equal
/// stamps mean an equal matrix. (epoch, sum of pair revisions); see migration 0006. Neither part
/// ever falls without the epoch rising, so a later stamp compares greater.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct MatrixStamp {
    pub epoch: i64,
    pub revisions: i64,
}

/// The current state and what changed in it.
#[async_trait]
pub trait CurrentStateStore: Send + Sync {
    /// The current deployment of every active (application, environment) pair that has one, in
    /// matrix order (applications by name, environments in pipeline order).
    async fn current_states(
        &self,
        pairs: PairFilter,
    ) -> Result<Vec<CurrentStateRecord>, StoreError>;
    /// The stamp of the current state as of now (read before the state it is to vouch for).
    async fn matrix_stamp(&self) -> Result<MatrixStamp, StoreError>;
    /// The parts the stamp sums, per pair (see [`PairRevisions`]), so a kept matrix can read
    /// again only the pairs that changed; `with_pairs` also names the pairs.
    async fn pair_revisions(&self, with_pairs: bool) -> Result<PairRevisions, StoreError>;
    /// The pairs whose revision is above `above`, lowest revision first, at most `limit` of
    /// them: revisions are drawn from one rising counter, so a kept matrix that saw revisions up
    /// to `above` reads only what changed since. Fewer than `limit` listed means every such pair
    /// is listed; `limit` listed may mean more changed (so a caller that patches at most `n`
    /// pairs asks for `n + 1`). A change may commit out of counter order (PostgreSQL); the sum
    /// tells the caller so.
    async fn pair_changes(&self, above: i64, limit: usize) -> Result<PairChanges, StoreError>;
}
