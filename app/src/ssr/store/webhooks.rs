//! Outbound webhooks and their delivery outbox.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{AuditRecord, StoreError};
use crate::model::WebhookDelivery;

/// A webhook target as stored: with its signing key (never sent to a client again).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookRecord {
    pub id: Uuid,
    pub url: String,
    /// Comma-separated event names.
    pub events: String,
    /// Comma-separated environment ids, or every environment.
    pub environment_ids: Option<String>,
    pub format: String,
    pub signing_secret: String,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
}

/// Outbound webhooks and their outbox.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    async fn insert_webhook(
        &self,
        webhook: &WebhookRecord,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;
    async fn list_webhooks(&self) -> Result<Vec<WebhookRecord>, StoreError>;
    async fn delete_webhook(&self, id: Uuid, audit: &[AuditRecord]) -> Result<(), StoreError>;
    /// A webhook's log, newest first (the last [`WEBHOOK_DELIVERIES_KEPT`]).
    async fn list_webhook_deliveries(
        &self,
        webhook_id: Uuid,
    ) -> Result<Vec<WebhookDelivery>, StoreError>;
    /// Queues notifications outside a deployment's transaction ("send test", "redeliver").
    async fn insert_webhook_deliveries(
        &self,
        deliveries: &[WebhookDelivery],
    ) -> Result<(), StoreError>;
    /// Takes up to `limit` pending deliveries due at `now` that nobody holds, holding them until
    /// `lease_until` and counting the attempt. Two instances never take the same row at once;
    /// a holder that dies lets its rows fall due again when the lease ends.
    async fn claim_webhook_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<WebhookDelivery>, StoreError>;
    /// Stores an attempt's outcome (and releases the lease); prunes the webhook's log.
    async fn finish_webhook_delivery(&self, delivery: &WebhookDelivery) -> Result<(), StoreError>;
}
