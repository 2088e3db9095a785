//! Badge keys (only hashes of their secrets), and saved views: what people keep to come back to.

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

/// Saved views (a person's own, and shared ones).
#[async_trait]
pub trait ViewStore: Send + Sync {
    async fn insert_view(
        &self,
        view: &crate::model::SavedView,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;
    /// Shared views and `user_id`'s own: shared first, then by name.
    async fn list_views(&self, user_id: Uuid) -> Result<Vec<crate::model::SavedView>, StoreError>;
    async fn get_view(&self, id: Uuid) -> Result<crate::model::SavedView, StoreError>;
    async fn delete_view(&self, id: Uuid, audit: &[AuditRecord]) -> Result<(), StoreError>;
}
