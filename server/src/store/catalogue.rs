//! Applications, environments and versions.

/// Registers a version; bound by `bind_version` (see `dialect::shared_helpers!`).
macro_rules! insert_version {
    () => {
        "INSERT INTO version (id, application_id, version_identifier,
                              released_at, notes, commit_sha, created_at, archived_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    };
}

pub(super) const INSERT_VERSION: &str = insert_version!();

/// As `INSERT_VERSION`, leaving an identifier the application already has alone.
pub(super) const INSERT_VERSION_IF_NEW: &str = concat!(
    insert_version!(),
    " ON CONFLICT (application_id, version_identifier) DO NOTHING"
);

/// Applications.
macro_rules! application_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use app::model::Application;
            use app::ssr::store::{ApplicationStore, AuditRecord, StoreError};
            use uuid::Uuid;

            use crate::store::columns::{ApplicationRow, DbId, DbTime};
            use crate::store::dialect::{Dialect, audited};
            use crate::store::outcome::{Outcome, Rows, expect_one, map_sqlx_error};

            impl $store {
                /// The statement that stores a new application (a catalogue import uses it too).
                pub(crate) fn insert_application_statement<'q>(
                    a: &'q Application,
                ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>> {
                    sqlx::query(
                        "INSERT INTO application
                           (id, name, description, repository, created_at, updated_at, archived_at, team_id)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(DbId(a.id))
                    .bind(&a.name)
                    .bind(&a.description)
                    .bind(&a.repository)
                    .bind(DbTime(a.created_at))
                    .bind(DbTime(a.updated_at))
                    .bind(a.archived_at.map(DbTime))
                    .bind(a.team_id.map(DbId))
                }
            }

            #[async_trait::async_trait]
            impl ApplicationStore for $store {
                #[tracing::instrument(level = "debug", skip_all)]
                async fn list_applications(&self, include_archived: bool) -> Result<Vec<Application>, StoreError> {
                    sqlx::query_as::<_, ApplicationRow>(
                        "SELECT * FROM application WHERE ($1 OR archived_at IS NULL) ORDER BY lower(name)",
                    )
                    .bind(include_archived)
                    .fetch_all(self.reader())
                    .await
                    .many()
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn count_active_applications(&self) -> Result<i64, StoreError> {
                    sqlx::query_scalar("SELECT COUNT(*) FROM application WHERE archived_at IS NULL")
                        .fetch_one(self.reader())
                        .await
                        .map_err(map_sqlx_error)
                }
                #[tracing::instrument(level = "debug", skip_all, fields(%id))]
                async fn get_application(&self, id: Uuid) -> Result<Application, StoreError> {
                    sqlx::query_as::<_, ApplicationRow>("SELECT * FROM application WHERE id = $1")
                        .bind(DbId(id))
                        .fetch_one(self.reader())
                        .await
                        .one()
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn find_application(&self, name: &str) -> Result<Application, StoreError> {
                    sqlx::query_as::<_, ApplicationRow>(
                        "SELECT * FROM application WHERE lower(name) = lower($1)",
                    )
                    .bind(name)
                    .fetch_one(self.reader())
                    .await
                    .one()
                }
                #[tracing::instrument(level = "debug", skip_all, fields(id = %a.id))]
                async fn insert_application(&self, a: &Application, audit: &[AuditRecord]) -> Result<(), StoreError> {
                    audited!(self, audit, |tx| Self::insert_application_statement(a)
                        .execute(tx)
                        .await?)
                    .done()
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn find_application_by_repository(
                    &self,
                    repository: &str,
                ) -> Result<Application, StoreError> {
                    sqlx::query_as::<_, ApplicationRow>(
                        "SELECT * FROM application WHERE lower(repository) = lower($1)",
                    )
                    .bind(repository)
                    .fetch_one(self.reader())
                    .await
                    .one()
                }
                #[tracing::instrument(level = "debug", skip_all, fields(id = %a.id))]
                async fn update_application(&self, a: &Application, audit: &[AuditRecord]) -> Result<(), StoreError> {
                    let result = audited!(self, audit, |tx| sqlx::query(
                        "UPDATE application SET name = $1, description = $2, repository = $3,
                                updated_at = $4, archived_at = $5, team_id = $7
                         WHERE id = $6",
                    )
                    .bind(&a.name)
                    .bind(&a.description)
                    .bind(&a.repository)
                    .bind(DbTime(a.updated_at))
                    .bind(a.archived_at.map(DbTime))
                    .bind(DbId(a.id))
                    .bind(a.team_id.map(DbId))
                    .execute(tx)
                    .await?
                    .rows_affected(), if |updated| *updated == 1);
                    expect_one(result)
                }
            }
        };
    };
}
pub(super) use application_store;

/// Environments, in pipeline order.
macro_rules! environment_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use app::model::Environment;
            use app::ssr::store::{AuditRecord, EnvironmentStore, StoreError};
            use chrono::{DateTime, Utc};
            use uuid::Uuid;

            use crate::store::columns::{DbId, DbTime, EnvironmentRow};
            use crate::store::dialect::{Dialect, audited};
            use crate::store::outcome::{Outcome, Rows, expect_one, map_sqlx_error};

            #[async_trait::async_trait]
            impl EnvironmentStore for $store {
                #[tracing::instrument(level = "debug", skip_all)]
                async fn list_environments(&self, include_archived: bool) -> Result<Vec<Environment>, StoreError> {
                    sqlx::query_as::<_, EnvironmentRow>(
                        "SELECT * FROM environment WHERE ($1 OR archived_at IS NULL)
                         ORDER BY position, lower(name)",
                    )
                    .bind(include_archived)
                    .fetch_all(self.reader())
                    .await
                    .many()
                }
                #[tracing::instrument(level = "debug", skip_all, fields(%id))]
                async fn get_environment(&self, id: Uuid) -> Result<Environment, StoreError> {
                    sqlx::query_as::<_, EnvironmentRow>("SELECT * FROM environment WHERE id = $1")
                        .bind(DbId(id))
                        .fetch_one(self.reader())
                        .await
                        .one()
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn find_environment(&self, name: &str) -> Result<Environment, StoreError> {
                    sqlx::query_as::<_, EnvironmentRow>(
                        "SELECT * FROM environment WHERE lower(name) = lower($1)",
                    )
                    .bind(name)
                    .fetch_one(self.reader())
                    .await
                    .one()
                }
                #[tracing::instrument(level = "debug", skip_all, fields(id = %e.id))]
                async fn insert_environment(&self, e: &Environment, audit: &[AuditRecord]) -> Result<(), StoreError> {
                    audited!(self, audit, |tx| sqlx::query(
                        "INSERT INTO environment
                           (id, name, description, position, is_production, created_at, updated_at, archived_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(DbId(e.id))
                    .bind(&e.name)
                    .bind(&e.description)
                    .bind(e.position)
                    .bind(e.is_production)
                    .bind(DbTime(e.created_at))
                    .bind(DbTime(e.updated_at))
                    .bind(e.archived_at.map(DbTime))
                    .execute(tx)
                    .await?)
                    .done()
                }
                #[tracing::instrument(level = "debug", skip_all, fields(id = %e.id))]
                async fn update_environment(&self, e: &Environment, audit: &[AuditRecord]) -> Result<(), StoreError> {
                    let result = audited!(self, audit, |tx| sqlx::query(
                        "UPDATE environment SET name = $1, description = $2, position = $3,
                                is_production = $4, updated_at = $5, archived_at = $6
                         WHERE id = $7",
                    )
                    .bind(&e.name)
                    .bind(&e.description)
                    .bind(e.position)
                    .bind(e.is_production)
                    .bind(DbTime(e.updated_at))
                    .bind(e.archived_at.map(DbTime))
                    .bind(DbId(e.id))
                    .execute(tx)
                    .await?
                    .rows_affected(), if |updated| *updated == 1);
                    expect_one(result)
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn count_active_environments(&self) -> Result<i64, StoreError> {
                    sqlx::query_scalar("SELECT COUNT(*) FROM environment WHERE archived_at IS NULL")
                        .fetch_one(self.reader())
                        .await
                        .map_err(map_sqlx_error)
                }

                #[tracing::instrument(level = "debug", skip_all)]
                async fn next_environment_position(&self) -> Result<i32, StoreError> {
                    sqlx::query_scalar("SELECT COALESCE(MAX(position) + 1, 0) FROM environment")
                        .fetch_one(self.reader())
                        .await
                        .map_err(map_sqlx_error)
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn set_environment_positions(
                    &self,
                    ordered_ids: &[Uuid],
                    updated_at: DateTime<Utc>,
                    audit: &[AuditRecord],
                ) -> Result<(), StoreError> {
                    audited!(self, audit, |tx| {
                        for (position, id) in ordered_ids.iter().enumerate() {
                            sqlx::query("UPDATE environment SET position = $1, updated_at = $2 WHERE id = $3")
                                .bind(position as i32)
                                .bind(DbTime(updated_at))
                                .bind(DbId(*id))
                                .execute(&mut *tx)
                                .await?;
                        }
                    })
                    .map_err(map_sqlx_error)
                }
            }
        };
    };
}
pub(super) use environment_store;

/// Versions.
macro_rules! version_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use app::model::Version;
            use app::ssr::store::{AuditRecord, StoreError, VersionStore};
            use uuid::Uuid;

            use crate::store::columns::{DbId, DbTime, VersionRow};
            use crate::store::dialect::{Dialect, audited};
            use crate::store::outcome::{Outcome, Rows, expect_one};
            use crate::store::catalogue::INSERT_VERSION;

            #[async_trait::async_trait]
            impl VersionStore for $store {
                #[tracing::instrument(level = "debug", skip_all, fields(%application_id))]
                async fn list_versions(
                    &self,
                    application_id: Uuid,
                    include_archived: bool,
                ) -> Result<Vec<Version>, StoreError> {
                    sqlx::query_as::<_, VersionRow>(
                        "SELECT * FROM version WHERE application_id = $1 AND ($2 OR archived_at IS NULL)
                         ORDER BY created_at DESC, id DESC",
                    )
                    .bind(DbId(application_id))
                    .bind(include_archived)
                    .fetch_all(self.reader())
                    .await
                    .many()
                }
                #[tracing::instrument(level = "debug", skip_all, fields(%id))]
                async fn get_version(&self, id: Uuid) -> Result<Version, StoreError> {
                    sqlx::query_as::<_, VersionRow>("SELECT * FROM version WHERE id = $1")
                        .bind(DbId(id))
                        .fetch_one(self.reader())
                        .await
                        .one()
                }
                #[tracing::instrument(level = "debug", skip_all, fields(%application_id))]
                async fn find_version(
                    &self,
                    application_id: Uuid,
                    identifier: &str,
                ) -> Result<Version, StoreError> {
                    sqlx::query_as::<_, VersionRow>(
                        "SELECT * FROM version WHERE application_id = $1 AND version_identifier = $2",
                    )
                    .bind(DbId(application_id))
                    .bind(identifier)
                    .fetch_one(self.reader())
                    .await
                    .one()
                }
                #[tracing::instrument(level = "debug", skip_all, fields(id = %v.id))]
                async fn insert_version(&self, v: &Version, audit: &[AuditRecord]) -> Result<(), StoreError> {
                    audited!(self, audit, |tx| Self::bind_version(INSERT_VERSION, v).execute(tx).await?).done()
                }
                #[tracing::instrument(level = "debug", skip_all, fields(id = %v.id))]
                async fn update_version(&self, v: &Version, audit: &[AuditRecord]) -> Result<(), StoreError> {
                    let result = audited!(self, audit, |tx| sqlx::query(
                        "UPDATE version SET released_at = $1, notes = $2, archived_at = $3 WHERE id = $4",
                    )
                    .bind(v.released_at.map(DbTime))
                    .bind(&v.notes)
                    .bind(v.archived_at.map(DbTime))
                    .bind(DbId(v.id))
                    .execute(tx)
                    .await?
                    .rows_affected(), if |updated| *updated == 1);
                    expect_one(result)
                }
            }
        };
    };
}
pub(super) use version_store;
