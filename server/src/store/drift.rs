//! Drift policies, open breaches and sent digests, the same text on both backends. Opening and
//! resolving a breach, and marking a digest, are each one guarded statement whose notifications
//! are queued in its transaction: once, however many instances try at the same moment.

macro_rules! drift_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use app::model::WebhookDelivery;
            use app::ssr::store::{
                AuditRecord, DriftBreachRecord, DriftPolicyRecord, DriftStore, StoreError,
            };
            use chrono::{DateTime, Utc};
            use uuid::Uuid;

            use crate::store::batch::Batch;
            use crate::store::columns::{DbId, DbTime, DriftBreachRow, DriftPolicyRow};
            use crate::store::dialect::{audited, Dialect};
            use crate::store::outcome::{expect_one, map_sqlx_error, Outcome, Rows};

            impl $store {
                /// Runs `statement`'s guarded write; when it wrote a row, queues `outbox` in the
                /// same transaction. Answers whether it wrote.
                async fn guarded_with_outbox<'q>(
                    &self,
                    statement: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>>,
                    outbox: &[WebhookDelivery],
                ) -> Result<bool, StoreError> {
                    async {
                        let mut writer = self.writer().await?;
                        let mut tx = sqlx::Connection::begin(&mut *writer).await?;
                        let wrote = statement.execute(&mut *tx).await?.rows_affected() == 1;
                        if wrote && !outbox.is_empty() {
                            let mut batch = Batch::default();
                            batch.outbox(outbox);
                            Self::run_batch(&mut tx, batch).await?;
                        }
                        tx.commit().await?;
                        Ok(wrote)
                    }
                    .await
                    .map_err(map_sqlx_error)
                }
            }

            #[async_trait::async_trait]
            impl DriftStore for $store {
                #[tracing::instrument(level = "debug", skip_all, fields(environment = %p.environment_id))]
                async fn put_drift_policy(&self, p: &DriftPolicyRecord, audit: &[AuditRecord]) -> Result<(), StoreError> {
                    audited!(self, audit, |tx| sqlx::query(
                        "INSERT INTO drift_policy
                           (environment_id, compared_to, max_lag_seconds, max_versions_behind, updated_at)
                         VALUES ($1, $2, $3, $4, $5)
                         ON CONFLICT (environment_id) DO UPDATE SET
                           compared_to = excluded.compared_to,
                           max_lag_seconds = excluded.max_lag_seconds,
                           max_versions_behind = excluded.max_versions_behind,
                           updated_at = excluded.updated_at",
                    )
                    .bind(DbId(p.environment_id))
                    .bind(DbId(p.compared_to))
                    .bind(p.max_lag_seconds)
                    .bind(p.max_versions_behind)
                    .bind(DbTime(p.updated_at))
                    .execute(tx)
                    .await?)
                    .done()
                }
                #[tracing::instrument(level = "debug", skip_all, fields(%environment_id))]
                async fn delete_drift_policy(&self, environment_id: Uuid, audit: &[AuditRecord]) -> Result<(), StoreError> {
                    let result = audited!(self, audit, |tx| sqlx::query(
                        "DELETE FROM drift_policy WHERE environment_id = $1",
                    )
                    .bind(DbId(environment_id))
                    .execute(tx)
                    .await?
                    .rows_affected(), if |deleted| *deleted == 1);
                    expect_one(result)
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn list_drift_policies(&self) -> Result<Vec<DriftPolicyRecord>, StoreError> {
                    sqlx::query_as::<_, DriftPolicyRow>("SELECT * FROM drift_policy")
                        .fetch_all(self.reader())
                        .await
                        .many()
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn open_drift_breaches(&self) -> Result<Vec<DriftBreachRecord>, StoreError> {
                    sqlx::query_as::<_, DriftBreachRow>(
                        "SELECT * FROM drift_breach WHERE resolved_at IS NULL ORDER BY breached_at, id",
                    )
                    .fetch_all(self.reader())
                    .await
                    .many()
                }
                #[tracing::instrument(level = "debug", skip_all, fields(id = %b.id))]
                async fn open_drift_breach(&self, b: &DriftBreachRecord, outbox: &[WebhookDelivery]) -> Result<bool, StoreError> {
                    // The partial unique index on open pairs makes a second opening insert nothing.
                    let statement = sqlx::query(
                        "INSERT INTO drift_breach
                           (id, environment_id, application_id, compared_to, behind_since,
                            versions_behind, breached_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7)
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(DbId(b.id))
                    .bind(DbId(b.environment_id))
                    .bind(DbId(b.application_id))
                    .bind(DbId(b.compared_to))
                    .bind(DbTime(b.behind_since))
                    .bind(b.versions_behind)
                    .bind(DbTime(b.breached_at));
                    self.guarded_with_outbox(statement, outbox).await
                }
                #[tracing::instrument(level = "debug", skip_all, fields(%id))]
                async fn resolve_drift_breach(&self, id: Uuid, at: DateTime<Utc>, outbox: &[WebhookDelivery]) -> Result<bool, StoreError> {
                    let statement = sqlx::query(
                        "UPDATE drift_breach SET resolved_at = $1 WHERE id = $2 AND resolved_at IS NULL",
                    )
                    .bind(DbTime(at))
                    .bind(DbId(id));
                    self.guarded_with_outbox(statement, outbox).await
                }
                #[tracing::instrument(level = "debug", skip_all, fields(%id))]
                async fn refresh_drift_breach(&self, id: Uuid, behind_since: DateTime<Utc>, versions_behind: i32) -> Result<(), StoreError> {
                    audited!(self, &[], |tx| sqlx::query(
                        "UPDATE drift_breach SET behind_since = $1, versions_behind = $2
                          WHERE id = $3 AND resolved_at IS NULL",
                    )
                    .bind(DbTime(behind_since))
                    .bind(versions_behind)
                    .bind(DbId(id))
                    .execute(tx)
                    .await?)
                    .done()
                }
                #[tracing::instrument(level = "debug", skip_all, fields(team_key, day))]
                async fn mark_drift_digest(&self, team_key: &str, day: &str, at: DateTime<Utc>, outbox: &[WebhookDelivery]) -> Result<bool, StoreError> {
                    let statement = sqlx::query(
                        "INSERT INTO drift_digest (team_key, day, sent_at) VALUES ($1, $2, $3)
                         ON CONFLICT (team_key, day) DO NOTHING",
                    )
                    .bind(team_key.to_string())
                    .bind(day.to_string())
                    .bind(DbTime(at));
                    self.guarded_with_outbox(statement, outbox).await
                }
            }
        };
    };
}
pub(super) use drift_store;
