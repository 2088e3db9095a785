//! Deploy policy: freezes, locks, promotion rules, and the history reads the promotion check
//! needs (issue 35).

/// The open-lock rule's key: environment id '/' application id or '*'.
pub(super) fn lock_scope(environment_id: uuid::Uuid, application_id: Option<uuid::Uuid>) -> String {
    match application_id {
        Some(application) => format!("{environment_id}/{application}"),
        None => format!("{environment_id}/*"),
    }
}

/// Freezes, locks and promotion rules.
macro_rules! policy_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use app::model::{Lock, WebhookDelivery};
            use app::ssr::store::{
                AuditRecord, DeploymentRecord, FreezeEndRecord, FreezeRecord, PolicyStore,
                PromotionRequirementRecord, SoakRecord, StoreError,
            };
            use chrono::{DateTime, Utc};
            use uuid::Uuid;

            use crate::store::batch::Batch;
            use crate::store::columns::{
                DbId, DbTime, DeploymentRow, FreezeEndRow, FreezeRow, LockRow, PromotionRequirementRow,
            };
            use crate::store::deployments::DEPLOYMENT_SELECT;
            use crate::store::dialect::{audited, Dialect};
            use crate::store::outcome::{expect_one, map_sqlx_error, Outcome, Rows};
            use crate::store::policy::lock_scope;

            impl $store {
                /// Marks an occurrence's event as announced, queueing `outbox` only if this
                /// call was first: true when it was.
                async fn mark_announced(
                    tx: &mut <$db as sqlx::Database>::Connection,
                    freeze_id: Uuid,
                    occurrence_start: DateTime<Utc>,
                    event: &str,
                    at: DateTime<Utc>,
                    outbox: &[WebhookDelivery],
                ) -> Result<bool, sqlx::Error> {
                    let marked = sqlx::query(
                        "INSERT INTO freeze_event (freeze_id, occurrence_start, event, at)
                         VALUES ($1, $2, $3, $4)
                         ON CONFLICT (freeze_id, occurrence_start, event) DO NOTHING",
                    )
                    .bind(DbId(freeze_id))
                    .bind(DbTime(occurrence_start))
                    .bind(event)
                    .bind(DbTime(at))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                        == 1;
                    if marked && !outbox.is_empty() {
                        let mut batch = Batch::default();
                        batch.outbox(outbox);
                        Self::run_batch(tx, batch).await?;
                    }
                    Ok(marked)
                }
            }

            #[async_trait::async_trait]
            impl PolicyStore for $store {
                #[tracing::instrument(level = "debug", skip_all, fields(id = %f.id))]
                async fn insert_freeze(&self, f: &FreezeRecord, audit: &[AuditRecord]) -> Result<(), StoreError> {
                    audited!(self, audit, |tx| sqlx::query(
                        "INSERT INTO freeze_window
                           (id, name, reason, environment_ids, application_ids, starts_at, ends_at,
                            rrule, duration, time_zone, created_by, created_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                    )
                    .bind(DbId(f.id))
                    .bind(&f.name)
                    .bind(&f.reason)
                    .bind(&f.environment_ids)
                    .bind(&f.application_ids)
                    .bind(DbTime(f.starts_at))
                    .bind(f.ends_at.map(DbTime))
                    .bind(&f.rrule)
                    .bind(&f.duration)
                    .bind(&f.time_zone)
                    .bind(DbId(f.created_by))
                    .bind(DbTime(f.created_at))
                    .execute(tx)
                    .await?)
                    .done()
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn list_freezes(&self) -> Result<Vec<FreezeRecord>, StoreError> {
                    sqlx::query_as::<_, FreezeRow>("SELECT * FROM freeze_window ORDER BY starts_at, id")
                        .fetch_all(self.reader())
                        .await
                        .many()
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn settings_epoch(&self) -> Result<i64, StoreError> {
                    let (epoch,): (i64,) = sqlx::query_as("SELECT epoch FROM settings_epoch WHERE id = 1")
                        .fetch_one(self.reader())
                        .await
                        .map_err(map_sqlx_error)?;
                    Ok(epoch)
                }
                #[tracing::instrument(level = "debug", skip_all, fields(%id))]
                async fn delete_freeze(&self, id: Uuid, audit: &[AuditRecord]) -> Result<(), StoreError> {
                    let deleted = audited!(self, audit, |tx| {
                        Self::delete_with_children(tx, "freeze_window", "freeze_end", "freeze_id", id).await?
                    }, if |deleted| *deleted == 1);
                    expect_one(deleted)
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn list_freeze_ends(&self) -> Result<Vec<FreezeEndRecord>, StoreError> {
                    sqlx::query_as::<_, FreezeEndRow>("SELECT * FROM freeze_end")
                        .fetch_all(self.reader())
                        .await
                        .many()
                }
                #[tracing::instrument(level = "debug", skip_all, fields(freeze_id = %end.freeze_id))]
                async fn end_freeze_occurrence(
                    &self,
                    end: &FreezeEndRecord,
                    audit: &[AuditRecord],
                    outbox: &[WebhookDelivery],
                ) -> Result<(), StoreError> {
                    let ended = audited!(self, audit, |tx| {
                        let ended = sqlx::query(
                            "INSERT INTO freeze_end (freeze_id, occurrence_start, ended_at, ended_by, reason)
                             VALUES ($1, $2, $3, $4, $5)
                             ON CONFLICT (freeze_id, occurrence_start) DO NOTHING",
                        )
                        .bind(DbId(end.freeze_id))
                        .bind(DbTime(end.occurrence_start))
                        .bind(DbTime(end.ended_at))
                        .bind(&end.ended_by)
                        .bind(&end.reason)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                        if ended == 1 {
                            Self::mark_announced(
                                tx, end.freeze_id, end.occurrence_start, "freeze.ended", end.ended_at, outbox,
                            )
                            .await?;
                        }
                        ended
                    }, if |ended| *ended == 1)
                    .map_err(map_sqlx_error)?;
                    if ended == 1 { Ok(()) } else { Err(StoreError::Conflict("ended")) }
                }
                #[tracing::instrument(level = "debug", skip_all, fields(%freeze_id, event))]
                async fn announce_freeze_event(
                    &self,
                    freeze_id: Uuid,
                    occurrence_start: DateTime<Utc>,
                    event: &str,
                    at: DateTime<Utc>,
                    outbox: &[WebhookDelivery],
                ) -> Result<bool, StoreError> {
                    async {
                        let mut writer = self.writer().await?;
                        let mut tx = sqlx::Connection::begin(&mut *writer).await?;
                        let marked =
                            Self::mark_announced(&mut tx, freeze_id, occurrence_start, event, at, outbox).await?;
                        tx.commit().await?;
                        Ok(marked)
                    }
                    .await
                    .map_err(map_sqlx_error)
                }

                #[tracing::instrument(level = "debug", skip_all, fields(id = %lock.id))]
                async fn insert_lock(
                    &self,
                    lock: &Lock,
                    audit: &[AuditRecord],
                    outbox: &[WebhookDelivery],
                ) -> Result<(), StoreError> {
                    audited!(self, audit, |tx| {
                        sqlx::query(
                            "INSERT INTO deploy_lock
                               (id, environment_id, application_id, scope, reason, created_by,
                                created_by_name, created_at)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                        )
                        .bind(DbId(lock.id))
                        .bind(DbId(lock.environment_id))
                        .bind(lock.application_id.map(DbId))
                        .bind(lock_scope(lock.environment_id, lock.application_id))
                        .bind(&lock.reason)
                        .bind(DbId(lock.created_by))
                        .bind(&lock.created_by_name)
                        .bind(DbTime(lock.created_at))
                        .execute(&mut *tx)
                        .await?;
                        let mut batch = Batch::default();
                        batch.outbox(outbox);
                        Self::run_batch(tx, batch).await?
                    })
                    .done()
                }
                #[tracing::instrument(level = "debug", skip_all, fields(%id))]
                async fn release_lock(
                    &self,
                    id: Uuid,
                    released_by: &str,
                    at: DateTime<Utc>,
                    audit: &[AuditRecord],
                    outbox: &[WebhookDelivery],
                ) -> Result<(), StoreError> {
                    let released = audited!(self, audit, |tx| {
                        let released = sqlx::query(
                            "UPDATE deploy_lock SET released_at = $1, released_by = $2
                              WHERE id = $3 AND released_at IS NULL",
                        )
                        .bind(DbTime(at))
                        .bind(released_by)
                        .bind(DbId(id))
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                        if released == 1 {
                            let mut batch = Batch::default();
                            batch.outbox(outbox);
                            Self::run_batch(tx, batch).await?;
                        }
                        released
                    }, if |released| *released == 1);
                    expect_one(released)
                }
                #[tracing::instrument(level = "debug", skip_all, fields(%id))]
                async fn get_lock(&self, id: Uuid) -> Result<Lock, StoreError> {
                    sqlx::query_as::<_, LockRow>("SELECT * FROM deploy_lock WHERE id = $1")
                        .bind(DbId(id))
                        .fetch_one(self.reader())
                        .await
                        .one()
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn list_locks(&self, since: Option<DateTime<Utc>>) -> Result<Vec<Lock>, StoreError> {
                    sqlx::query_as::<_, LockRow>(
                        // A NULL `since` compares as unknown: open locks only.
                        "SELECT * FROM deploy_lock
                          WHERE released_at IS NULL OR released_at > $1
                          ORDER BY created_at, id",
                    )
                    .bind(since.map(DbTime))
                    .fetch_all(self.reader())
                    .await
                    .many()
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn list_every_lock(&self, limit: i64) -> Result<Vec<Lock>, StoreError> {
                    sqlx::query_as::<_, LockRow>("SELECT * FROM deploy_lock ORDER BY created_at, id LIMIT $1")
                        .bind(limit)
                        .fetch_all(self.reader())
                        .await
                        .many()
                }
                #[tracing::instrument(level = "debug", skip_all, fields(%environment_id))]
                async fn open_lock_of_scope(
                    &self,
                    environment_id: Uuid,
                    application_id: Option<Uuid>,
                ) -> Result<Option<Lock>, StoreError> {
                    sqlx::query_as::<_, LockRow>(
                        "SELECT * FROM deploy_lock WHERE scope = $1 AND released_at IS NULL",
                    )
                    .bind(lock_scope(environment_id, application_id))
                    .fetch_optional(self.reader())
                    .await
                    .map(|row| row.map(Into::into))
                    .map_err(map_sqlx_error)
                }
                #[tracing::instrument(level = "debug", skip_all, fields(%environment_id, %application_id))]
                async fn locks_at(
                    &self,
                    environment_id: Uuid,
                    application_id: Uuid,
                    at: DateTime<Utc>,
                ) -> Result<Vec<Lock>, StoreError> {
                    sqlx::query_as::<_, LockRow>(
                        "SELECT * FROM deploy_lock
                          WHERE environment_id = $1 AND (application_id IS NULL OR application_id = $2)
                            AND created_at <= $3 AND (released_at IS NULL OR released_at > $3)
                          ORDER BY created_at, id",
                    )
                    .bind(DbId(environment_id))
                    .bind(DbId(application_id))
                    .bind(DbTime(at))
                    .fetch_all(self.reader())
                    .await
                    .many()
                }

                #[tracing::instrument(level = "debug", skip_all, fields(%environment_id))]
                async fn put_promotion_rule(
                    &self,
                    environment_id: Uuid,
                    requires: &[PromotionRequirementRecord],
                    audit: &[AuditRecord],
                ) -> Result<(), StoreError> {
                    audited!(self, audit, |tx| {
                        sqlx::query("DELETE FROM promotion_requirement WHERE environment_id = $1")
                            .bind(DbId(environment_id))
                            .execute(&mut *tx)
                            .await?;
                        for r in requires {
                            sqlx::query(
                                "INSERT INTO promotion_requirement
                                   (environment_id, required_environment_id, min_soak)
                                 VALUES ($1, $2, $3)",
                            )
                            .bind(DbId(r.environment_id))
                            .bind(DbId(r.required_environment_id))
                            .bind(&r.min_soak)
                            .execute(&mut *tx)
                            .await?;
                        }
                    })
                    .done()
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn list_promotion_requirements(&self) -> Result<Vec<PromotionRequirementRecord>, StoreError> {
                    sqlx::query_as::<_, PromotionRequirementRow>(
                        "SELECT * FROM promotion_requirement ORDER BY environment_id, required_environment_id",
                    )
                    .fetch_all(self.reader())
                    .await
                    .many()
                }
                #[tracing::instrument(level = "debug", skip_all, fields(%application_id, %version_id, %environment_id))]
                async fn soak(
                    &self,
                    application_id: Uuid,
                    version_id: Uuid,
                    environment_id: Uuid,
                    at: DateTime<Utc>,
                ) -> Result<SoakRecord, StoreError> {
                    let latest: Option<(DbTime, DbTime, DbId)> = sqlx::query_as(
                        "SELECT deployment_date, created_at, id FROM deployment
                          WHERE application_id = $1 AND environment_id = $2 AND version_id = $3
                            AND deleted_at IS NULL AND deployment_date <= $4
                          ORDER BY deployment_date DESC, created_at DESC, id DESC
                          LIMIT 1",
                    )
                    .bind(DbId(application_id))
                    .bind(DbId(environment_id))
                    .bind(DbId(version_id))
                    .bind(DbTime(at))
                    .fetch_optional(self.reader())
                    .await
                    .map_err(map_sqlx_error)?;
                    let replaced_by: Option<DeploymentRecord> = match &latest {
                        Some((date, created, id)) => sqlx::query_as::<_, DeploymentRow>(&format!(
                            "{DEPLOYMENT_SELECT}
                              WHERE d.application_id = $1 AND d.environment_id = $2
                                AND d.deleted_at IS NULL AND d.deployment_date <= $3
                                AND d.deployment_date >= $4
                                AND (d.deployment_date, d.created_at, d.id) > ($4, $5, $6)
                              ORDER BY d.deployment_date, d.created_at, d.id
                              LIMIT 1"
                        ))
                        .bind(DbId(application_id))
                        .bind(DbId(environment_id))
                        .bind(DbTime(at))
                        .bind(*date)
                        .bind(*created)
                        .bind(*id)
                        .fetch_optional(self.reader())
                        .await
                        .map_err(map_sqlx_error)?
                        .map(Into::into),
                        None => None,
                    };
                    let retracted_at: Option<DbTime> = sqlx::query_scalar(
                        "SELECT deleted_at FROM deployment
                          WHERE application_id = $1 AND environment_id = $2 AND version_id = $3
                            AND deleted_at IS NOT NULL AND deployment_date <= $4
                          ORDER BY deleted_at DESC LIMIT 1",
                    )
                    .bind(DbId(application_id))
                    .bind(DbId(environment_id))
                    .bind(DbId(version_id))
                    .bind(DbTime(at))
                    .fetch_optional(self.reader())
                    .await
                    .map_err(map_sqlx_error)?;
                    Ok(SoakRecord {
                        deployed_at: latest.map(|(date, _, _)| date.0),
                        replaced_by,
                        retracted_at: retracted_at.map(|at| at.0),
                    })
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn current_violating_deployments(&self) -> Result<Vec<Uuid>, StoreError> {
                    let ids: Vec<DbId> = sqlx::query_scalar(
                        "SELECT dp.deployment_id FROM deployment_policy dp
                           JOIN current_deployment c ON c.deployment_id = dp.deployment_id",
                    )
                    .fetch_all(self.reader())
                    .await
                    .map_err(map_sqlx_error)?;
                    Ok(ids.into_iter().map(|id| id.0).collect())
                }
            }
        };
    };
}
pub(super) use policy_store;
