//! What runs where now: the current-state matrix and its change stamps.

/// The matrix stamp (migration 0006): it changes whenever anything the matrix shows changes.
pub(super) const MATRIX_STAMP: &str = "SELECT (SELECT epoch FROM matrix_epoch WHERE id = 1),
            (SELECT CAST(COALESCE(SUM(revision), 0) AS BIGINT) FROM current_deployment)";

/// The matrix epoch and the parts of the stamp's sum in the pairs' key order, as one row (one
/// snapshot; and SQLite hands a row at a time across threads, so one text beats 7,500 rows).
/// Both backends have string_agg with ORDER BY (SQLite since 3.44).
pub(super) const PAIR_REVISIONS: &str = "SELECT (SELECT epoch FROM matrix_epoch WHERE id = 1),
            (SELECT string_agg(CAST(revision AS TEXT), ',' ORDER BY application_id, environment_id)
               FROM current_deployment),
            NULL";

/// As [`PAIR_REVISIONS`], naming the pairs too (`application_id environment_id`, in order).
pub(super) const PAIR_REVISIONS_AND_KEYS: &str =
    "SELECT (SELECT epoch FROM matrix_epoch WHERE id = 1),
            (SELECT string_agg(CAST(revision AS TEXT), ',' ORDER BY application_id, environment_id)
               FROM current_deployment),
            (SELECT string_agg(CAST(application_id AS TEXT) || ' ' || CAST(environment_id AS TEXT),
                               ',' ORDER BY application_id, environment_id)
               FROM current_deployment)";

/// The matrix epoch, the stamp's sum and the pairs whose revision is above `$1`
/// (`application_id environment_id revision`, comma-separated; at most `$2`, lowest first; see
/// `CurrentStateStore::pair_changes`), as one row from one snapshot.
pub(super) const PAIR_CHANGES: &str = "SELECT (SELECT epoch FROM matrix_epoch WHERE id = 1),
            (SELECT CAST(COALESCE(SUM(revision), 0) AS BIGINT) FROM current_deployment),
            (SELECT string_agg(CAST(application_id AS TEXT) || ' ' || CAST(environment_id AS TEXT)
                               || ' ' || CAST(revision AS TEXT), ',')
               FROM (SELECT application_id, environment_id, revision FROM current_deployment
                      WHERE revision > $1 ORDER BY revision LIMIT $2) changed)";

/// Reads [`PAIR_CHANGES`]' row.
pub(super) fn parse_pair_changes(
    epoch: i64,
    revision_sum: i64,
    changed: Option<String>,
) -> Result<app::ssr::PairChanges, app::ssr::StoreError> {
    let parse = |entry: &str| -> Option<((uuid::Uuid, uuid::Uuid), i64)> {
        let mut parts = entry.split(' ');
        let application = uuid::Uuid::parse_str(parts.next()?).ok()?;
        let environment = uuid::Uuid::parse_str(parts.next()?).ok()?;
        let revision = parts.next()?.parse().ok()?;
        Some(((application, environment), revision))
    };
    let changed = changed
        .as_deref()
        .map_or(Some(vec![]), |text| text.split(',').map(parse).collect())
        .ok_or_else(|| {
            app::ssr::StoreError::other(std::io::Error::other("malformed pair changes"))
        })?;
    Ok(app::ssr::PairChanges {
        epoch,
        revision_sum,
        changed,
    })
}

/// Reads [`PAIR_REVISIONS`]' row.
pub(super) fn parse_pair_revisions(
    epoch: i64,
    revisions: Option<String>,
    pairs: Option<String>,
) -> Result<app::ssr::PairRevisions, app::ssr::StoreError> {
    use app::ssr::StoreError;
    let malformed = || StoreError::other(std::io::Error::other("malformed pair revisions"));
    let revisions = revisions
        .as_deref()
        .map_or(Ok(vec![]), |text| text.split(',').map(str::parse).collect())
        .map_err(|_| malformed())?;
    let pairs = pairs
        .as_deref()
        .map_or(Ok(vec![]), |text| {
            text.split(',')
                .map(|pair| {
                    let (application, environment) = pair.split_once(' ').ok_or(())?;
                    Ok((
                        uuid::Uuid::parse_str(application).map_err(|_| ())?,
                        uuid::Uuid::parse_str(environment).map_err(|_| ())?,
                    ))
                })
                .collect::<Result<Vec<_>, ()>>()
        })
        .map_err(|_| malformed())?;
    Ok(app::ssr::PairRevisions {
        epoch,
        revisions,
        pairs,
    })
}

