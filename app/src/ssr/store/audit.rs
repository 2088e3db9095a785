//! The audit trail (appended by every other area in the transaction of its change).

use super::StoreError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// One audit trail entry as stored (see migration 0010/0012): appended in the same transaction as
/// the change it describes, never altered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    /// Who acted (none for a failed sign-in); the username is a copy taken at the time.
    pub actor_id: Option<Uuid>,
    pub actor_username: Option<String>,
    /// The API token's name when the change came with one.
    pub token_name: Option<String>,
    pub client_address: Option<String>,
    /// `application.created`, `deployment.retracted`, `auth.login_failed`, …
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    /// JSON `{field: {"before": …, "after": …}}` for edits (and a retraction's reason).
    pub changes: Option<String>,
}

/// Narrows an audit trail read; every part optional.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub actor_id: Option<Uuid>,
    pub action: Option<String>,
    pub target_id: Option<String>,
    pub date_from: Option<DateTime<Utc>>,
    pub date_to: Option<DateTime<Utc>>,
}

/// A position in the audit trail's order (at, id — descending).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuditKey {
    pub at: DateTime<Utc>,
    pub id: Uuid,
}

/// Reading the audit trail.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// The audit trail, newest first, strictly after `after` in that order.
    async fn list_audit(
        &self,
        filter: &AuditFilter,
        after: Option<AuditKey>,
        limit: i64,
    ) -> Result<Vec<AuditRecord>, StoreError>;
}
