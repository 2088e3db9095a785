//! Inbound CI hooks and the deliveries they received.

/// Inbound hooks and their kept deliveries.
macro_rules! hook_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use app::model::{HookDelivery, DELIVERIES_KEPT};
            use app::ssr::store::{AuditRecord, HookRecord, HookStore, StoreError};
            use uuid::Uuid;

            use crate::store::columns::{DbId, DbOutcome, DbTime, DeliveryRow, HookRow};
            use crate::store::dialect::{Dialect, audited};
            use crate::store::outcome::{Outcome, Rows, expect_one, map_sqlx_error};

            #[async_trait::async_trait]
            impl HookStore for $store {
                #[tracing::instrument(level = "debug", skip_all, fields(id = %h.id))]
                async fn insert_hook(&self, h: &HookRecord, audit: &[AuditRecord]) -> Result<(), StoreError> {
                    audited!(self, audit, |tx| sqlx::query(
                        "INSERT INTO hook (id, provider, name, signing_secret, secret_hash, created_by, created_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(DbId(h.id))
                    .bind(&h.provider)
                    .bind(&h.name)
                    .bind(&h.signing_secret)
                    .bind(&h.secret_hash)
                    .bind(DbId(h.created_by))
                    .bind(DbTime(h.created_at))
                    .execute(tx)
                    .await?)
                    .done()
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn list_hooks(&self, provider: Option<&str>) -> Result<Vec<HookRecord>, StoreError> {
                    sqlx::query_as::<_, HookRow>(
                        "SELECT * FROM hook WHERE ($1 IS NULL OR provider = $1) ORDER BY created_at, id",
                    )
                    .bind(provider)
                    .fetch_all(self.reader())
                    .await
                    .many()
                }
                #[tracing::instrument(level = "debug", skip_all, fields(%id))]
                async fn delete_hook(&self, id: Uuid, audit: &[AuditRecord]) -> Result<(), StoreError> {
                    let deleted = audited!(self, audit, |tx| {
                        Self::delete_with_children(tx, "hook", "hook_delivery", "hook_id", id).await?
                    }, if |deleted| *deleted == 1);
                    expect_one(deleted)
                }
                #[tracing::instrument(level = "debug", skip_all, fields(id = %d.id))]
                async fn insert_delivery(&self, d: &HookDelivery) -> Result<bool, StoreError> {
                    async {
                        let mut writer = self.writer().await?;
                        let mut tx = sqlx::Connection::begin(&mut *writer).await?;
                        let kept = sqlx::query(
                            "INSERT INTO hook_delivery
                               (id, hook_id, delivery_id, received_at, event, outcome, detail, deployment_id)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                             ON CONFLICT (hook_id, delivery_id) DO NOTHING",
                        )
                        .bind(DbId(d.id))
                        .bind(DbId(d.hook_id))
                        .bind(&d.delivery_id)
                        .bind(DbTime(d.received_at))
                        .bind(&d.event)
                        .bind(DbOutcome(d.outcome))
                        .bind(&d.detail)
                        .bind(d.deployment_id.map(DbId))
                        .execute(&mut *tx)
                        .await?
                        .rows_affected()
                            == 1;
                        sqlx::query(
                            "DELETE FROM hook_delivery WHERE hook_id = $1 AND id NOT IN
                               (SELECT id FROM hook_delivery WHERE hook_id = $1
                                 ORDER BY received_at DESC, id DESC LIMIT $2)",
                        )
                        .bind(DbId(d.hook_id))
                        .bind(DELIVERIES_KEPT)
                        .execute(&mut *tx)
                        .await?;
                        tx.commit().await.map(|_| kept)
                    }
                    .await
                    .map_err(map_sqlx_error)
                }
                #[tracing::instrument(level = "debug", skip_all, fields(%hook_id))]
                async fn find_delivery(
                    &self,
                    hook_id: Uuid,
                    delivery_id: &str,
                ) -> Result<Option<HookDelivery>, StoreError> {
                    sqlx::query_as::<_, DeliveryRow>(
                        "SELECT * FROM hook_delivery WHERE hook_id = $1 AND delivery_id = $2",
                    )
                    .bind(DbId(hook_id))
                    .bind(delivery_id)
                    .fetch_optional(self.reader())
                    .await
                    .map(|row| row.map(Into::into))
                    .map_err(map_sqlx_error)
                }
                #[tracing::instrument(level = "debug", skip_all, fields(%hook_id))]
                async fn list_deliveries(&self, hook_id: Uuid) -> Result<Vec<HookDelivery>, StoreError> {
                    sqlx::query_as::<_, DeliveryRow>(
                        "SELECT * FROM hook_delivery WHERE hook_id = $1
                          ORDER BY received_at DESC, id DESC",
                    )
                    .bind(DbId(hook_id))
                    .fetch_all(self.reader())
                    .await
                    .many()
                }
            }
        };
    };
}
pub(super) use hook_store;
