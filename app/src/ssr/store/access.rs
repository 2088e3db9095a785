//! Users and the sign-in throttle; the credentials callers present (browser sessions, API
//! tokens).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{AuditRecord, StoreError};
use crate::model::{ApiToken, User};

/// A browser session; only the hash of its secret is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    pub secret_hash: String,
    pub user_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// Absolute end of the session, whatever the activity.
    pub expires_at: DateTime<Utc>,
}

/// Users, their passwords, and the sign-in throttle.
#[async_trait]
pub trait UserStore: Send + Sync {
    async fn count_users(&self) -> Result<i64, StoreError>;
    async fn insert_user(
        &self,
        user: &User,
        password_hash: &str,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;
    async fn get_user(&self, id: Uuid) -> Result<User, StoreError>;
    /// The user and their password hash, by username (case-insensitive).
    async fn find_credentials(&self, username: &str) -> Result<(User, String), StoreError>;
    async fn list_users(&self) -> Result<Vec<User>, StoreError>;
    /// Saves role, display name and disabled state.
    async fn update_user(
        &self,
        user: &User,
        updated_at: DateTime<Utc>,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;
    async fn set_password_hash(
        &self,
        user_id: Uuid,
        password_hash: &str,
        updated_at: DateTime<Utc>,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;
    /// Failed sign-ins under `key` since `since`, and when the last one was (the login
    /// throttle; kept in the database so it holds across instances and restarts).
    async fn login_failures(
        &self,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<(i64, DateTime<Utc>)>, StoreError>;
    /// Counts one more failure under `key` at `at` (restarting the count when the last one was
    /// before `since`) and prunes keys with no failure since `since`.
    async fn record_login_failure(
        &self,
        key: &str,
        at: DateTime<Utc>,
        since: DateTime<Utc>,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;
    async fn clear_login_failures(&self, key: &str) -> Result<(), StoreError>;
}

/// What a caller presents: browser sessions and API tokens (only hashes of their secrets).
#[async_trait]
pub trait CredentialStore: Send + Sync {
    async fn insert_session(
        &self,
        session: &SessionRecord,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;
    async fn get_session(&self, secret_hash: &str) -> Result<SessionRecord, StoreError>;
    /// The session with its user, in one read.
    async fn find_session_holder(
        &self,
        secret_hash: &str,
    ) -> Result<(SessionRecord, User), StoreError>;
    async fn touch_session(&self, secret_hash: &str, at: DateTime<Utc>) -> Result<(), StoreError>;
    async fn delete_session(
        &self,
        secret_hash: &str,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;
    async fn delete_sessions_of(&self, user_id: Uuid) -> Result<(), StoreError>;
    async fn insert_token(
        &self,
        token: &ApiToken,
        secret_hash: &str,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;
    /// A user's tokens, newest first.
    async fn list_tokens(&self, user_id: Uuid) -> Result<Vec<ApiToken>, StoreError>;
    async fn get_token(&self, id: Uuid) -> Result<ApiToken, StoreError>;
    /// The token with its user, in one read.
    async fn find_token_holder(&self, secret_hash: &str) -> Result<(ApiToken, User), StoreError>;
    async fn touch_token(&self, id: Uuid, at: DateTime<Utc>) -> Result<(), StoreError>;
    async fn revoke_token(
        &self,
        id: Uuid,
        at: DateTime<Utc>,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;
}

/// A sign-in through the provider, between the redirect there and the callback.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginAttempt {
    /// SHA-256 of the `state` sent (the state itself lives only in the browser's cookie and URL).
    pub state_hash: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// Where to go after signing in (a local path).
    pub next_path: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// People and pipelines known by a provider's name for them, and sign-ins under way.
#[async_trait]
pub trait IdentityStore: Send + Sync {
    /// The user the provider `issuer` calls `subject`.
    async fn find_identity(&self, issuer: &str, subject: &str) -> Result<User, StoreError>;
    /// A new user without a password, known to `issuer` as `subject`. `Conflict("username")`
    /// when the username is taken.
    async fn insert_identity(
        &self,
        user: &User,
        issuer: &str,
        subject: &str,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;
    /// Keeps a sign-in under way (and forgets those expired before its start).
    async fn insert_login_attempt(&self, attempt: &LoginAttempt) -> Result<(), StoreError>;
    /// Takes (deletes and returns) the sign-in under way with this state hash; `NotFound` when
    /// there is none (never started, already taken, or pruned).
    async fn take_login_attempt(&self, state_hash: &str) -> Result<LoginAttempt, StoreError>;
    /// Writes audit entries about something that changed nothing else (a refused credential).
    async fn append_audit_only(&self, audit: &[AuditRecord]) -> Result<(), StoreError>;
}
