//! Outbound webhooks and their delivery outbox (queued in the transaction of the change it
//! reports, taken under a lease, retried).

/// Webhook deliveries due at `$now` (a placeholder): pending, their time come, not held by
/// another instance's lease.
macro_rules! due_delivery {
    ($now:literal) => {
        concat!(
            "status = 'pending' AND next_attempt_at <= ",
            $now,
            " AND (locked_until IS NULL OR locked_until <= ",
            $now,
            ")"
        )
    };
}
pub(super) use due_delivery;

/// Queues a webhook notification (the outbox), in the transaction of the change it reports.
pub(super) const INSERT_OUTBOX: &str = "INSERT INTO webhook_delivery
       (id, webhook_id, event, deployment_id, created_at, status, attempts, next_attempt_at,
        subject)
     VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $7)";

/// Webhooks, their log and the outbox.
macro_rules! webhook_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use app::model::{WebhookDelivery, WEBHOOK_DELIVERIES_KEPT};
            use app::ssr::store::{AuditRecord, StoreError, WebhookRecord, WebhookStore};
            use chrono::{DateTime, Utc};
            use uuid::Uuid;

            use crate::store::batch::Batch;
            use crate::store::columns::{DbId, DbTime, WebhookDeliveryRow, WebhookRow};
            use crate::store::dialect::{Dialect, audited};
            use crate::store::outcome::{Outcome, Rows, expect_one, map_sqlx_error};
            use crate::store::webhooks::due_delivery;

            #[async_trait::async_trait]
            impl WebhookStore for $store {
                #[tracing::instrument(level = "debug", skip_all, fields(id = %w.id))]
                async fn insert_webhook(&self, w: &WebhookRecord, audit: &[AuditRecord]) -> Result<(), StoreError> {
                    audited!(self, audit, |tx| sqlx::query(
                        "INSERT INTO webhook
                           (id, url, events, environment_ids, format, signing_secret, created_by, created_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(DbId(w.id))
                    .bind(&w.url)
                    .bind(&w.events)
                    .bind(&w.environment_ids)
                    .bind(&w.format)
                    .bind(&w.signing_secret)
                    .bind(DbId(w.created_by))
                    .bind(DbTime(w.created_at))
                    .execute(tx)
                    .await?)
                    .done()
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn list_webhooks(&self) -> Result<Vec<WebhookRecord>, StoreError> {
                    sqlx::query_as::<_, WebhookRow>("SELECT * FROM webhook ORDER BY created_at, id")
                        .fetch_all(self.reader())
                        .await
                        .many()
                }
                #[tracing::instrument(level = "debug", skip_all, fields(%id))]
                async fn delete_webhook(&self, id: Uuid, audit: &[AuditRecord]) -> Result<(), StoreError> {
                    let deleted = audited!(self, audit, |tx| {
                        Self::delete_with_children(tx, "webhook", "webhook_delivery", "webhook_id", id).await?
                    }, if |deleted| *deleted == 1);
                    expect_one(deleted)
                }
                #[tracing::instrument(level = "debug", skip_all, fields(%webhook_id))]
                async fn list_webhook_deliveries(&self, webhook_id: Uuid) -> Result<Vec<WebhookDelivery>, StoreError> {
                    sqlx::query_as::<_, WebhookDeliveryRow>(
                        "SELECT * FROM webhook_delivery WHERE webhook_id = $1
                          ORDER BY created_at DESC, id DESC LIMIT $2",
                    )
                    .bind(DbId(webhook_id))
                    .bind(WEBHOOK_DELIVERIES_KEPT)
                    .fetch_all(self.reader())
                    .await
                    .many()
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn insert_webhook_deliveries(&self, deliveries: &[WebhookDelivery]) -> Result<(), StoreError> {
                    async {
                        let mut writer = self.writer().await?;
                        let mut tx = sqlx::Connection::begin(&mut *writer).await?;
                        let mut batch = Batch::default();
                        batch.outbox(deliveries);
                        Self::run_batch(&mut tx, batch).await?;
                        tx.commit().await
                    }
                    .await
                    .map_err(map_sqlx_error)
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn claim_webhook_deliveries(
                    &self,
                    now: DateTime<Utc>,
                    lease_until: DateTime<Utc>,
                    limit: i64,
                ) -> Result<Vec<WebhookDelivery>, StoreError> {
                    // The notifier asks after every record; most find nothing due. Asking a reader
                    // first keeps those from queueing for the single writer (SQLite) behind records.
                    let any_due: bool = sqlx::query_scalar(concat!(
                        "SELECT EXISTS (SELECT 1 FROM webhook_delivery WHERE ",
                        due_delivery!("$1"),
                        ")"
                    ))
                    .bind(DbTime(now))
                    .fetch_one(self.reader())
                    .await
                    .map_err(map_sqlx_error)?;
                    if !any_due {
                        return Ok(vec![]);
                    }
                    let sql = format!(
                        "UPDATE webhook_delivery SET locked_until = $1, attempts = attempts + 1
                          WHERE id IN (SELECT id FROM webhook_delivery WHERE {}
                                        ORDER BY next_attempt_at LIMIT $3{})
                          RETURNING *",
                        due_delivery!("$2"),
                        Self::SKIP_LOCKED
                    );
                    sqlx::query_as::<_, WebhookDeliveryRow>(&sql)
                        .bind(DbTime(lease_until))
                        .bind(DbTime(now))
                        .bind(limit)
                        .fetch_all(&mut *self.writer().await.map_err(map_sqlx_error)?)
                        .await
                        .many()
                }
                #[tracing::instrument(level = "debug", skip_all, fields(id = %d.id))]
                async fn finish_webhook_delivery(&self, d: &WebhookDelivery) -> Result<(), StoreError> {
                    async {
                        let mut writer = self.writer().await?;
                        let mut tx = sqlx::Connection::begin(&mut *writer).await?;
                        sqlx::query(
                            "UPDATE webhook_delivery SET status = $1, next_attempt_at = $2, locked_until = NULL,
                                    last_status = $3, last_error = $4, delivered_at = $5
                              WHERE id = $6",
                        )
                        .bind(&d.status)
                        .bind(DbTime(d.next_attempt_at))
                        .bind(d.last_status)
                        .bind(&d.last_error)
                        .bind(d.delivered_at.map(DbTime))
                        .bind(DbId(d.id))
                        .execute(&mut *tx)
                        .await?;
                        sqlx::query(
                            "DELETE FROM webhook_delivery WHERE webhook_id = $1 AND status <> 'pending'
                               AND id NOT IN (SELECT id FROM webhook_delivery WHERE webhook_id = $1
                                               ORDER BY created_at DESC, id DESC LIMIT $2)",
                        )
                        .bind(DbId(d.webhook_id))
                        .bind(WEBHOOK_DELIVERIES_KEPT)
                        .execute(&mut *tx)
                        .await?;
                        tx.commit().await
                    }
                    .await
                    .map_err(map_sqlx_error)
                }
            }
        };
    };
}
pub(super) use webhook_store;
