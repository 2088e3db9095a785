//! Checkpoints of the matrix for time travel (migration 0021 on SQLite, 0023 on PostgreSQL):
//! reading the state at an instant, writing the next checkpoint, and the statement that marks
//! the ones a change touches stale.

use crate::store::dialect::Dialect;
use chrono::{DateTime, Utc};

/// Later than any stored instant: the ceiling when nothing follows a changed deployment.
pub(super) fn after_history() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("9999-12-31T23:59:59.999999Z")
        .map(|at| at.to_utc())
        .unwrap_or_default()
}

/// The latest usable checkpoint at or before `$1`: its instant, position and cells. Found by
/// its instant first: asked with ORDER BY … LIMIT 1, SQLite 3.46+ chose for recent instants to
/// scan the table and sort, reading every earlier checkpoint's cells (0.3–1 s at 1M).
pub(super) const LATEST_CHECKPOINT: &str = "SELECT at, position, cells FROM matrix_checkpoint
      WHERE at = (SELECT max(at) FROM matrix_checkpoint WHERE stale = FALSE AND at <= $1)";

/// The live deployments dated after `$2` (a checkpoint's instant, or `before_history`) and at
/// or before `$1`, with their versions: what `DeploymentAfterRow` reads. They are contiguous in
/// the live-date index. (Bound rather than looked up in a subquery: SQLite does not bound an
/// index range by a subquery's value, and read the index from the start of history.) The plan is
/// spelled out for SQLite, whose planner without value samples chose at 10M to visit every
/// version and its deployments (103 ms against a few): the live-date index first (`CROSS JOIN`
/// keeps that order), then each version through its covering index.
const DEPLOYMENTS_AFTER: &str =
    "SELECT d.application_id, d.environment_id, d.id AS deployment_id, d.deployment_date,
            d.created_at, d.version_id, v.version_identifier,
            v.created_at AS version_created_at, d.deployed_by
       FROM {deployments} CROSS JOIN {versions}
      WHERE v.id = d.version_id
        AND d.deleted_at IS NULL AND d.deployment_date <= $1 AND d.deployment_date > $2";

/// [`DEPLOYMENTS_AFTER`] as one JSON text: the backend's `JSON_ROWS` around it. With
/// `newest_two`, only each pair's newest two of them: all the state needs (the latest and the
/// one before it), however many were recorded after the checkpoint. The checkpoint builder
/// reads these: deployments recorded at one instant cannot be split by a checkpoint between
/// them, and a benchmark recording 170,000 at one instant made each rebuild hold them all.
pub(super) fn deployments_after_statement<D: Dialect>(newest_two: bool) -> String {
    use crate::store::columns::{DeploymentAfterRow, JsonRow};
    let rows = if newest_two {
        format!(
            "SELECT * FROM ({}) ranked WHERE newest <= 2",
            DEPLOYMENTS_AFTER.replacen(
                "d.deployed_by",
                "d.deployed_by, ROW_NUMBER() OVER (PARTITION BY d.application_id, d.environment_id
                   ORDER BY d.deployment_date DESC, d.created_at DESC, d.id DESC) AS newest",
                1
            )
        )
    } else {
        DEPLOYMENTS_AFTER.to_string()
    };
    (D::JSON_ROWS)
        .replace("{columns}", &DeploymentAfterRow::COLUMNS.join(", "))
        .replace("{rows}", &rows)
        .replace("{deployments}", D::LIVE_BY_DATE)
        .replace("{versions}", D::VERSIONS_SHOWN)
}

/// How many live deployments are dated after `$2` and at or before `$1` (a checkpoint's
/// position counts them).
pub(super) fn count_after_statement<D: Dialect>() -> String {
    format!(
        "SELECT COUNT(*) FROM {} WHERE d.deleted_at IS NULL AND d.deployment_date <= $1 AND d.deployment_date > $2",
        D::LIVE_BY_DATE
    )
}

/// Marks stale the checkpoints whose cells a change to one deployment alters: those at or after
/// its date and before the second live deployment after it in its pair (up to the first, the
/// pair shows it or the one before it; from there on its rollback mark compares with it or the
/// one before). Binds: application_id, environment_id, deployment_date, created_at, id of the
/// deployment recorded or retracted, and [`after_history`].
pub(super) const MARK_STALE: &str = "UPDATE matrix_checkpoint SET stale = TRUE
      WHERE stale = FALSE AND at >= $3
        AND at < COALESCE((SELECT deployment_date FROM deployment
                            WHERE application_id = $1 AND environment_id = $2
                              AND deleted_at IS NULL
                              AND (deployment_date, created_at, id) > ($3, $4, $5)
                            ORDER BY deployment_date, created_at, id
                            LIMIT 1 OFFSET 1), $6)";

