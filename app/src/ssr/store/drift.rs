//! Drift policies, the open breaches already announced, and the digests already sent.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{AuditRecord, StoreError};
use crate::model::WebhookDelivery;

/// An environment's drift policy as stored: the lag in whole seconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DriftPolicyRecord {
    pub environment_id: Uuid,
    pub compared_to: Uuid,
    pub max_lag_seconds: Option<i64>,
    pub max_versions_behind: Option<i32>,
    pub updated_at: DateTime<Utc>,
}

/// A breach as stored: open until `resolved_at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DriftBreachRecord {
    pub id: Uuid,
    pub environment_id: Uuid,
    pub application_id: Uuid,
    pub compared_to: Uuid,
    pub behind_since: DateTime<Utc>,
    pub versions_behind: i32,
    pub breached_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

#[async_trait]
pub trait DriftStore: Send + Sync {
    /// Creates or replaces the environment's policy.
    async fn put_drift_policy(
        &self,
        policy: &DriftPolicyRecord,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;
    /// `NotFound` when the environment has none.
    async fn delete_drift_policy(
        &self,
        environment_id: Uuid,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;
    async fn list_drift_policies(&self) -> Result<Vec<DriftPolicyRecord>, StoreError>;
    /// Breaches not yet resolved, oldest first.
    async fn open_drift_breaches(&self) -> Result<Vec<DriftBreachRecord>, StoreError>;
    /// Opens the breach and queues `outbox` with it, unless its pair already has one open
    /// (then nothing is written and the answer is false): once however many instances try.
    async fn open_drift_breach(
        &self,
        breach: &DriftBreachRecord,
        outbox: &[WebhookDelivery],
    ) -> Result<bool, StoreError>;
    /// Resolves the open breach and queues `outbox` with it, unless it is already resolved.
    async fn resolve_drift_breach(
        &self,
        id: Uuid,
        at: DateTime<Utc>,
        outbox: &[WebhookDelivery],
    ) -> Result<bool, StoreError>;
    /// Keeps an open breach's figures current (no announcement).
    async fn refresh_drift_breach(
        &self,
        id: Uuid,
        behind_since: DateTime<Utc>,
        versions_behind: i32,
    ) -> Result<(), StoreError>;
    /// Marks the digest of `team_key` for local `day` as sent and queues `outbox` with it,
    /// unless it was sent already.
    async fn mark_drift_digest(
        &self,
        team_key: &str,
        day: &str,
        at: DateTime<Utc>,
        outbox: &[WebhookDelivery],
    ) -> Result<bool, StoreError>;
}
