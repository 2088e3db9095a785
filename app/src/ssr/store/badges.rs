//! Badge keys (only hashes of their secrets).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{AuditRecord, StoreError};
use crate::model::BadgeKey;

#[async_trait]
pub trait BadgeStore: Send + Sync {
    async fn insert_badge_key(
        &self,
        key: &BadgeKey,
        secret_hash: &str,
        created_by: Uuid,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;
    /// Every badge key, newest first.
    async fn list_badge_keys(&self) -> Result<Vec<BadgeKey>, StoreError>;
    async fn get_badge_key(&self, id: Uuid) -> Result<BadgeKey, StoreError>;
    async fn find_badge_key(&self, secret_hash: &str) -> Result<BadgeKey, StoreError>;
    /// Revokes a live key (and audits it); `NotFound` when there is no such key.
    async fn revoke_badge_key(
        &self,
        id: Uuid,
        at: DateTime<Utc>,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;
}