/// Every active pair's cell: its current deployment, named, with the version before it; the
/// sort_* columns carry the matrix order (see `Dialect::CELLS`). Callers add " AND …" filters.
pub(super) const CURRENT_STATE: &str = "
    SELECT c.application_id, a.name AS application_name,
           c.environment_id, e.name AS environment_name,
           c.deployment_id, c.version_id, v.version_identifier,
           v.created_at AS version_created_at, c.deployment_date, c.deployed_by,
           pv.version_identifier AS previous_version_identifier,
           pv.created_at AS previous_version_created_at,
           lower(a.name) AS sort_application, e.position AS sort_position,
           lower(e.name) AS sort_environment
      FROM current_deployment c
      JOIN application a ON a.id = c.application_id
      JOIN environment e ON e.id = c.environment_id
      JOIN version v ON v.id = c.version_id
      LEFT JOIN version pv ON pv.id = c.previous_version_id
     WHERE a.archived_at IS NULL AND e.archived_at IS NULL";

/// The current state and its changes.
macro_rules! current_state_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use app::ssr::store::{
                CurrentStateRecord, CurrentStateStore, MatrixStamp, PairChanges,
            };
            use app::ssr::store::{PairFilter, PairRevisions, StoreError};

            use crate::store::columns::{CellRow, DbId, JsonRow};
            use crate::store::current::{parse_pair_changes, parse_pair_revisions, CURRENT_STATE};
            use crate::store::current::{
                MATRIX_STAMP, PAIR_CHANGES, PAIR_REVISIONS, PAIR_REVISIONS_AND_KEYS,
            };
            use crate::store::dialect::{wrapped, Dialect};
            use crate::store::outcome::map_sqlx_error;

            #[async_trait::async_trait]
            impl CurrentStateStore for $store {
                #[tracing::instrument(level = "debug", skip_all)]
                async fn current_states(
                    &self,
                    pairs: PairFilter,
                ) -> Result<Vec<CurrentStateRecord>, StoreError> {
                    let query = wrapped(Self::CELLS, CellRow::COLUMNS, |qb| {
                        qb.push(CURRENT_STATE);
                        if let Some(id) = pairs.application_id {
                            qb.push(" AND a.id = ").push_bind(DbId(id));
                        }
                        if let Some(id) = pairs.environment_id {
                            qb.push(" AND e.id = ").push_bind(DbId(id));
                        }
                    });
                    self.fetch_cells(query).await
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn matrix_stamp(&self) -> Result<MatrixStamp, StoreError> {
                    sqlx::query_as::<_, (i64, i64)>(MATRIX_STAMP)
                        .fetch_one(self.reader())
                        .await
                        .map(|(epoch, revisions)| MatrixStamp { epoch, revisions })
                        .map_err(map_sqlx_error)
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn pair_revisions(
                    &self,
                    with_pairs: bool,
                ) -> Result<PairRevisions, StoreError> {
                    let sql = if with_pairs {
                        PAIR_REVISIONS_AND_KEYS
                    } else {
                        PAIR_REVISIONS
                    };
                    let (epoch, revisions, pairs) =
                        sqlx::query_as::<_, (i64, Option<String>, Option<String>)>(sql)
                            .fetch_one(self.reader())
                            .await
                            .map_err(map_sqlx_error)?;
                    parse_pair_revisions(epoch, revisions, pairs)
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn pair_changes(
                    &self,
                    above: i64,
                    limit: usize,
                ) -> Result<PairChanges, StoreError> {
                    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
                    let (epoch, revision_sum, changed) =
                        sqlx::query_as::<_, (i64, i64, Option<String>)>(PAIR_CHANGES)
                            .bind(above)
                            .bind(limit)
                            .fetch_one(self.reader())
                            .await
                            .map_err(map_sqlx_error)?;
                    parse_pair_changes(epoch, revision_sum, changed)
                }
            }
        };
    };
}
pub(super) use current_state_store;
