//! The deployment history: recording (and keeping each pair's current row up to date in the same
//! transaction), reading, counting and retracting.

// Defined before the backend modules so that they can use them too.
/// One column of the live deployment that ran in `d`'s pair just before `d` (`p`, joined to
/// its version as `pv`): a subquery, one index seek. The leading range on deployment_date lets
/// SQLite seek rather than scan the pair.
macro_rules! previous_in_pair_of_d {
    ($column:literal) => {
        concat!(
            "(SELECT ",
            $column,
            " FROM deployment p JOIN version pv ON pv.id = p.version_id
               WHERE p.application_id = d.application_id AND p.environment_id = d.environment_id
                 AND p.deleted_at IS NULL AND p.deployment_date <= d.deployment_date
                 AND (p.deployment_date, p.created_at, p.id) < (d.deployment_date, d.created_at, d.id)
               ORDER BY p.deployment_date DESC, p.created_at DESC, p.id DESC
               LIMIT 1)"
        )
    };
}

/// Counts a just-inserted deployment in its pair's current_deployment row (creating the row for
/// a pair's first deployment), gives the row a new revision (the matrix stamp, migrations
/// 0006 and 0014/0016) and keeps the row's latest deployment and the one before it (migration
/// `pair_previous_key`) by comparing the new one with them: `$next` is the backend's next value
/// of the revision counter, `$raised` the conflicting row's new revision, which must exceed its
/// old one (the stamp's sum never goes down).
/// This also locks the row until commit. PostgreSQL compares with the row as the last recorder
/// of the pair committed it (an `ON CONFLICT` update waits for the row's lock, then takes its
/// newest version), so concurrent recorders of one pair each see the one before. Binds:
/// application_id, environment_id, deployment_id, deployment_date, created_at, version_id,
/// deployed_by of the new deployment.
macro_rules! claim_pair {
    ($next:literal, $raised:literal) => {
        concat!(
            "INSERT INTO current_deployment
               (application_id, environment_id, deployment_id, deployment_date, created_at,
                version_id, deployed_by, live_deployments, revision)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 1, ",
            $next,
            ")
             ON CONFLICT (application_id, environment_id)
             DO UPDATE SET live_deployments = current_deployment.live_deployments + 1,
                           revision = ",
            $raised,
            ", ",
            claim_pair!(@latest_takes "deployment_id"), ", ",
            claim_pair!(@latest_takes "deployment_date"), ", ",
            claim_pair!(@latest_takes "created_at"), ", ",
            claim_pair!(@latest_takes "version_id"), ", ",
            claim_pair!(@latest_takes "deployed_by"), ", ",
            claim_pair!(@previous_takes "previous_version_id", "version_id"), ", ",
            claim_pair!(@previous_takes "previous_deployment_date", "deployment_date"), ", ",
            claim_pair!(@previous_takes "previous_created_at", "created_at"), ", ",
            claim_pair!(@previous_takes "previous_deployment_id", "deployment_id")
        )
    };
    // A latest-deployment column: the new deployment's when it is the latest.
    (@latest_takes $column:literal) => {
        concat!(
            $column, " = CASE WHEN ", claim_pair!(@latest), " THEN excluded.", $column,
            " ELSE current_deployment.", $column, " END"
        )
    };
    // A column of the one before the latest: the old latest's when the new one displaces it,
    // the new one's when it comes between the two.
    (@previous_takes $column:literal, $from:literal) => {
        concat!(
            $column, " = CASE WHEN ", claim_pair!(@latest), " THEN current_deployment.", $from,
            " WHEN ", claim_pair!(@second), " THEN excluded.", $from,
            " ELSE current_deployment.", $column, " END"
        )
    };
    // The new deployment comes after the pair's latest in history order.
    (@latest) => {
        "(excluded.deployment_date, excluded.created_at, excluded.deployment_id)
             > (current_deployment.deployment_date, current_deployment.created_at,
                current_deployment.deployment_id)"
    };
    // Otherwise: it comes after the one before the latest (or the latest was the only one).
    (@second) => {
        "(current_deployment.previous_deployment_id IS NULL
              OR (excluded.deployment_date, excluded.created_at, excluded.deployment_id)
                 > (current_deployment.previous_deployment_date,
                    current_deployment.previous_created_at,
                    current_deployment.previous_deployment_id))"
    };
}
pub(super) use claim_pair;