/// A bulk load may add deployments anywhere in history: every checkpoint is written again.
pub(super) const MARK_ALL_STALE: &str = "UPDATE matrix_checkpoint SET stale = TRUE";

/// Checkpoints for time travel.
macro_rules! checkpoint_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use app::ssr::store::encode_cells;
            use app::ssr::store::{Built, CheckpointStore, StateRead, StoreError};
            use chrono::{DateTime, Utc};

            use crate::store::batch::{Batch, Bound};
            use app::ssr::store::before_history;
            use crate::store::checkpoints::{after_history, count_after_statement, deployments_after_statement, LATEST_CHECKPOINT, MARK_STALE};
            use crate::store::columns::{DbId, DbTime, DeploymentAfterRow};
            use crate::store::dialect::Dialect;
            use crate::store::outcome::map_sqlx_error;

            impl $store {
                /// Pushes what marks stale the checkpoints a change to this deployment alters
                /// (see `MARK_STALE`), after the lock that keeps it apart from the builder.
                fn mark_checkpoints_stale(
                    batch: &mut Batch,
                    pair: (DbId, DbId),
                    key: (DateTime<Utc>, DateTime<Utc>, uuid::Uuid),
                ) {
                    Self::keep_apart_from_builder(batch);
                    Self::mark_stale_after_lock(batch, pair, key);
                }

                /// Pushes the lock that keeps this transaction apart from the checkpoint builder
                /// until it commits. The statement that marks checkpoints stale must come after
                /// it, not in one with it: it has to see what a builder that held the lock
                /// before committed.
                fn keep_apart_from_builder(batch: &mut Batch) {
                    if let Some(lock) = Self::CHECKPOINT_SHARED_LOCK {
                        batch.push(lock, vec![]);
                    }
                }

                /// `MARK_STALE` alone, for a statement after [`Self::keep_apart_from_builder`]'s.
                fn mark_stale_after_lock(
                    batch: &mut Batch,
                    (application, environment): (DbId, DbId),
                    (date, created_at, id): (DateTime<Utc>, DateTime<Utc>, uuid::Uuid),
                ) {
                    batch.push(
                        MARK_STALE,
                        vec![
                            Bound::Id(application),
                            Bound::Id(environment),
                            Bound::Time(DbTime(date)),
                            Bound::Time(DbTime(created_at)),
                            Bound::Id(DbId(id)),
                            Bound::Time(DbTime(after_history())),
                        ],
                    );
                }

                /// The date of the `every`-th live deployment after `after` (None: fewer lie after it).
                async fn every_after(
                    conn: &mut <$db as sqlx::Database>::Connection,
                    after: DateTime<Utc>,
                    every: i64,
                ) -> Result<Option<DbTime>, StoreError> {
                    let statement = format!(
                        "SELECT deployment_date FROM {}
                          WHERE deleted_at IS NULL AND deployment_date > $1
                          ORDER BY deployment_date LIMIT 1 OFFSET $2",
                        Self::LIVE_BY_DATE
                    );
                    sqlx::query_scalar(&statement)
                        .bind(DbTime(after))
                        .bind(every.max(1) - 1)
                        .fetch_optional(&mut *conn)
                        .await
                        .map_err(map_sqlx_error)
                }

                /// The state at `at` on `conn` (see `CheckpointStore::state_at`; in a transaction
                /// that reads one snapshot), with how many live deployments are dated at or
                /// before it. With `newest_two`, reads only each pair's newest two deployments
                /// after the checkpoint, and counts the rest.
                async fn read_state_at(
                    conn: &mut <$db as sqlx::Database>::Connection,
                    at: DateTime<Utc>,
                    newest_two: bool,
                ) -> Result<(StateRead, i64), StoreError> {
                    let latest = sqlx::query_as::<_, (DbTime, i64, Vec<u8>)>(LATEST_CHECKPOINT)
                        .bind(DbTime(at))
                        .fetch_optional(&mut *conn)
                        .await
                        .map_err(map_sqlx_error)?;
                    let from = latest.as_ref().map_or_else(before_history, |(at, ..)| at.0);
                    let after: Option<String> =
                        sqlx::query_scalar(&deployments_after_statement::<Self>(newest_two))
                            .bind(DbTime(at))
                            .bind(DbTime(from))
                            .fetch_one(&mut *conn)
                            .await
                            .map_err(map_sqlx_error)?;
                    let after: Vec<DeploymentAfterRow> = after
                        .map_or(Ok(vec![]), |text| serde_json::from_str(&text))
                        .map_err(StoreError::other)?;
                    let read_after = if newest_two {
                        sqlx::query_scalar::<_, i64>(&count_after_statement::<Self>())
                            .bind(DbTime(at))
                            .bind(DbTime(from))
                            .fetch_one(&mut *conn)
                            .await
                            .map_err(map_sqlx_error)?
                    } else {
                        after.len() as i64
                    };
                    let position = latest.as_ref().map_or(0, |(_, position, _)| *position) + read_after;
                    let state = StateRead::new(
                        latest.map(|(at, _, cells)| (at.0, cells)),
                        after.into_iter().map(Into::into).collect(),
                    );
                    Ok((state, position))
                }
            }

            #[async_trait::async_trait]
            impl CheckpointStore for $store {
                #[tracing::instrument(level = "debug", skip_all)]
                async fn state_at(&self, at: DateTime<Utc>) -> Result<StateRead, StoreError> {
                    // Two statements, one snapshot: a read transaction (repeatable read on
                    // PostgreSQL, whose default takes a snapshot per statement).
                    let mut tx = self.reader().begin().await.map_err(map_sqlx_error)?;
                    for first in [Self::ONE_SNAPSHOT, Self::TIME_TRAVEL_JOINS].into_iter().flatten() {
                        sqlx::query(first).execute(&mut *tx).await.map_err(map_sqlx_error)?;
                    }
                    let (state, _) = Self::read_state_at(&mut tx, at, false).await?;
                    tx.commit().await.map_err(map_sqlx_error)?;
                    Ok(state)
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn build_checkpoint(
                    &self,
                    every: i64,
                    after: Option<DateTime<Utc>>,
                ) -> Result<Option<Built>, StoreError> {
                    let mut writer = self.writer().await.map_err(map_sqlx_error)?;
                    let mut tx = sqlx::Connection::begin(&mut *writer).await.map_err(map_sqlx_error)?;
                    if let Some(lock) = Self::CHECKPOINT_EXCLUSIVE_LOCK {
                        sqlx::query(lock).execute(&mut *tx).await.map_err(map_sqlx_error)?;
                    }
                    let at = match after {
                        Some(after) => {
                            let Some(at) = Self::every_after(&mut tx, after, every).await? else {
                                return Ok(None);
                            };
                            // Split already (by another instance, or an earlier hint).
                            let there: Option<DbTime> = sqlx::query_scalar(
                                "SELECT at FROM matrix_checkpoint WHERE at > $1 AND at <= $2 LIMIT 1",
                            )
                            .bind(DbTime(after))
                            .bind(at)
                            .fetch_optional(&mut *tx)
                            .await
                            .map_err(map_sqlx_error)?;
                            if there.is_some() {
                                return Ok(None);
                            }
                            at
                        }
                        None => {
                            let stale: Option<DbTime> = sqlx::query_scalar(
                                "SELECT at FROM matrix_checkpoint WHERE stale = TRUE ORDER BY at LIMIT 1",
                            )
                            .fetch_optional(&mut *tx)
                            .await
                            .map_err(map_sqlx_error)?;
                            match stale {
                                Some(at) => at,
                                None => {
                                    let last: Option<DbTime> = sqlx::query_scalar(
                                        "SELECT at FROM matrix_checkpoint ORDER BY at DESC LIMIT 1",
                                    )
                                    .fetch_optional(&mut *tx)
                                    .await
                                    .map_err(map_sqlx_error)?;
                                    let last = last.map_or_else(before_history, |at| at.0);
                                    match Self::every_after(&mut tx, last, every).await? {
                                        Some(at) => at,
                                        None => return Ok(None),
                                    }
                                }
                            }
                        }
                    };
                    let (state, position) = Self::read_state_at(&mut tx, at.0, true).await?;
                    let cells = encode_cells(&state.cells()?)?;
                    sqlx::query(
                        "INSERT INTO matrix_checkpoint (at, stale, position, cells)
                         VALUES ($1, FALSE, $2, $3)
                         ON CONFLICT (at) DO UPDATE
                            SET stale = FALSE, position = excluded.position, cells = excluded.cells",
                    )
                    .bind(at)
                    .bind(position)
                    .bind(cells)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_sqlx_error)?;
                    tx.commit().await.map_err(map_sqlx_error)?;
                    Ok(Some(Built { at: at.0, position }))
                }
            }
        };
    };
}
pub(super) use checkpoint_store;

