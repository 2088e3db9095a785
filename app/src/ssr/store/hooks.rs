//! Inbound CI hooks (GitHub, GitLab) and the deliveries they received.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{AuditRecord, StoreError};
use crate::model::HookDelivery;

/// A hook as stored: with what checks its deliveries (never sent to a client).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookRecord {
    pub id: Uuid,
    pub provider: String,
    pub name: String,
    /// GitHub only: the HMAC key itself (a signature cannot be checked against a hash).
    pub signing_secret: Option<String>,
    /// SHA-256 of the secret (GitLab sends the secret itself).
    pub secret_hash: String,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
}

/// Inbound hooks and their deliveries.
#[async_trait]
pub trait HookStore: Send + Sync {
    async fn insert_hook(&self, hook: &HookRecord, audit: &[AuditRecord])
        -> Result<(), StoreError>;
    /// All hooks, or those of one provider, oldest first.
    async fn list_hooks(&self, provider: Option<&str>) -> Result<Vec<HookRecord>, StoreError>;
    /// Deletes the hook and its deliveries.
    async fn delete_hook(&self, id: Uuid, audit: &[AuditRecord]) -> Result<(), StoreError>;
    /// Keeps the delivery and prunes the hook's to the newest `DELIVERIES_KEPT`; false (and
    /// nothing kept) when the hook already has one with this delivery id.
    async fn insert_delivery(&self, delivery: &HookDelivery) -> Result<bool, StoreError>;
    /// The hook's delivery with this provider id, if kept.
    async fn find_delivery(
        &self,
        hook_id: Uuid,
        delivery_id: &str,
    ) -> Result<Option<HookDelivery>, StoreError>;
    /// The hook's kept deliveries, newest first.
    async fn list_deliveries(&self, hook_id: Uuid) -> Result<Vec<HookDelivery>, StoreError>;
}
