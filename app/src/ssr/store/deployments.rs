//! The deployment history: recording (with idempotency keys and bulk import), reading,
//! counting and retracting.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{AuditRecord, StoreError};
use crate::model::{Application, DeploymentFilter, Version, WebhookDelivery};

/// A deployment to insert (validated by the service).
#[derive(Clone, Debug)]
pub struct NewDeployment {
    pub id: Uuid,
    pub application_id: Uuid,
    pub version_id: Uuid,
    pub environment_id: Uuid,
    pub deployment_date: DateTime<Utc>,
    pub deployed_by: Option<String>,
    pub notes: Option<String>,
    pub created_at: DateTime<Utc>,
    /// What blocked it, when the policy did (stored with it).
    pub policy: Option<super::PolicyViolationRecord>,
}

/// How a record names its application or its version.
#[derive(Clone, Copy, Debug)]
pub enum Named<'a> {
    Id(Uuid),
    /// An application's name (equal but for case), or a version's identifier within the
    /// application.
    Name(&'a str),
}

/// What a record names, read together: the application, the version (by id whichever
/// application it belongs to, by identifier only within the application), and the version that
/// ran in the pair at the record's date (for the answer's rollback mark).
#[derive(Clone, Debug, Default)]
pub struct RecordTargets {
    pub application: Option<Application>,
    pub version: Option<Version>,
    /// (identifier, created_at) of the version of the latest live deployment in the pair
    /// dated at or before the record's date.
    pub previous_version: Option<(String, DateTime<Utc>)>,
}

/// An `Idempotency-Key` to take in the same transaction as a deployment.
#[derive(Clone, Debug)]
pub struct IdempotencyClaim {
    pub user_id: Uuid,
    pub key: String,
    /// SHA-256 of the request as understood, so a reuse with another body is recognised.
    pub request_hash: String,
    pub created_at: DateTime<Utc>,
    /// Keys taken before this instant no longer count (and are pruned).
    pub expired_before: DateTime<Utc>,
}

/// What an earlier request with the same idempotency key recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub request_hash: String,
    pub deployment_id: Uuid,
}

/// The outcome of `insert_deployment`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inserted {
    Recorded,
    /// The idempotency key was already taken (perhaps by a concurrent request that committed
    /// first); nothing was inserted.
    KeyTaken(IdempotencyRecord),
}

/// A deployment row with the names it refers to, and the version that was current in the same
/// environment just before it (for rollback detection).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeploymentRecord {
    pub id: Uuid,
    pub application_id: Uuid,
    pub application_name: String,
    pub version_id: Uuid,
    pub version_identifier: String,
    pub version_created_at: DateTime<Utc>,
    pub environment_id: Uuid,
    pub environment_name: String,
    pub deployment_date: DateTime<Utc>,
    pub deployed_by: Option<String>,
    pub notes: Option<String>,
    pub created_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub deleted_by: Option<String>,
    pub delete_reason: Option<String>,
    /// JSON array of what blocked it when recorded.
    pub policy_violations: Option<String>,
    pub override_reason: Option<String>,
    /// (identifier, created_at) of the previous live deployment's version in this pair.
    pub previous_version: Option<(String, DateTime<Utc>)>,
}

/// A position in the history order (deploymentDate, createdAt, id — descending).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoryKey {
    pub deployment_date: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

/// Recording deployments: one at a time (with the pair's current state and an idempotency
/// key in the same transaction), or in bulk.
#[async_trait]
pub trait DeploymentStore: Send + Sync {
    /// The application and version a record names, and what ran in the pair (environment id,
    /// date) before it when `pair_at` is given, in one query. Nothing found is `Default`'s
    /// `None`s, never an error.
    async fn find_record_targets(
        &self,
        application: Named<'_>,
        version: Option<Named<'_>>,
        pair_at: Option<(Uuid, DateTime<Utc>)>,
    ) -> Result<RecordTargets, StoreError>;
    /// Inserts the deployment and, in the same transaction, makes it the pair's current one if
    /// it is the latest by (deploymentDate, createdAt, id). With `new_version`, registers that
    /// version first (or, when the application already has its identifier, deploys that one);
    /// with `claim`, takes the idempotency key too, or inserts nothing if it is taken.
    async fn insert_deployment(
        &self,
        deployment: &NewDeployment,
        new_version: Option<&Version>,
        claim: Option<&IdempotencyClaim>,
        audit: &[AuditRecord],
        outbox: &[WebhookDelivery],
    ) -> Result<Inserted, StoreError>;
    /// What the key recorded, if it was taken at or after `since`.
    async fn find_idempotency_key(
        &self,
        user_id: Uuid,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;
    /// Bulk import: inserts many deployments in one transaction *without* touching the current
    /// state; call `rebuild_current_deployments` afterwards.
    async fn insert_deployments_bulk(
        &self,
        deployments: &[NewDeployment],
    ) -> Result<(), StoreError>;
    /// Recomputes the whole current-state table from history.
    async fn rebuild_current_deployments(&self) -> Result<(), StoreError>;
}

/// The recorded history: read, filtered, counted, and retracted (a mark, never a deletion).
#[async_trait]
pub trait HistoryStore: Send + Sync {
    async fn get_deployment(&self, id: Uuid) -> Result<DeploymentRecord, StoreError>;
    /// History in order, strictly after `after`, at most `limit` rows.
    async fn list_deployments(
        &self,
        filter: &DeploymentFilter,
        after: Option<HistoryKey>,
        limit: i64,
    ) -> Result<Vec<DeploymentRecord>, StoreError>;
    /// Sets the deleted_* columns once and recomputes the pair's current deployment.
    /// `Conflict("id")` when it was already retracted.
    async fn retract_deployment(
        &self,
        id: Uuid,
        deleted_at: DateTime<Utc>,
        deleted_by: &str,
        reason: &str,
        audit: &[AuditRecord],
        outbox: &[WebhookDelivery],
    ) -> Result<(), StoreError>;
    /// Live deployments dated in [from, to).
    async fn count_deployments_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<i64, StoreError>;
    /// Live deployments per environment id.
    async fn count_deployments_per_environment(&self) -> Result<Vec<(Uuid, i64)>, StoreError>;
}