/// Uncounts a retracted deployment and gives the pair a new revision (and locks the pair's
/// row). Binds: application_id, environment_id.
macro_rules! uncount_retracted {
    ($next:literal) => {
        concat!(
            "UPDATE current_deployment
                SET live_deployments = live_deployments - 1, revision = ",
            $next,
            " WHERE application_id = $1 AND environment_id = $2"
        )
    };
}
pub(super) use uncount_retracted;

/// What a record names, in one query (see `DeploymentStore::find_record_targets`): the
/// application found by `$application`, the version by `$version` and the version that ran in
/// the pair at the date before it (a seek of the pair's index, as in `previous_in_pair_of_d!`).
/// Binds: the application, the version (or NULL), environment_id and date (or NULLs).
macro_rules! record_targets {
    ($application:literal, $version:literal) => {
        concat!(
            "SELECT a.id, a.name, a.description, a.repository, a.team_id, a.created_at,
                    a.updated_at, a.archived_at,
                    v.id AS v_id, v.application_id AS v_application_id,
                    v.version_identifier AS v_version_identifier, v.released_at AS v_released_at,
                    v.notes AS v_notes, v.commit_sha AS v_commit_sha,
                    v.created_at AS v_created_at, v.archived_at AS v_archived_at,
                    pv.version_identifier AS previous_version_identifier,
                    pv.created_at AS previous_version_created_at
               FROM application a
               LEFT JOIN version v ON ",
            $version,
            " LEFT JOIN version pv ON pv.id =
                    (SELECT p.version_id FROM deployment p
                      WHERE p.application_id = a.id AND p.environment_id = $3
                        AND p.deleted_at IS NULL AND p.deployment_date <= $4
                      ORDER BY p.deployment_date DESC, p.created_at DESC, p.id DESC
                      LIMIT 1)
              WHERE ",
            $application
        )
    };
}

/// [`record_targets!`] for each way of naming the application and the version.
pub(super) const RECORD_TARGETS_BY_ID_ID: &str = record_targets!("a.id = $1", "v.id = $2");
pub(super) const RECORD_TARGETS_BY_ID_NAME: &str = record_targets!(
    "a.id = $1",
    "v.application_id = a.id AND v.version_identifier = $2"
);
pub(super) const RECORD_TARGETS_BY_NAME_ID: &str =
    record_targets!("lower(a.name) = lower($1)", "v.id = $2");
pub(super) const RECORD_TARGETS_BY_NAME_NAME: &str = record_targets!(
    "lower(a.name) = lower($1)",
    "v.application_id = a.id AND v.version_identifier = $2"
);

