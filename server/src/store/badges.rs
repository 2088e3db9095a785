//! Badge keys (hashes of their secrets only) and saved views, the same text on both backends.

macro_rules! badge_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use app::model::BadgeKey;
            use app::ssr::store::{AuditRecord, BadgeStore, StoreError};
            use chrono::{DateTime, Utc};
            use uuid::Uuid;

            use crate::store::columns::{BadgeKeyRow, DbId, DbTime};
            use crate::store::dialect::{Dialect, audited};
            use crate::store::outcome::{Outcome, Rows, expect_one};

            const COLUMNS: &str = "id, name, application_id, created_at, revoked_at";

            #[async_trait::async_trait]
            impl BadgeStore for $store {
                #[tracing::instrument(level = "debug", skip_all, fields(id = %k.id))]
                async fn insert_badge_key(&self, k: &BadgeKey, secret_hash: &str, created_by: Uuid, audit: &[AuditRecord]) -> Result<(), StoreError> {
                    audited!(self, audit, |tx| sqlx::query(
                        "INSERT INTO badge_key (id, name, application_id, secret_hash, created_by, created_at, revoked_at)
                         VALUES ($1, $2, $3, $4, $5, $6, NULL)",
                    )
                    .bind(DbId(k.id))
                    .bind(&k.name)
                    .bind(k.application_id.map(DbId))
                    .bind(secret_hash)
                    .bind(DbId(created_by))
                    .bind(DbTime(k.created_at))
                    .execute(tx)
                    .await?)
                    .done()
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn list_badge_keys(&self) -> Result<Vec<BadgeKey>, StoreError> {
                    sqlx::query_as::<_, BadgeKeyRow>(&format!("SELECT {COLUMNS} FROM badge_key ORDER BY created_at DESC, id DESC"))
                        .fetch_all(self.reader())
                        .await
                        .many()
                }
                #[tracing::instrument(level = "debug", skip_all, fields(%id))]
                async fn get_badge_key(&self, id: Uuid) -> Result<BadgeKey, StoreError> {
                    sqlx::query_as::<_, BadgeKeyRow>(&format!("SELECT {COLUMNS} FROM badge_key WHERE id = $1"))
                        .bind(DbId(id))
                        .fetch_one(self.reader())
                        .await
                        .one()
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn find_badge_key(&self, secret_hash: &str) -> Result<BadgeKey, StoreError> {
                    sqlx::query_as::<_, BadgeKeyRow>(&format!("SELECT {COLUMNS} FROM badge_key WHERE secret_hash = $1"))
                        .bind(secret_hash)
                        .fetch_one(self.reader())
                        .await
                        .one()
                }
                #[tracing::instrument(level = "debug", skip_all, fields(%id))]
                async fn revoke_badge_key(&self, id: Uuid, at: DateTime<Utc>, audit: &[AuditRecord]) -> Result<(), StoreError> {
                    // Only a live key is revoked (and audited); revoking again changes nothing.
                    let result = audited!(self, audit, |tx| {
                        let revoked = sqlx::query("UPDATE badge_key SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                            .bind(DbTime(at))
                            .bind(DbId(id))
                            .execute(&mut *tx)
                            .await?
                            .rows_affected();
                        let exists: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM badge_key WHERE id = $1")
                            .bind(DbId(id))
                            .fetch_one(&mut *tx)
                            .await?;
                        (revoked, exists)
                    }, if |outcome| outcome.0 == 1);
                    expect_one(result.map(|(_, exists)| exists as u64))
                }
            }
        };
    };
}
pub(super) use badge_store;

/// Saved views, the same text on both backends.
macro_rules! view_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use app::model::SavedView;
            use app::ssr::store::{AuditRecord, StoreError, ViewStore};
            use uuid::Uuid;

            use crate::store::columns::{DbId, DbTime, SavedViewRow};
            use crate::store::dialect::{Dialect, audited};
            use crate::store::outcome::{Outcome, Rows, expect_one};

            #[async_trait::async_trait]
            impl ViewStore for $store {
                #[tracing::instrument(level = "debug", skip_all, fields(id = %v.id))]
                async fn insert_view(&self, v: &SavedView, audit: &[AuditRecord]) -> Result<(), StoreError> {
                    audited!(self, audit, |tx| sqlx::query(
                        "INSERT INTO saved_view (id, name, path, query, shared, owner_id, created_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(DbId(v.id))
                    .bind(&v.name)
                    .bind(&v.path)
                    .bind(&v.query)
                    .bind(v.shared)
                    .bind(DbId(v.owner_id))
                    .bind(DbTime(v.created_at))
                    .execute(tx)
                    .await?)
                    .done()
                }
                #[tracing::instrument(level = "debug", skip_all, fields(%user_id))]
                async fn list_views(&self, user_id: Uuid) -> Result<Vec<SavedView>, StoreError> {
                    sqlx::query_as::<_, SavedViewRow>(
                        "SELECT * FROM saved_view WHERE shared OR owner_id = $1
                          ORDER BY shared DESC, lower(name), id",
                    )
                    .bind(DbId(user_id))
                    .fetch_all(self.reader())
                    .await
                    .many()
                }
                #[tracing::instrument(level = "debug", skip_all, fields(%id))]
                async fn get_view(&self, id: Uuid) -> Result<SavedView, StoreError> {
                    sqlx::query_as::<_, SavedViewRow>("SELECT * FROM saved_view WHERE id = $1")
                        .bind(DbId(id))
                        .fetch_one(self.reader())
                        .await
                        .one()
                }
                #[tracing::instrument(level = "debug", skip_all, fields(%id))]
                async fn delete_view(&self, id: Uuid, audit: &[AuditRecord]) -> Result<(), StoreError> {
                    let result = audited!(self, audit, |tx| sqlx::query("DELETE FROM saved_view WHERE id = $1")
                        .bind(DbId(id))
                        .execute(tx)
                        .await?
                        .rows_affected(), if |deleted| *deleted == 1);
                    expect_one(result)
                }
            }
        };
    };
}
pub(super) use view_store;
