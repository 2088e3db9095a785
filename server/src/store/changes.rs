//! Commits and their ranges (issue 36).

/// Rows per multi-row INSERT: well under both backends' bound-parameter limits.
pub(super) const INSERT_CHUNK: usize = 500;

/// How far the walk through ranges goes from the version it starts at.
pub(super) const REACHABLE: &str = "
    WITH RECURSIVE reach (version_id, steps) AS (
        SELECT $1, 0
        UNION
        SELECT r.base_version_id, reach.steps + 1
          FROM reach JOIN commit_range r ON r.version_id = reach.version_id
         WHERE r.base_version_id IS NOT NULL AND r.base_is_ancestor AND reach.steps < $2
    )
    SELECT version_id, CAST(MIN(steps) AS INTEGER) FROM reach GROUP BY version_id";

/// Commits and the ranges they were sent in.
macro_rules! change_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use app::model::Version;
            use chrono::{DateTime, Utc};
            use app::ssr::store::{
                AuditRecord, ChangeStore, CommitRangeRecord, CommitRecord, RangeCommitRecord,
                ReachedVersion, StoreError,
            };
            use uuid::Uuid;

            use crate::store::changes::{INSERT_CHUNK, REACHABLE};
            use crate::store::columns::{CommitRangeRow, DbId, DbTime, RangeCommitRow, VersionRow};
            use crate::store::dialect::{audited, Dialect};
            use crate::store::outcome::{map_sqlx_error, Rows};

            #[async_trait::async_trait]
            impl ChangeStore for $store {
                #[tracing::instrument(level = "debug", skip_all, fields(version = %range.version_id, commits = commits.len()))]
                async fn insert_commit_range(
                    &self,
                    application_id: Uuid,
                    range: &CommitRangeRecord,
                    commits: &[CommitRecord],
                    audit: &[AuditRecord],
                ) -> Result<bool, StoreError> {
                    let inserted = audited!(self, audit, |tx| {
                        let inserted = sqlx::query(
                            "INSERT INTO commit_range
                               (id, version_id, since_sha, base_version_id, base_is_ancestor,
                                commit_count, truncated, created_at)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                             ON CONFLICT (version_id, since_sha) DO NOTHING",
                        )
                        .bind(DbId(range.id))
                        .bind(DbId(range.version_id))
                        .bind(&range.since_sha)
                        .bind(range.base_version_id.map(DbId))
                        .bind(range.base_is_ancestor)
                        .bind(range.commit_count)
                        .bind(range.truncated)
                        .bind(DbTime(range.created_at))
                        .execute(&mut *tx)
                        .await?
                        .rows_affected()
                            == 1;
                        if inserted {
                            for chunk in commits.chunks(INSERT_CHUNK) {
                                let mut qb = sqlx::QueryBuilder::<$db>::new(
                                    "INSERT INTO source_commit
                                       (application_id, sha, title, author, authored_at, url) ",
                                );
                                qb.push_values(chunk, |mut row, c| {
                                    row.push_bind(DbId(application_id))
                                        .push_bind(c.sha.clone())
                                        .push_bind(c.title.clone())
                                        .push_bind(c.author.clone())
                                        .push_bind(DbTime(c.authored_at))
                                        .push_bind(c.url.clone());
                                });
                                qb.push(" ON CONFLICT (application_id, sha) DO NOTHING");
                                qb.build().execute(&mut *tx).await?;
                            }
                            for (index, chunk) in commits.chunks(INSERT_CHUNK).enumerate() {
                                let mut qb = sqlx::QueryBuilder::<$db>::new(
                                    "INSERT INTO range_commit (range_id, position, sha) ",
                                );
                                qb.push_values(chunk.iter().enumerate(), |mut row, (offset, c)| {
                                    row.push_bind(DbId(range.id))
                                        .push_bind((index * INSERT_CHUNK + offset) as i32)
                                        .push_bind(c.sha.clone());
                                });
                                qb.build().execute(&mut *tx).await?;
                            }
                        }
                        inserted
                    }, if |inserted| *inserted);
                    inserted.map_err(map_sqlx_error)
                }

                #[tracing::instrument(level = "debug", skip_all, fields(%application_id))]
                async fn version_by_commit(
                    &self,
                    application_id: Uuid,
                    sha: &str,
                ) -> Result<Option<Uuid>, StoreError> {
                    let found: Option<DbId> = sqlx::query_scalar(
                        "SELECT id FROM version
                          WHERE application_id = $1 AND commit_sha IS NOT NULL
                            AND (commit_sha = $2 OR $2 LIKE commit_sha || '%' OR commit_sha LIKE $2 || '%')
                          ORDER BY created_at DESC, id DESC LIMIT 1",
                    )
                    .bind(DbId(application_id))
                    .bind(sha)
                    .fetch_optional(self.reader())
                    .await
                    .map_err(map_sqlx_error)?;
                    Ok(found.map(|id| id.0))
                }

                #[tracing::instrument(level = "debug", skip_all, fields(%version_id))]
                async fn reachable_versions(
                    &self,
                    version_id: Uuid,
                    max_steps: i32,
                ) -> Result<Vec<ReachedVersion>, StoreError> {
                    let rows: Vec<(DbId, i32)> = sqlx::query_as(REACHABLE)
                        .bind(DbId(version_id))
                        .bind(max_steps)
                        .fetch_all(self.reader())
                        .await
                        .map_err(map_sqlx_error)?;
                    Ok(rows
                        .into_iter()
                        .map(|(id, steps)| ReachedVersion { version_id: id.0, steps })
                        .collect())
                }

                #[tracing::instrument(level = "debug", skip_all, fields(versions = version_ids.len()))]
                async fn commit_ranges(
                    &self,
                    version_ids: &[Uuid],
                ) -> Result<Vec<CommitRangeRecord>, StoreError> {
                    if version_ids.is_empty() {
                        return Ok(vec![]);
                    }
                    let mut qb = sqlx::QueryBuilder::<$db>::new(
                        "SELECT * FROM commit_range WHERE version_id IN ",
                    );
                    Self::push_id_list(&mut qb, version_ids);
                    qb.push(" ORDER BY created_at, id");
                    qb.build_query_as::<CommitRangeRow>()
                        .fetch_all(self.reader())
                        .await
                        .many()
                }

                #[tracing::instrument(level = "debug", skip_all, fields(ranges = range_ids.len()))]
                async fn range_commits(
                    &self,
                    application_id: Uuid,
                    range_ids: &[Uuid],
                    excluded_versions: &[Uuid],
                ) -> Result<Vec<RangeCommitRecord>, StoreError> {
                    if range_ids.is_empty() {
                        return Ok(vec![]);
                    }
                    let (ranges, excluded) = (range_ids.to_vec(), excluded_versions.to_vec());
                    let rows: Vec<RangeCommitRow> = self
                        .json_rows(move |qb| {
                            qb.push(
                                "SELECT rc.range_id, rc.position, rc.sha, c.title, c.author,
                                        c.authored_at, c.url
                                   FROM range_commit rc
                                   JOIN source_commit c ON c.application_id = ",
                            )
                            .push_bind(DbId(application_id))
                            .push(" AND c.sha = rc.sha WHERE rc.range_id IN ");
                            Self::push_id_list(qb, &ranges);
                            if !excluded.is_empty() {
                                qb.push(
                                    " AND NOT EXISTS (SELECT 1 FROM range_commit x
                                        JOIN commit_range xr ON xr.id = x.range_id
                                       WHERE x.sha = rc.sha AND xr.version_id IN ",
                                );
                                Self::push_id_list(qb, &excluded);
                                qb.push(")");
                            }
                        })
                        .await?;
                    Ok(rows
                        .into_iter()
                        .map(|row| RangeCommitRecord {
                            range_id: row.range_id,
                            position: row.position,
                            commit: CommitRecord {
                                sha: row.sha,
                                title: row.title,
                                author: row.author,
                                authored_at: row.authored_at.0,
                                url: row.url,
                            },
                        })
                        .collect())
                }

                #[tracing::instrument(level = "debug", skip_all, fields(versions = version_ids.len()))]
                async fn version_commit_times(
                    &self,
                    version_ids: &[Uuid],
                ) -> Result<Vec<(Uuid, String, DateTime<Utc>)>, StoreError> {
                    let mut found = vec![];
                    for chunk in version_ids.chunks(INSERT_CHUNK) {
                        let mut qb = sqlx::QueryBuilder::<$db>::new(
                            "SELECT r.version_id, rc.sha, c.authored_at
                               FROM commit_range r
                               JOIN range_commit rc ON rc.range_id = r.id
                               JOIN version v ON v.id = r.version_id
                               JOIN source_commit c ON c.application_id = v.application_id AND c.sha = rc.sha
                              WHERE r.version_id IN ",
                        );
                        Self::push_id_list(&mut qb, chunk);
                        let rows: Vec<(DbId, String, DbTime)> = qb
                            .build_query_as()
                            .fetch_all(self.reader())
                            .await
                            .map_err(map_sqlx_error)?;
                        found.extend(rows.into_iter().map(|(id, sha, at)| (id.0, sha, at.0)));
                    }
                    Ok(found)
                }

                #[tracing::instrument(level = "debug", skip_all, fields(versions = ids.len()))]
                async fn versions_by_ids(&self, ids: &[Uuid]) -> Result<Vec<Version>, StoreError> {
                    if ids.is_empty() {
                        return Ok(vec![]);
                    }
                    let mut qb = sqlx::QueryBuilder::<$db>::new("SELECT * FROM version WHERE id IN ");
                    Self::push_id_list(&mut qb, ids);
                    qb.build_query_as::<VersionRow>()
                        .fetch_all(self.reader())
                        .await
                        .many()
                }
            }
        };
    };
}
pub(super) use change_store;
