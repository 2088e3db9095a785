//! The storage contract, by area: a file per area (catalogue, access, hooks, deployments,
//! current state, audit, insights, webhooks, policy), each with its trait or traits (catalogue has one for
//! applications, environments and versions), so each part of the service names only the areas
//! it uses. Each backend (SQLite, PostgreSQL) implements them all in the `server` crate and maps
//! its own constraint names and driver errors into `StoreError`; callers never see sqlx.

use async_trait::async_trait;

use crate::error::AppError;

mod access;
mod audit;
mod badges;
mod catalogue;
mod changes;
mod checkpoints;
mod current;
mod deployments;
mod drift;
mod hooks;
mod insights;
mod policy;
mod teams;
mod webhooks;

pub use access::*;
pub use audit::*;
pub use badges::*;
pub use catalogue::*;
pub use changes::*;
pub use checkpoints::*;
pub use current::*;
pub use deployments::*;
pub use drift::*;
pub use hooks::*;
pub use insights::*;
pub use policy::*;
pub use teams::*;
pub use webhooks::*;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken; the value is the API field name that collided.
    #[error("conflict on {0}")]
    Conflict(&'static str),
    /// The database refused a value it cannot represent (a control character PostgreSQL cannot
    /// store, an instant outside its range). The service validates first; this is the backstop
    /// that keeps such input a client error.
    #[error("value refused by the database: {0}")]
    Invalid(String),
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
        ("ux_application_repository", "repository"),
        ("ux_environment_name", "name"),
        ("ux_version_identifier", "versionIdentifier"),
        ("version.version_identifier", "versionIdentifier"),
        ("ux_user_username", "username"),
        ("ux_team_name", "name"),
        ("ux_lock_scope", "lock"),
        ("deploy_lock.scope", "lock"),
    ];
    INDEXES
        .iter()
        .find(|(index, _)| message_or_constraint.contains(index))
        .map(|(_, field)| *field)
}

/// A whole backend: every area, and what concerns the database as such.
#[async_trait]
pub trait Store:
    ApplicationStore
    + EnvironmentStore
    + VersionStore
    + UserStore
    + CredentialStore
    + IdentityStore
    + HookStore
    + DeploymentStore
    + HistoryStore
    + CurrentStateStore
    + CheckpointStore
    + AuditStore
    + BadgeStore
    + ViewStore
    + TeamStore
    + DriftStore
    + InsightStore
    + WebhookStore
    + PolicyStore
    + ChangeStore
    + Send
    + Sync
    + 'static
{
    /// Which backend this is, for logs and health output.
    fn backend(&self) -> &'static str;
    /// True when the database itself tells every instance about committed changes (PostgreSQL's
    /// NOTIFY, migration 0010); otherwise the service tells its own live feeds.
    fn announces_changes(&self) -> bool {
        false
    }
    async fn ping(&self) -> Result<(), StoreError>;
    /// Stored instants outside 1970–9999 (written before migration 0007 refused them), as
    /// "table id column value" lines for the start-up report.
    async fn out_of_range_instants(&self) -> Result<Vec<String>, StoreError>;
}

/// Turns a storage failure into the error a caller sees; `what` names the missing thing.
pub fn store_error(what: &str) -> impl Fn(StoreError) -> AppError + '_ {
    move |err| match err {
        StoreError::NotFound => AppError::NotFound(format!("{what} not found")),
        StoreError::Conflict(field) => AppError::Conflict {
            field: field.to_string(),
            message: format!("{what} with this {field} already exists"),
        },
        StoreError::Invalid(cause) => {
            tracing::warn!(error = %cause, "the database refused a value while handling {what}");
            AppError::field(
                "request",
                "contains a value the database cannot store (control characters, or dates outside 1970-01-01 to 9999-12-31)",
            )
        }
        StoreError::Other(cause) => {
            tracing::error!(error = %cause, "storage failure while handling {what}");
            AppError::Internal
        }
    }
}
