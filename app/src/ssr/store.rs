//! The storage contract. Each backend (SQLite, PostgreSQL) implements it in the `server` crate and
//! maps its own constraint names and driver errors into `StoreError`; callers never see sqlx.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::model::{ApiToken, Application, Environment, User, Version};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken; the value is the API field name that collided.
    #[error("conflict on {0}")]
    Conflict(&'static str),
    #[error("storage failure: {0}")]
    Other(Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    pub fn other(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Other(Box::new(err))
    }
}

/// Unique indexes are named alike on both backends; this says which API field each protects.
/// PostgreSQL reports the index name; SQLite names expression indexes but lists the columns of
/// plain ones, so both spellings are here.
pub fn field_of_unique_index(message_or_constraint: &str) -> Option<&'static str> {
    const INDEXES: &[(&str, &str)] = &[
        ("ux_application_name", "name"),
        ("ux_environment_name", "name"),
        ("ux_version_identifier", "versionIdentifier"),
        ("version.version_identifier", "versionIdentifier"),
        ("ux_user_username", "username"),
    ];
    INDEXES
        .iter()
        .find(|(index, _)| message_or_constraint.contains(index))
        .map(|(_, field)| *field)
}

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

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Which backend this is, for logs and health output.
    fn backend(&self) -> &'static str;
    async fn ping(&self) -> Result<(), StoreError>;

    async fn list_applications(
        &self,
        include_archived: bool,
    ) -> Result<Vec<Application>, StoreError>;
    async fn get_application(&self, id: Uuid) -> Result<Application, StoreError>;
    async fn insert_application(&self, application: &Application) -> Result<(), StoreError>;
    async fn update_application(&self, application: &Application) -> Result<(), StoreError>;

    /// Environments in pipeline order (position, then name).
    async fn list_environments(
        &self,
        include_archived: bool,
    ) -> Result<Vec<Environment>, StoreError>;
    async fn get_environment(&self, id: Uuid) -> Result<Environment, StoreError>;
    async fn insert_environment(&self, environment: &Environment) -> Result<(), StoreError>;
    async fn update_environment(&self, environment: &Environment) -> Result<(), StoreError>;
    /// One past the highest position in use (0 when there are none).
    async fn next_environment_position(&self) -> Result<i32, StoreError>;
    /// Gives `ordered_ids[i]` position `i`, all in one transaction.
    async fn set_environment_positions(
        &self,
        ordered_ids: &[Uuid],
        updated_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    async fn list_versions(
        &self,
        application_id: Uuid,
        include_archived: bool,
    ) -> Result<Vec<Version>, StoreError>;
    async fn get_version(&self, id: Uuid) -> Result<Version, StoreError>;
    async fn insert_version(&self, version: &Version) -> Result<(), StoreError>;
    async fn update_version(&self, version: &Version) -> Result<(), StoreError>;

    async fn count_users(&self) -> Result<i64, StoreError>;
    async fn insert_user(&self, user: &User, password_hash: &str) -> Result<(), StoreError>;
    async fn get_user(&self, id: Uuid) -> Result<User, StoreError>;
    /// The user and their password hash, by username (case-insensitive).
    async fn find_credentials(&self, username: &str) -> Result<(User, String), StoreError>;
    async fn list_users(&self) -> Result<Vec<User>, StoreError>;
    /// Saves role, display name and disabled state.
    async fn update_user(&self, user: &User, updated_at: DateTime<Utc>) -> Result<(), StoreError>;
    async fn set_password_hash(
        &self,
        user_id: Uuid,
        password_hash: &str,
        updated_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    async fn insert_session(&self, session: &SessionRecord) -> Result<(), StoreError>;
    async fn get_session(&self, secret_hash: &str) -> Result<SessionRecord, StoreError>;
    async fn touch_session(&self, secret_hash: &str, at: DateTime<Utc>) -> Result<(), StoreError>;
    async fn delete_session(&self, secret_hash: &str) -> Result<(), StoreError>;
    async fn delete_sessions_of(&self, user_id: Uuid) -> Result<(), StoreError>;

    async fn insert_token(&self, token: &ApiToken, secret_hash: &str) -> Result<(), StoreError>;
    /// A user's tokens, newest first.
    async fn list_tokens(&self, user_id: Uuid) -> Result<Vec<ApiToken>, StoreError>;
    async fn get_token(&self, id: Uuid) -> Result<ApiToken, StoreError>;
    async fn find_token(&self, secret_hash: &str) -> Result<ApiToken, StoreError>;
    async fn touch_token(&self, id: Uuid, at: DateTime<Utc>) -> Result<(), StoreError>;
    async fn revoke_token(&self, id: Uuid, at: DateTime<Utc>) -> Result<(), StoreError>;
}
