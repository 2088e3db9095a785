//! Deploy policy: freezes (and their early ends and announced occurrences), locks, promotion
//! rules, and what the promotion check reads from history.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{AuditRecord, DeploymentRecord, StoreError};
use crate::model::{Lock, WebhookDelivery};

/// A freeze as stored (id lists comma-separated; see migration 0015/0017).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FreezeRecord {
    pub id: Uuid,
    pub name: String,
    pub reason: Option<String>,
    pub environment_ids: Option<String>,
    pub application_ids: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    pub rrule: Option<String>,
    pub duration: Option<String>,
    pub time_zone: String,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
}

/// An occurrence ended early.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FreezeEndRecord {
    pub freeze_id: Uuid,
    pub occurrence_start: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    pub ended_by: String,
    pub reason: String,
}

/// One required environment of a promotion rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PromotionRequirementRecord {
    pub environment_id: Uuid,
    pub required_environment_id: Uuid,
    pub min_soak: String,
}

/// How a version ran in one environment, as of an instant: its latest live deployment there
/// and the live deployment that replaced it (if any), or when its last deployment there was
/// retracted.
#[derive(Clone, Debug)]
pub struct SoakRecord {
    pub deployed_at: Option<DateTime<Utc>>,
    pub replaced_by: Option<DeploymentRecord>,
    pub retracted_at: Option<DateTime<Utc>>,
}

/// What a deployment recorded while blocked carries (inserted with it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyViolationRecord {
    /// JSON array of blockers.
    pub violations: String,
    pub override_reason: Option<String>,
}

#[async_trait]
pub trait PolicyStore: Send + Sync {
    async fn insert_freeze(
        &self,
        freeze: &FreezeRecord,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;
    async fn list_freezes(&self) -> Result<Vec<FreezeRecord>, StoreError>;
    /// Moves whenever freezes, their ends, locks, promotion rules, environments or webhooks
    /// change, through any server (migration `settings_epoch`): what a server read after
    /// reading an epoch is still current while the epoch is the same.
    async fn settings_epoch(&self) -> Result<i64, StoreError>;
    async fn delete_freeze(&self, id: Uuid, audit: &[AuditRecord]) -> Result<(), StoreError>;
    /// Every early end, of every freeze.
    async fn list_freeze_ends(&self) -> Result<Vec<FreezeEndRecord>, StoreError>;
    /// Ends an occurrence early and announces it (`freeze.ended`, marked as announced so the
    /// scheduled end says nothing). Conflict when it was already ended.
    async fn end_freeze_occurrence(
        &self,
        end: &FreezeEndRecord,
        audit: &[AuditRecord],
        outbox: &[WebhookDelivery],
    ) -> Result<(), StoreError>;
    /// Marks `event` of the occurrence as announced and queues `outbox` with it, unless some
    /// instance did so before: true when this call did.
    async fn announce_freeze_event(
        &self,
        freeze_id: Uuid,
        occurrence_start: DateTime<Utc>,
        event: &str,
        at: DateTime<Utc>,
        outbox: &[WebhookDelivery],
    ) -> Result<bool, StoreError>;

    /// Conflict("lock") when the scope already has an open lock.
    async fn insert_lock(
        &self,
        lock: &Lock,
        audit: &[AuditRecord],
        outbox: &[WebhookDelivery],
    ) -> Result<(), StoreError>;
    /// Releases an open lock; NotFound when there is no open lock with this id.
    async fn release_lock(
        &self,
        id: Uuid,
        released_by: &str,
        at: DateTime<Utc>,
        audit: &[AuditRecord],
        outbox: &[WebhookDelivery],
    ) -> Result<(), StoreError>;
    async fn get_lock(&self, id: Uuid) -> Result<Lock, StoreError>;
    /// Open locks, and (with `since`) those released after it.
    async fn list_locks(&self, since: Option<DateTime<Utc>>) -> Result<Vec<Lock>, StoreError>;
    /// The open lock of a scope (environment, optional application), to name its holder.
    async fn open_lock_of_scope(
        &self,
        environment_id: Uuid,
        application_id: Option<Uuid>,
    ) -> Result<Option<Lock>, StoreError>;
    /// Every lock ever taken, open or released, oldest first: at most `limit`.
    async fn list_every_lock(&self, limit: i64) -> Result<Vec<Lock>, StoreError>;
    /// Locks that held at `at` in the environment (for it or for the application).
    async fn locks_at(
        &self,
        environment_id: Uuid,
        application_id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<Vec<Lock>, StoreError>;

    /// Replaces an environment's promotion rule (an empty list removes it).
    async fn put_promotion_rule(
        &self,
        environment_id: Uuid,
        requires: &[PromotionRequirementRecord],
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;
    async fn list_promotion_requirements(
        &self,
    ) -> Result<Vec<PromotionRequirementRecord>, StoreError>;
    /// How `version_id` of `application_id` ran in `environment_id` up to `at`.
    async fn soak(
        &self,
        application_id: Uuid,
        version_id: Uuid,
        environment_id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<SoakRecord, StoreError>;
    /// Current deployments that were recorded through a blocker.
    async fn current_violating_deployments(&self) -> Result<Vec<Uuid>, StoreError>;
}
