//! Users and the sign-in throttle; browser sessions and API tokens (hashes of their secrets only).

/// The login throttle's statements (migration 0007), the same text on both backends: sqlx binds
/// `$n` on SQLite too. Instants compare correctly as SQLite's fixed-width text.
pub(super) const LOGIN_FAILURES: &str =
    "SELECT CAST(failures AS BIGINT), last_failure_at FROM login_throttle
      WHERE throttle_key = $1 AND last_failure_at >= $2";

/// Binds: key, at, since. A count whose last failure is older than `since` starts again at 1.
pub(super) const RECORD_LOGIN_FAILURE: &str =
    "INSERT INTO login_throttle (throttle_key, failures, last_failure_at)
     VALUES ($1, 1, $2)
     ON CONFLICT (throttle_key) DO UPDATE
        SET failures = CASE WHEN login_throttle.last_failure_at < $3 THEN 1
                            ELSE login_throttle.failures + 1 END,
            last_failure_at = excluded.last_failure_at";

pub(super) const PRUNE_LOGIN_FAILURES: &str =
    "DELETE FROM login_throttle WHERE last_failure_at < $1";

pub(super) const CLEAR_LOGIN_FAILURES: &str = "DELETE FROM login_throttle WHERE throttle_key = $1";

/// Users, their passwords, and the sign-in throttle (the same text on both backends).
macro_rules! user_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use app::model::User;
            use app::ssr::store::{AuditRecord, StoreError, UserStore};
            use chrono::{DateTime, Utc};
            use uuid::Uuid;

            use crate::store::columns::{CredentialsRow, DbId, DbRole, DbTime, UserRow};
            use crate::store::dialect::{Dialect, audited};
            use crate::store::outcome::{Outcome, Rows, expect_one, map_sqlx_error};
            use crate::store::access::{LOGIN_FAILURES, RECORD_LOGIN_FAILURE, PRUNE_LOGIN_FAILURES, CLEAR_LOGIN_FAILURES};

            #[async_trait::async_trait]
            impl UserStore for $store {
                #[tracing::instrument(level = "debug", skip_all)]
                async fn count_users(&self) -> Result<i64, StoreError> {
                    sqlx::query_scalar("SELECT COUNT(*) FROM app_user")
                        .fetch_one(self.reader())
                        .await
                        .map_err(map_sqlx_error)
                }
                #[tracing::instrument(level = "debug", skip_all, fields(id = %u.id))]
                async fn insert_user(&self, u: &User, password_hash: &str, audit: &[AuditRecord]) -> Result<(), StoreError> {
                    audited!(self, audit, |tx| sqlx::query(
                        "INSERT INTO app_user
                           (id, username, display_name, role, password_hash, created_at, updated_at, disabled_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $6, $7)",
                    )
                    .bind(DbId(u.id))
                    .bind(&u.username)
                    .bind(&u.display_name)
                    .bind(DbRole(u.role))
                    .bind(password_hash)
                    .bind(DbTime(u.created_at))
                    .bind(u.disabled_at.map(DbTime))
                    .execute(tx)
                    .await?)
                    .done()
                }
                #[tracing::instrument(level = "debug", skip_all, fields(%id))]
                async fn get_user(&self, id: Uuid) -> Result<User, StoreError> {
                    sqlx::query_as::<_, UserRow>("SELECT * FROM app_user WHERE id = $1")
                        .bind(DbId(id))
                        .fetch_one(self.reader())
                        .await
                        .one()
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn find_credentials(&self, username: &str) -> Result<(User, String), StoreError> {
                    sqlx::query_as::<_, CredentialsRow>("SELECT * FROM app_user WHERE lower(username) = lower($1)")
                        .bind(username)
                        .fetch_one(self.reader())
                        .await
                        .one()
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn list_users(&self) -> Result<Vec<User>, StoreError> {
                    sqlx::query_as::<_, UserRow>("SELECT * FROM app_user ORDER BY lower(username)")
                        .fetch_all(self.reader())
                        .await
                        .many()
                }
                #[tracing::instrument(level = "debug", skip_all, fields(id = %u.id))]
                async fn update_user(&self, u: &User, updated_at: DateTime<Utc>, audit: &[AuditRecord]) -> Result<(), StoreError> {
                    let result = audited!(self, audit, |tx| sqlx::query(
                        "UPDATE app_user SET display_name = $1, role = $2, disabled_at = $3, updated_at = $4
                         WHERE id = $5",
                    )
                    .bind(&u.display_name)
                    .bind(DbRole(u.role))
                    .bind(u.disabled_at.map(DbTime))
                    .bind(DbTime(updated_at))
                    .bind(DbId(u.id))
                    .execute(tx)
                    .await?
                    .rows_affected(), if |updated| *updated == 1);
                    expect_one(result)
                }
                #[tracing::instrument(level = "debug", skip_all, fields(%user_id))]
                async fn set_password_hash(
                    &self,
                    user_id: Uuid,
                    password_hash: &str,
                    updated_at: DateTime<Utc>,
                    audit: &[AuditRecord],
                ) -> Result<(), StoreError> {
                    let result = audited!(self, audit, |tx| sqlx::query(
                        "UPDATE app_user SET password_hash = $1, updated_at = $2 WHERE id = $3",
                    )
                    .bind(password_hash)
                    .bind(DbTime(updated_at))
                    .bind(DbId(user_id))
                    .execute(tx)
                    .await?
                    .rows_affected(), if |updated| *updated == 1);
                    expect_one(result)
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn login_failures(
                    &self,
                    key: &str,
                    since: DateTime<Utc>,
                ) -> Result<Option<(i64, DateTime<Utc>)>, StoreError> {
                    sqlx::query_as::<_, (i64, DbTime)>(LOGIN_FAILURES)
                        .bind(key)
                        .bind(DbTime(since))
                        .fetch_optional(self.reader())
                        .await
                        .map(|row| row.map(|(failures, last)| (failures, last.0)))
                        .map_err(map_sqlx_error)
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn record_login_failure(
                    &self,
                    key: &str,
                    at: DateTime<Utc>,
                    since: DateTime<Utc>,
                    audit: &[AuditRecord],
                ) -> Result<(), StoreError> {
                    audited!(self, audit, |tx| {
                        sqlx::query(PRUNE_LOGIN_FAILURES).bind(DbTime(since)).execute(&mut *tx).await?;
                        sqlx::query(RECORD_LOGIN_FAILURE)
                            .bind(key)
                            .bind(DbTime(at))
                            .bind(DbTime(since))
                            .execute(&mut *tx)
                            .await?;
                    })
                    .map_err(map_sqlx_error)
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn clear_login_failures(&self, key: &str) -> Result<(), StoreError> {
                    sqlx::query(CLEAR_LOGIN_FAILURES)
                        .bind(key)
                        .execute(&mut *self.writer().await.map_err(map_sqlx_error)?)
                        .await
                        .done()
                }
            }
        };
    };
}
pub(super) use user_store;

/// Browser sessions and API tokens.
macro_rules! credential_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use app::model::{ApiToken, User};
            use app::ssr::store::{AuditRecord, CredentialStore, SessionRecord, StoreError};
            use chrono::{DateTime, Utc};
            use uuid::Uuid;

            use crate::store::columns::{DbId, DbTime, SessionHolderRow, SessionRow, TokenHolderRow, TokenRow};
            use crate::store::dialect::{Dialect, audited};
            use crate::store::outcome::{Outcome, Rows, expect_one, map_sqlx_error};

            #[async_trait::async_trait]
            impl CredentialStore for $store {
                #[tracing::instrument(level = "debug", skip_all, fields(user_id = %s.user_id))]
                async fn insert_session(&self, s: &SessionRecord, audit: &[AuditRecord]) -> Result<(), StoreError> {
                    audited!(self, audit, |tx| sqlx::query(
                        "INSERT INTO user_session (secret_hash, user_id, created_at, last_seen_at, expires_at)
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(&s.secret_hash)
                    .bind(DbId(s.user_id))
                    .bind(DbTime(s.created_at))
                    .bind(DbTime(s.last_seen_at))
                    .bind(DbTime(s.expires_at))
                    .execute(tx)
                    .await?)
                    .done()
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn get_session(&self, secret_hash: &str) -> Result<SessionRecord, StoreError> {
                    sqlx::query_as::<_, SessionRow>("SELECT * FROM user_session WHERE secret_hash = $1")
                        .bind(secret_hash)
                        .fetch_one(self.reader())
                        .await
                        .one()
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn find_session_holder(&self, secret_hash: &str) -> Result<(SessionRecord, User), StoreError> {
                    sqlx::query_as::<_, SessionHolderRow>(
                        "SELECT u.*, s.secret_hash, s.created_at AS session_created_at, s.last_seen_at, s.expires_at
                           FROM user_session s JOIN app_user u ON u.id = s.user_id
                          WHERE s.secret_hash = $1",
                    )
                    .bind(secret_hash)
                    .fetch_one(self.reader())
                    .await
                    .one()
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn touch_session(&self, secret_hash: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
                    sqlx::query("UPDATE user_session SET last_seen_at = $1 WHERE secret_hash = $2")
                        .bind(DbTime(at))
                        .bind(secret_hash)
                        .execute(&mut *self.writer().await.map_err(map_sqlx_error)?)
                        .await
                        .done()
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn delete_session(&self, secret_hash: &str, audit: &[AuditRecord]) -> Result<(), StoreError> {
                    audited!(self, audit, |tx| sqlx::query("DELETE FROM user_session WHERE secret_hash = $1")
                        .bind(secret_hash)
                        .execute(tx)
                        .await?)
                    .done()
                }
                #[tracing::instrument(level = "debug", skip_all, fields(%user_id))]
                async fn delete_sessions_of(&self, user_id: Uuid) -> Result<(), StoreError> {
                    sqlx::query("DELETE FROM user_session WHERE user_id = $1")
                        .bind(DbId(user_id))
                        .execute(&mut *self.writer().await.map_err(map_sqlx_error)?)
                        .await
                        .done()
                }
                #[tracing::instrument(level = "debug", skip_all, fields(id = %t.id))]
                async fn insert_token(&self, t: &ApiToken, secret_hash: &str, audit: &[AuditRecord]) -> Result<(), StoreError> {
                    audited!(self, audit, |tx| sqlx::query(
                        "INSERT INTO api_token
                           (id, user_id, name, secret_hash, created_at, last_used_at, expires_at, revoked_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(DbId(t.id))
                    .bind(DbId(t.user_id))
                    .bind(&t.name)
                    .bind(secret_hash)
                    .bind(DbTime(t.created_at))
                    .bind(t.last_used_at.map(DbTime))
                    .bind(t.expires_at.map(DbTime))
                    .bind(t.revoked_at.map(DbTime))
                    .execute(tx)
                    .await?)
                    .done()
                }
                #[tracing::instrument(level = "debug", skip_all, fields(%user_id))]
                async fn list_tokens(&self, user_id: Uuid) -> Result<Vec<ApiToken>, StoreError> {
                    sqlx::query_as::<_, TokenRow>(
                        "SELECT * FROM api_token WHERE user_id = $1 ORDER BY created_at DESC, id DESC",
                    )
                    .bind(DbId(user_id))
                    .fetch_all(self.reader())
                    .await
                    .many()
                }
                #[tracing::instrument(level = "debug", skip_all, fields(%id))]
                async fn get_token(&self, id: Uuid) -> Result<ApiToken, StoreError> {
                    sqlx::query_as::<_, TokenRow>("SELECT * FROM api_token WHERE id = $1")
                        .bind(DbId(id))
                        .fetch_one(self.reader())
                        .await
                        .one()
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn find_token_holder(&self, secret_hash: &str) -> Result<(ApiToken, User), StoreError> {
                    sqlx::query_as::<_, TokenHolderRow>(
                        "SELECT u.*, t.id AS token_id, t.name AS token_name,
                                t.created_at AS token_created_at, t.last_used_at, t.expires_at, t.revoked_at
                           FROM api_token t JOIN app_user u ON u.id = t.user_id
                          WHERE t.secret_hash = $1",
                    )
                    .bind(secret_hash)
                    .fetch_one(self.reader())
                    .await
                    .one()
                }
                #[tracing::instrument(level = "debug", skip_all, fields(%id))]
                async fn touch_token(&self, id: Uuid, at: DateTime<Utc>) -> Result<(), StoreError> {
                    sqlx::query("UPDATE api_token SET last_used_at = $1 WHERE id = $2")
                        .bind(DbTime(at))
                        .bind(DbId(id))
                        .execute(&mut *self.writer().await.map_err(map_sqlx_error)?)
                        .await
                        .done()
                }
                #[tracing::instrument(level = "debug", skip_all, fields(%id))]
                async fn revoke_token(&self, id: Uuid, at: DateTime<Utc>, audit: &[AuditRecord]) -> Result<(), StoreError> {
                    // Only a live token is revoked (and audited); revoking again changes nothing.
                    let result = audited!(self, audit, |tx| {
                        let revoked = sqlx::query("UPDATE api_token SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                            .bind(DbTime(at))
                            .bind(DbId(id))
                            .execute(&mut *tx)
                            .await?
                            .rows_affected();
                        let exists: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_token WHERE id = $1")
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
pub(super) use credential_store;

/// People and pipelines known by a provider, and sign-ins under way.
macro_rules! identity_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use app::model::User;
            use app::ssr::store::{AuditRecord, IdentityStore, LoginAttempt, StoreError};

            use crate::store::columns::{DbId, DbRole, DbTime, LoginAttemptRow, UserRow};
            use crate::store::dialect::{Dialect, audited};
            use crate::store::outcome::{Outcome, map_sqlx_error};

            #[async_trait::async_trait]
            impl IdentityStore for $store {
                #[tracing::instrument(level = "debug", skip_all)]
                async fn find_identity(&self, issuer: &str, subject: &str) -> Result<User, StoreError> {
                    sqlx::query_as::<_, UserRow>(
                        "SELECT u.* FROM user_identity i JOIN app_user u ON u.id = i.user_id
                          WHERE i.issuer = $1 AND i.subject = $2",
                    )
                    .bind(issuer)
                    .bind(subject)
                    .fetch_one(self.reader())
                    .await
                    .one()
                }
                #[tracing::instrument(level = "debug", skip_all, fields(id = %u.id))]
                async fn insert_identity(&self, u: &User, issuer: &str, subject: &str, audit: &[AuditRecord]) -> Result<(), StoreError> {
                    audited!(self, audit, |tx| {
                        sqlx::query(
                            "INSERT INTO app_user
                               (id, username, display_name, role, password_hash, created_at, updated_at, disabled_at)
                             VALUES ($1, $2, $3, $4, '', $5, $5, NULL)",
                        )
                        .bind(DbId(u.id))
                        .bind(&u.username)
                        .bind(&u.display_name)
                        .bind(DbRole(u.role))
                        .bind(DbTime(u.created_at))
                        .execute(&mut *tx)
                        .await?;
                        sqlx::query(
                            "INSERT INTO user_identity (issuer, subject, user_id, created_at) VALUES ($1, $2, $3, $4)",
                        )
                        .bind(issuer)
                        .bind(subject)
                        .bind(DbId(u.id))
                        .bind(DbTime(u.created_at))
                        .execute(&mut *tx)
                        .await?
                    })
                    .done()
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn insert_login_attempt(&self, a: &LoginAttempt) -> Result<(), StoreError> {
                    let mut writer = self.writer().await.map_err(map_sqlx_error)?;
                    sqlx::query("DELETE FROM oidc_login WHERE expires_at < $1")
                        .bind(DbTime(a.created_at))
                        .execute(&mut *writer)
                        .await
                        .map_err(map_sqlx_error)?;
                    sqlx::query(
                        "INSERT INTO oidc_login (state_hash, nonce, pkce_verifier, next_path, created_at, expires_at)
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(&a.state_hash)
                    .bind(&a.nonce)
                    .bind(&a.pkce_verifier)
                    .bind(&a.next_path)
                    .bind(DbTime(a.created_at))
                    .bind(DbTime(a.expires_at))
                    .execute(&mut *writer)
                    .await
                    .done()
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn take_login_attempt(&self, state_hash: &str) -> Result<LoginAttempt, StoreError> {
                    sqlx::query_as::<_, LoginAttemptRow>("DELETE FROM oidc_login WHERE state_hash = $1 RETURNING *")
                        .bind(state_hash)
                        .fetch_one(&mut *self.writer().await.map_err(map_sqlx_error)?)
                        .await
                        .one()
                }
                #[tracing::instrument(level = "debug", skip_all)]
                async fn append_audit_only(&self, audit: &[AuditRecord]) -> Result<(), StoreError> {
                    audited!(self, audit, |_tx| ()).map_err(map_sqlx_error)
                }
            }
        };
    };
}
pub(super) use identity_store;