#[cfg(test)]
mod tests {
    use super::deployments_after_statement;
    use crate::store::sqlite::SqliteStore;
    use sqlx::{Connection, SqliteConnection};

    /// SQLite's planner statistics for the deployment table at 10M deployments (500 × 15, 40
    /// versions an application), without value samples: `ANALYZE` on the 1M seed, rows × 10.
    const TEN_MILLION: &[(&str, &str)] = &[
        ("idx_deployment_app_env", "10000000 20000 1340"),
        ("idx_deployment_application", "10000000 20000"),
        ("idx_deployment_date", "10000000 1"),
        ("idx_deployment_environment", "10000000 666670"),
        ("ix_deployment_history", "10000000 1 1 1"),
        ("ix_deployment_history_app", "10000000 20000 1 1 1"),
        ("ix_deployment_history_env", "10000000 666670 1 1 1"),
        ("ix_deployment_live_date", "10000000 1"),
        (
            "ix_deployment_pair_state",
            "10000000 20000 1340 1 1 1 1 1 1",
        ),
        ("ix_deployment_version_first", "10000000 500 1 1"),
        ("sqlite_autoindex_deployment_1", "10000000 1"),
    ];

    async fn plan(conn: &mut SqliteConnection, statement: &str) -> String {
        let explain = format!("EXPLAIN QUERY PLAN {statement}");
        let mut query = sqlx::query_as::<_, (i64, i64, i64, String)>(&explain);
        for _ in 0..statement.matches('$').count() {
            query = query.bind(Option::<String>::None);
        }
        let rows = query.fetch_all(&mut *conn).await.unwrap();
        rows.into_iter()
            .map(|row| row.3)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Time travel's deployments after a checkpoint walk the live-date index at any size: with
    /// the statistics of 10M deployments and no value samples, SQLite's own choice for the same
    /// join visits every version and its deployments (103 ms at 10M against a few).
    #[tokio::test]
    async fn deployments_after_a_checkpoint_keep_their_plan_at_ten_million() {
        let mut conn = SqliteConnection::connect("sqlite::memory:").await.unwrap();
        sqlx::migrate!("../migrations/sqlite")
            .run(&mut conn)
            .await
            .unwrap();
        sqlx::query("ANALYZE").execute(&mut conn).await.unwrap();
        sqlx::query("DELETE FROM sqlite_stat1 WHERE tbl = 'deployment'")
            .execute(&mut conn)
            .await
            .unwrap();
        for (index, stat) in TEN_MILLION {
            sqlx::query("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('deployment', ?, ?)")
                .bind(index)
                .bind(stat)
                .execute(&mut conn)
                .await
                .unwrap();
        }
        sqlx::query("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('version', 'ix_version_shown', '20000 1 1 1')")
            .execute(&mut conn)
            .await
            .unwrap();
        // Reads the statistics again.
        sqlx::query("ANALYZE sqlite_schema")
            .execute(&mut conn)
            .await
            .unwrap();

        let pinned = plan(
            &mut conn,
            &deployments_after_statement::<SqliteStore>(false),
        )
        .await;
        assert!(
            pinned.contains("SEARCH d USING INDEX ix_deployment_live_date")
                && pinned.contains("SEARCH v USING COVERING INDEX ix_version_shown"),
            "{pinned}"
        );
        let unpinned = deployments_after_statement::<SqliteStore>(false)
            .replace(
                "deployment d INDEXED BY ix_deployment_live_date CROSS JOIN",
                "deployment d JOIN",
            )
            .replace(
                "WHERE v.id = d.version_id\n        AND",
                "ON v.id = d.version_id WHERE",
            );
        assert_ne!(unpinned, deployments_after_statement::<SqliteStore>(false));
        let chosen = plan(&mut conn, &unpinned).await;
        assert!(
            chosen.contains("SCAN v"),
            "these statistics no longer mislead SQLite's planner; the test needs others:\n{chosen}"
        );
    }
}