/// Records a deployment; binds its columns in table order.
pub(super) const INSERT_DEPLOYMENT: &str = "INSERT INTO deployment
       (id, application_id, version_id, environment_id, deployment_date, deployed_by, notes,
        created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/// What blocked a deployment, inserted with it (migration 0015/0017).
pub(super) const INSERT_DEPLOYMENT_POLICY: &str =
    "INSERT INTO deployment_policy (deployment_id, violations, override_reason) VALUES ($1, $2, $3)";

/// A deployment with the names it refers to and the version that ran in the same pair just
/// before it. Plain SQL that both SQLite and PostgreSQL accept; callers append WHERE/ORDER BY.
/// The previous version is looked up per output row in the select list (an index seek each,
/// only for the rows a page returns); as a join, SQLite computed it for every row of history.
pub(super) const DEPLOYMENT_SELECT: &str = concat!(
    "SELECT d.id, d.application_id, a.name AS application_name,
            d.version_id, v.version_identifier, v.created_at AS version_created_at,
            d.environment_id, e.name AS environment_name,
            d.deployment_date, d.deployed_by, d.notes, d.created_at,
            d.deleted_at, d.deleted_by, d.delete_reason,
            dp.violations AS policy_violations, dp.override_reason, ",
    previous_in_pair_of_d!("pv.version_identifier"),
    " AS previous_version_identifier, ",
    previous_in_pair_of_d!("pv.created_at"),
    " AS previous_version_created_at
       FROM deployment d
       JOIN application a ON a.id = d.application_id
       JOIN version v ON v.id = d.version_id
       JOIN environment e ON e.id = d.environment_id
       LEFT JOIN deployment_policy dp ON dp.deployment_id = d.id"
);

/// Recomputes current_deployment from history (after a bulk import): per pair, the latest live
/// deployment, the version and key of the one before it and the number of live deployments. Both
/// backends accept it.
pub(super) const REBUILD_CURRENT: &str = "INSERT INTO current_deployment
       (application_id, environment_id, deployment_id, deployment_date, created_at,
        version_id, deployed_by, previous_version_id, previous_deployment_date,
        previous_created_at, previous_deployment_id, live_deployments)
     SELECT application_id, environment_id, id, deployment_date, created_at,
            version_id, deployed_by, previous_version_id, previous_deployment_date,
            previous_created_at, previous_deployment_id, live_deployments
       FROM (SELECT d.*,
                    ROW_NUMBER() OVER pair_history AS latest,
                    LEAD(version_id) OVER pair_history AS previous_version_id,
                    LEAD(deployment_date) OVER pair_history AS previous_deployment_date,
                    LEAD(created_at) OVER pair_history AS previous_created_at,
                    LEAD(id) OVER pair_history AS previous_deployment_id,
                    COUNT(*) OVER (PARTITION BY application_id, environment_id)
                        AS live_deployments
               FROM deployment d
              WHERE deleted_at IS NULL
             WINDOW pair_history AS (PARTITION BY application_id, environment_id
                                     ORDER BY deployment_date DESC, created_at DESC, id DESC)) ranked
      WHERE latest = 1";

/// Recomputes a locked pair's current_deployment row from history after a retraction, in a
/// statement of its own so that it sees every deployment committed before the lock was taken.
/// Binds: application_id, environment_id.
pub(super) const REFRESH_PAIR: &str = concat!(
    "UPDATE current_deployment
        SET (deployment_id, deployment_date, created_at, version_id, deployed_by,
             previous_version_id, previous_deployment_date, previous_created_at,
             previous_deployment_id) =
            (SELECT d.id, d.deployment_date, d.created_at, d.version_id, d.deployed_by, ",
    previous_in_pair_of_d!("p.version_id"),
    ", ",
    previous_in_pair_of_d!("p.deployment_date"),
    ", ",
    previous_in_pair_of_d!("p.created_at"),
    ", ",
    previous_in_pair_of_d!("p.id"),
    "       FROM deployment d
             WHERE d.application_id = current_deployment.application_id
               AND d.environment_id = current_deployment.environment_id
               AND d.deleted_at IS NULL
             ORDER BY d.deployment_date DESC, d.created_at DESC, d.id DESC
             LIMIT 1)
      WHERE application_id = $1 AND environment_id = $2"
);

/// Removes a pair's current row once no live deployment is left in it (after a retraction).
/// Binds: application_id, environment_id.
pub(super) const DROP_EMPTY_PAIR: &str = "DELETE FROM current_deployment
      WHERE application_id = $1 AND environment_id = $2
        AND NOT EXISTS (SELECT 1 FROM deployment d
                         WHERE d.application_id = current_deployment.application_id
                           AND d.environment_id = current_deployment.environment_id
                           AND d.deleted_at IS NULL)";

/// Live deployments per environment, from the per-pair counts.
pub(super) const COUNT_PER_ENVIRONMENT: &str =
    "SELECT environment_id, CAST(SUM(live_deployments) AS BIGINT)
       FROM current_deployment GROUP BY environment_id";

/// History order (and its keyset).
pub(super) const HISTORY_ORDER: &str =
    " ORDER BY d.deployment_date DESC, d.created_at DESC, d.id DESC";

/// `%q%` for LIKE, with LIKE's own wildcards in `q` taken literally (escape character `\`).
pub(super) fn like_pattern(q: &str) -> String {
    let escaped = q
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Recording: one deployment at a time, or in bulk.
macro_rules! deployment_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use app::model::{Version, WebhookDelivery};
            use app::ssr::store::{AuditRecord, DeploymentStore, IdempotencyClaim, IdempotencyRecord, Inserted, Named, NewDeployment, RecordTargets, StoreError};
            use chrono::{DateTime, Utc};
            use uuid::Uuid;

            use crate::store::batch::{Batch, Bound};
            use crate::store::columns::{DbId, DbTime, IdempotencyRow, RecordTargetsRow};
            use crate::store::dialect::Dialect;
            use crate::store::outcome::map_sqlx_error;
            use crate::store::catalogue::INSERT_VERSION_IF_NEW;
            use crate::store::deployments::{INSERT_DEPLOYMENT, INSERT_DEPLOYMENT_POLICY, REBUILD_CURRENT};
            use crate::store::checkpoints::MARK_ALL_STALE;

            #[async_trait::async_trait]
            impl DeploymentStore for $store {
                #[tracing::instrument(level = "debug", skip_all)]
                async fn find_record_targets(
                    &self,
                    application: Named<'_>,
                    version: Option<Named<'_>>,
                    pair_at: Option<(Uuid, DateTime<Utc>)>,
                ) -> Result<RecordTargets, StoreError> {
                    use crate::store::deployments::{RECORD_TARGETS_BY_ID_ID, RECORD_TARGETS_BY_ID_NAME, RECORD_TARGETS_BY_NAME_ID, RECORD_TARGETS_BY_NAME_NAME};
                    let by_name = matches!(version, Some(Named::Name(_)));
                    let statement = match (application, by_name) {
                        (Named::Id(_), false) => RECORD_TARGETS_BY_ID_ID,
                        (Named::Id(_), true) => RECORD_TARGETS_BY_ID_NAME,
                        (Named::Name(_), false) => RECORD_TARGETS_BY_NAME_ID,
                        (Named::Name(_), true) => RECORD_TARGETS_BY_NAME_NAME,
                    };
                    let query = sqlx::query_as::<_, RecordTargetsRow>(statement);
                    let query = match application {
                        Named::Id(id) => query.bind(DbId(id)),
                        Named::Name(name) => query.bind(name),
                    };
                    let query = match version {
                        Some(Named::Id(id)) => query.bind(Some(DbId(id))),
                        Some(Named::Name(identifier)) => query.bind(identifier),
                        None => query.bind(None::<DbId>),
                    };
                    query
                        .bind(pair_at.map(|(environment, _)| DbId(environment)))
                        .bind(pair_at.map(|(_, date)| DbTime(date)))
                        .fetch_optional(self.reader())
                        .await
                        .map(|row| row.map(Into::into).unwrap_or_default())
                        .map_err(map_sqlx_error)
                }
                #[tracing::instrument(level = "debug", skip_all, fields(id = %d.id, application_id = %d.application_id, environment_id = %d.environment_id))]
                async fn insert_deployment(
                    &self,
                    d: &NewDeployment,
                    new_version: Option<&Version>,
                    claim: Option<&IdempotencyClaim>,
                    audit: &[AuditRecord],
                    outbox: &[WebhookDelivery],
                ) -> Result<Inserted, StoreError> {
                    let (application, environment) = (DbId(d.application_id), DbId(d.environment_id));
                    let taken = async {
                        // On PostgreSQL a record is four trips: begin; the rows that only add (the
                        // deployment, what blocked it, the audit entries, the outbox) and the
                        // builder's lock as one statement; marking checkpoints stale and claiming
                        // the pair (which keeps the pair's row current) as one; commit.
                        let deployment_rows = |batch: &mut Batch, version_id: DbId| {
                            batch.push(
                                INSERT_DEPLOYMENT,
                                vec![
                                    Bound::Id(DbId(d.id)),
                                    Bound::Id(application),
                                    Bound::Id(version_id),
                                    Bound::Id(environment),
                                    Bound::Time(DbTime(d.deployment_date)),
                                    Bound::OptionalText(d.deployed_by.clone()),
                                    Bound::OptionalText(d.notes.clone()),
                                    Bound::Time(DbTime(d.created_at)),
                                ],
                            );
                            if let Some(policy) = &d.policy {
                                batch.push(
                                    INSERT_DEPLOYMENT_POLICY,
                                    vec![
                                        Bound::Id(DbId(d.id)),
                                        Bound::Text(policy.violations.clone()),
                                        Bound::OptionalText(policy.override_reason.clone()),
                                    ],
                                );
                            }
                        };
                        let records_and_lock = |batch: &mut Batch| {
                            batch.audit(audit).outbox(outbox);
                            Self::keep_apart_from_builder(batch);
                        };
                        // The pair's row last: in PostgreSQL it locks the pair until the commit, and
                        // concurrent records to one pair queue for it — the fewer trips it spans,
                        // the more records per second one pair takes.
                        let pair_last = |batch: &mut Batch, version_id: DbId| {
                            batch.as_one(|batch| {
                                Self::mark_stale_after_lock(
                                    batch,
                                    (application, environment),
                                    (d.deployment_date, d.created_at, d.id),
                                );
                                batch.push(
                                    Self::CLAIM_PAIR,
                                    vec![
                                        Bound::Id(application),
                                        Bound::Id(environment),
                                        Bound::Id(DbId(d.id)),
                                        Bound::Time(DbTime(d.deployment_date)),
                                        Bound::Time(DbTime(d.created_at)),
                                        Bound::Id(version_id),
                                        Bound::OptionalText(d.deployed_by.clone()),
                                    ],
                                );
                            });
                        };
                        if new_version.is_none() && claim.is_none() {
                            // Most records: nothing to read inside the transaction, so it goes
                            // as one batch (on SQLite one trip to the writer).
                            let mut batch = Batch::default();
                            batch.as_one(|batch| {
                                deployment_rows(batch, DbId(d.version_id));
                                records_and_lock(batch);
                            });
                            pair_last(&mut batch, DbId(d.version_id));
                            return self.run_transaction(batch).await.map(|_| false);
                        }
                        let mut writer = self.writer().await?;
                        let mut tx = sqlx::Connection::begin(&mut *writer).await?;
                        let mut version_id = DbId(d.version_id);
                        if let Some(v) = new_version {
                            // A concurrent request may have registered the same identifier: deploy
                            // that one rather than fail.
                            Self::bind_version(INSERT_VERSION_IF_NEW, v)
                                .execute(&mut *tx)
                                .await?;
                            version_id = sqlx::query_scalar(
                                "SELECT id FROM version WHERE application_id = $1 AND version_identifier = $2",
                            )
                            .bind(DbId(v.application_id))
                            .bind(&v.version_identifier)
                            .fetch_one(&mut *tx)
                            .await?;
                        }
                        let mut batch = Batch::default();
                        if let Some(claim) = claim {
                            // Taken after the deployment row exists (the key refers to it); a
                            // concurrent holder of the key makes this wait, then insert nothing.
                            batch.as_one(|batch| {
                                deployment_rows(batch, version_id);
                                batch.push(
                                    "DELETE FROM idempotency_key WHERE created_at < $1",
                                    vec![Bound::Time(DbTime(claim.expired_before))],
                                );
                            });
                            Self::run_batch(&mut tx, std::mem::take(&mut batch)).await?;
                            let claimed = sqlx::query(
                                "INSERT INTO idempotency_key
                                   (user_id, idempotency_key, request_hash, deployment_id, created_at)
                                 VALUES ($1, $2, $3, $4, $5)
                                 ON CONFLICT (user_id, idempotency_key) DO NOTHING",
                            )
                            .bind(DbId(claim.user_id))
                            .bind(&claim.key)
                            .bind(&claim.request_hash)
                            .bind(DbId(d.id))
                            .bind(DbTime(claim.created_at))
                            .execute(&mut *tx)
                            .await?
                            .rows_affected();
                            if claimed == 0 {
                                tx.rollback().await?;
                                return Ok(true);
                            }
                            batch.as_one(records_and_lock);
                        } else {
                            batch.as_one(|batch| {
                                deployment_rows(batch, version_id);
                                records_and_lock(batch);
                            });
                        }
                        pair_last(&mut batch, version_id);
                        Self::run_batch(&mut tx, batch).await?;
                        tx.commit().await.map(|_| false)
                    }
                    .await
                    .map_err(map_sqlx_error)?;
                    match (taken, claim) {
                        (true, Some(claim)) => self
                            .find_idempotency_key(claim.user_id, &claim.key, claim.expired_before)
                            .await?
                            .map(Inserted::KeyTaken)
                            .ok_or(StoreError::NotFound),
                        _ => Ok(Inserted::Recorded),
                    }
                }
                #[tracing::instrument(level = "debug", skip_all, fields(%user_id))]
                async fn find_idempotency_key(
                    &self,
                    user_id: Uuid,
                    key: &str,
                    since: DateTime<Utc>,
                ) -> Result<Option<IdempotencyRecord>, StoreError> {
                    sqlx::query_as::<_, IdempotencyRow>(
                        "SELECT request_hash, deployment_id FROM idempotency_key
                          WHERE user_id = $1 AND idempotency_key = $2 AND created_at >= $3",
                    )
                    .bind(DbId(user_id))
                    .bind(key)
                    .bind(DbTime(since))
                    .fetch_optional(self.reader())
                    .await
                    .map(|row| row.map(Into::into))
                    .map_err(map_sqlx_error)
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn insert_deployments_bulk(&self, deployments: &[NewDeployment]) -> Result<(), StoreError> {
                    <Self as Dialect>::insert_deployments_bulk(self, deployments).await
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn rebuild_current_deployments(&self) -> Result<(), StoreError> {
                    async {
                        let mut writer = self.writer().await?;
                        let mut tx = sqlx::Connection::begin(&mut *writer).await?;
                        sqlx::query("DELETE FROM current_deployment").execute(&mut *tx).await?;
                        sqlx::query(REBUILD_CURRENT).execute(&mut *tx).await?;
                        if let Some(lock) = Self::CHECKPOINT_SHARED_LOCK {
                            sqlx::query(lock).execute(&mut *tx).await?;
                        }
                        sqlx::query(MARK_ALL_STALE).execute(&mut *tx).await?;
                        tx.commit().await?;
                        // Fresh statistics after a bulk load (the catalogue's too), so the planner
                        // picks the right indexes.
                        sqlx::query("ANALYZE").execute(&mut *writer).await?;
                        for statement in Self::AFTER_ANALYZE {
                            sqlx::query(statement).execute(&mut *writer).await?;
                        }
                        Ok(())
                    }
                    .await
                    .map_err(map_sqlx_error)
                }
            }
        };
    };
}
pub(super) use deployment_store;

/// The history: read, filtered, counted, retracted.
macro_rules! history_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use app::model::{DeploymentFilter, WebhookDelivery};
            use app::ssr::store::{AuditRecord, DeploymentRecord, HistoryKey, HistoryStore, StoreError};
            use chrono::{DateTime, Utc};
            use uuid::Uuid;

            use crate::store::batch::{Batch, Bound};
            use crate::store::columns::{DbId, DbTime, DeploymentRow};
            use crate::store::dialect::Dialect;
            use crate::store::outcome::{Outcome, Rows, map_sqlx_error};
            use crate::store::deployments::{DEPLOYMENT_SELECT, REFRESH_PAIR, DROP_EMPTY_PAIR, COUNT_PER_ENVIRONMENT, HISTORY_ORDER, like_pattern};

            #[async_trait::async_trait]
            impl HistoryStore for $store {
                #[tracing::instrument(level = "debug", skip_all, fields(%id))]
                async fn get_deployment(&self, id: Uuid) -> Result<DeploymentRecord, StoreError> {
                    sqlx::query_as::<_, DeploymentRow>(&format!("{DEPLOYMENT_SELECT} WHERE d.id = $1"))
                        .bind(DbId(id))
                        .fetch_one(self.reader())
                        .await
                        .one()
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn list_deployments(
                    &self,
                    filter: &DeploymentFilter,
                    after: Option<HistoryKey>,
                    limit: i64,
                ) -> Result<Vec<DeploymentRecord>, StoreError> {
                    let mut qb = sqlx::QueryBuilder::<$db>::new(DEPLOYMENT_SELECT);
                    qb.push(" WHERE 1 = 1");
                    if !filter.include_deleted {
                        qb.push(" AND d.deleted_at IS NULL");
                    }
                    for (column, id) in [
                        ("application_id", filter.application_id),
                        ("environment_id", filter.environment_id),
                        ("version_id", filter.version_id),
                    ] {
                        if let Some(id) = id {
                            qb.push(format!(" AND d.{column} = ")).push_bind(DbId(id));
                        }
                    }
                    if let Some(from) = filter.date_from {
                        qb.push(" AND d.deployment_date >= ").push_bind(DbTime(from));
                    }
                    if let Some(to) = filter.date_to {
                        qb.push(" AND d.deployment_date <= ").push_bind(DbTime(to));
                    }
                    if let Some(who) = &filter.deployed_by {
                        qb.push(" AND lower(d.deployed_by) = lower(").push_bind(who.clone()).push(")");
                    }
                    if let Some(teams) = &filter.team_ids {
                        // No team (`mine` for someone in none) matches nothing.
                        qb.push(" AND d.application_id IN (SELECT a.id FROM application a WHERE a.team_id IN (NULL");
                        for team in teams {
                            qb.push(", ").push_bind(DbId(*team));
                        }
                        qb.push("))");
                    }
                    if filter.violations {
                        qb.push(" AND dp.deployment_id IS NOT NULL");
                    }
                    if let Some(q) = &filter.q {
                        let pattern = like_pattern(q);
                        let like = Self::LIKE;
                        qb.push(format!(" AND (d.notes {like} ")).push_bind(pattern.clone());
                        qb.push(format!(" ESCAPE '\\' OR v.version_identifier {like} ")).push_bind(pattern.clone());
                        qb.push(format!(" ESCAPE '\\' OR d.deployed_by {like} ")).push_bind(pattern);
                        qb.push(" ESCAPE '\\')");
                    }
                    if let Some(key) = after {
                        Self::push_after_key(&mut qb, key);
                    }
                    qb.push(HISTORY_ORDER).push(" LIMIT ").push_bind(limit);
                    qb.build_query_as::<DeploymentRow>()
                        .fetch_all(self.reader())
                        .await
                        .many()
                }
                #[tracing::instrument(level = "debug", skip_all, fields(%id))]
                async fn retract_deployment(
                    &self,
                    id: Uuid,
                    deleted_at: DateTime<Utc>,
                    deleted_by: &str,
                    reason: &str,
                    audit: &[AuditRecord],
                    outbox: &[WebhookDelivery],
                ) -> Result<(), StoreError> {
                    let retracted = async {
                        // Write first, so the transaction holds SQLite's write lock from its first
                        // statement; the pair's row update below also locks the pair in PostgreSQL.
                        let mut writer = self.writer().await?;
                        let mut tx = sqlx::Connection::begin(&mut *writer).await?;
                        let updated = sqlx::query(
                            "UPDATE deployment SET deleted_at = $1, deleted_by = $2, delete_reason = $3
                              WHERE id = $4 AND deleted_at IS NULL",
                        )
                        .bind(DbTime(deleted_at))
                        .bind(deleted_by)
                        .bind(reason)
                        .bind(DbId(id))
                        .execute(&mut *tx)
                        .await?;
                        let (application, environment, date, created_at) =
                            sqlx::query_as::<_, (DbId, DbId, DbTime, DbTime)>(
                            "SELECT application_id, environment_id, deployment_date, created_at
                               FROM deployment WHERE id = $1",
                        )
                        .bind(DbId(id))
                        .fetch_one(&mut *tx)
                        .await?;
                        if updated.rows_affected() == 0 {
                            return Ok(false);
                        }
                        let pair = || vec![Bound::Id(application), Bound::Id(environment)];
                        let mut batch = Batch::default();
                        batch
                            .push(Self::UNCOUNT_RETRACTED, pair())
                            .push(DROP_EMPTY_PAIR, pair())
                            .push(REFRESH_PAIR, pair());
                        Self::mark_checkpoints_stale(
                            &mut batch,
                            (application, environment),
                            (date.0, created_at.0, id),
                        );
                        batch.audit(audit).outbox(outbox);
                        Self::run_batch(&mut tx, batch).await?;
                        tx.commit().await.map(|_| true)
                    }
                    .await
                    .map_err(map_sqlx_error)?;
                    if retracted { Ok(()) } else { Err(StoreError::Conflict("id")) }
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn count_deployments_between(
                    &self,
                    from: DateTime<Utc>,
                    to: DateTime<Utc>,
                ) -> Result<i64, StoreError> {
                    sqlx::query_scalar(
                        "SELECT COUNT(*) FROM deployment
                          WHERE deleted_at IS NULL AND deployment_date >= $1 AND deployment_date < $2",
                    )
                    .bind(DbTime(from))
                    .bind(DbTime(to))
                    .fetch_one(self.reader())
                    .await
                    .map_err(map_sqlx_error)
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn count_deployments_per_environment(&self) -> Result<Vec<(Uuid, i64)>, StoreError> {
                    sqlx::query_as::<_, (DbId, i64)>(COUNT_PER_ENVIRONMENT)
                        .fetch_all(self.reader())
                        .await
                        .map(|rows| rows.into_iter().map(|(id, n)| (id.0, n)).collect())
                        .map_err(map_sqlx_error)
                }
            }
        };
    };
}
pub(super) use history_store;

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("50%_off"), "%50\\%\\_off%");
    }
}
