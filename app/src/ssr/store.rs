//! The storage contract. Each backend (SQLite, PostgreSQL) implements it in the `server` crate and
//! maps its own constraint names and driver errors into `StoreError`; callers never see sqlx.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::model::{
    ApiToken, Application, DeploymentFilter, Environment, HookDelivery, User, Version,
    WebhookDelivery,
};

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

/// A deployment to insert (validated by the service).
#[derive(Clone, Debug)]
pub struct NewDeployment {
    pub id: Uuid,
    pub application_id: Uuid,
    pub version_id: Uuid,
    pub environment_id: Uuid,
    pub deployment_date: DateTime<Utc>,
    pub deployed_by: Option<String>,
    pub notes: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// An `Idempotency-Key` to take in the same transaction as a deployment.
#[derive(Clone, Debug)]
pub struct IdempotencyClaim {
    pub user_id: Uuid,
    pub key: String,
    /// SHA-256 of the request as understood, so a reuse with another body is recognised.
    pub request_hash: String,
    pub created_at: DateTime<Utc>,
    /// Keys taken before this instant no longer count (and are pruned).
    pub expired_before: DateTime<Utc>,
}

/// A hook as stored: with what checks its deliveries (never sent to a client).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookRecord {
    pub id: Uuid,
    pub provider: String,
    pub name: String,
    /// GitHub only: the HMAC key itself (a signature cannot be checked against a hash).
    pub signing_secret: Option<String>,
    /// SHA-256 of the secret (GitLab sends the secret itself).
    pub secret_hash: String,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
}

/// What an earlier request with the same idempotency key recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub request_hash: String,
    pub deployment_id: Uuid,
}

/// The outcome of `insert_deployment`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inserted {
    Recorded,
    /// The idempotency key was already taken (perhaps by a concurrent request that committed
    /// first); nothing was inserted.
    KeyTaken(IdempotencyRecord),
}

/// A deployment row with the names it refers to, and the version that was current in the same
/// environment just before it (for rollback detection).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeploymentRecord {
    pub id: Uuid,
    pub application_id: Uuid,
    pub application_name: String,
    pub version_id: Uuid,
    pub version_identifier: String,
    pub version_created_at: DateTime<Utc>,
    pub environment_id: Uuid,
    pub environment_name: String,
    pub deployment_date: DateTime<Utc>,
    pub deployed_by: Option<String>,
    pub notes: Option<String>,
    pub created_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub deleted_by: Option<String>,
    pub delete_reason: Option<String>,
    /// (identifier, created_at) of the previous live deployment's version in this pair.
    pub previous_version: Option<(String, DateTime<Utc>)>,
}

/// One cell of the current-state matrix: what runs in a pair, and the version that ran there
/// just before it (for the rollback mark). Leaner than [`DeploymentRecord`]: the matrix reads
/// thousands of these at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurrentStateRecord {
    pub application_id: Uuid,
    pub application_name: String,
    pub environment_id: Uuid,
    pub environment_name: String,
    pub deployment_id: Uuid,
    pub version_id: Uuid,
    pub version_identifier: String,
    pub version_created_at: DateTime<Utc>,
    pub deployment_date: DateTime<Utc>,
    pub deployed_by: Option<String>,
    /// (identifier, created_at) of the previous live deployment's version in this pair.
    pub previous_version: Option<(String, DateTime<Utc>)>,
}

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

/// A deployment to the environments insights measure, with what followed it in its pair and
/// when its version first reached those environments and any other (see `insight_rows`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InsightRecord {
    pub deployment_id: Uuid,
    pub application_id: Uuid,
    pub environment_id: Uuid,
    pub version_id: Uuid,
    pub deployment_date: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub version_identifier: String,
    pub version_created_at: DateTime<Utc>,
    pub released_at: Option<DateTime<Utc>>,
    /// The next live deployment in the same pair, if any.
    pub next_date: Option<DateTime<Utc>>,
    pub next_version_identifier: Option<String>,
    pub next_version_created_at: Option<DateTime<Utc>>,
    /// The version's first live deployment to the measured environments / to any other.
    pub first_here: Option<DateTime<Utc>>,
    pub first_elsewhere: Option<DateTime<Utc>>,
}

/// A webhook target as stored: with its signing key (never sent to a client again).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookRecord {
    pub id: Uuid,
    pub url: String,
    /// Comma-separated event names.
    pub events: String,
    /// Comma-separated environment ids, or every environment.
    pub environment_ids: Option<String>,
    pub format: String,
    pub signing_secret: String,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
}

/// A position in the history order (deploymentDate, createdAt, id — descending).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoryKey {
    pub deployment_date: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

/// One live deployment as time travel keeps it (see [`Store::application_timeline`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimelineRecord {
    pub environment_id: Uuid,
    pub deployment_id: Uuid,
    pub deployment_date: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub version_id: Uuid,
    pub deployed_by: Option<String>,
}

/// What time travel needs of a version: how it is shown and how it compares (rollbacks).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionBrief {
    pub id: Uuid,
    pub version_identifier: String,
    pub created_at: DateTime<Utc>,
}

/// Narrows a current-state read.
#[derive(Clone, Copy, Debug, Default)]
pub struct PairFilter {
    pub application_id: Option<Uuid>,
    pub environment_id: Option<Uuid>,
}

/// The matrix epoch and every pair row's revision (raised by each record or retraction into
/// it), read in one snapshot, in the pairs' key order; `pairs` names them when asked for.
/// Within one epoch pair rows are only ever added, so two reads of one epoch with as many
/// revisions list the same pairs in the same order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PairRevisions {
    pub epoch: i64,
    pub revisions: Vec<i64>,
    /// (application id, environment id) per revision; empty unless asked for.
    pub pairs: Vec<(Uuid, Uuid)>,
}

/// The pairs whose revision rose above a given one (see [`Store::pair_changes`]), with the
/// epoch and the stamp's sum read in the same snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairChanges {
    pub epoch: i64,
    pub revision_sum: i64,
    /// ((application id, environment id), revision), lowest revision first; at most 33.
    pub changed: Vec<((Uuid, Uuid), i64)>,
}

/// Changes whenever anything the current-state matrix shows changes (a recorded or retracted
/// deployment, an application or environment edit), whichever server made the change: equal
/// stamps mean an equal matrix. (epoch, sum of pair revisions); see migration 0006. Neither part
/// ever falls without the epoch rising, so a later stamp compares greater.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct MatrixStamp {
    pub epoch: i64,
    pub revisions: i64,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Which backend this is, for logs and health output.
    fn backend(&self) -> &'static str;
    /// True when the database itself tells every instance about committed changes (PostgreSQL's
    /// NOTIFY, migration 0010); otherwise the service tells its own live feeds.
    fn announces_changes(&self) -> bool {
        false
    }
    async fn ping(&self) -> Result<(), StoreError>;

    async fn list_applications(
        &self,
        include_archived: bool,
    ) -> Result<Vec<Application>, StoreError>;
    /// Active applications (the dashboard's figure: counted, not listed).
    async fn count_active_applications(&self) -> Result<i64, StoreError>;
    async fn get_application(&self, id: Uuid) -> Result<Application, StoreError>;
    /// By name, case-insensitively (names are unique that way).
    async fn find_application(&self, name: &str) -> Result<Application, StoreError>;
    async fn insert_application(
        &self,
        application: &Application,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;
    /// By repository path, case-insensitively (unique that way).
    async fn find_application_by_repository(
        &self,
        repository: &str,
    ) -> Result<Application, StoreError>;
    async fn update_application(
        &self,
        application: &Application,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;

    /// Environments in pipeline order (position, then name).
    async fn list_environments(
        &self,
        include_archived: bool,
    ) -> Result<Vec<Environment>, StoreError>;
    async fn get_environment(&self, id: Uuid) -> Result<Environment, StoreError>;
    /// By name, case-insensitively (names are unique that way).
    async fn find_environment(&self, name: &str) -> Result<Environment, StoreError>;
    async fn insert_environment(
        &self,
        environment: &Environment,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;
    async fn update_environment(
        &self,
        environment: &Environment,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;
    /// One past the highest position in use (0 when there are none).
    async fn next_environment_position(&self) -> Result<i32, StoreError>;
    /// Gives `ordered_ids[i]` position `i`, all in one transaction.
    async fn set_environment_positions(
        &self,
        ordered_ids: &[Uuid],
        updated_at: DateTime<Utc>,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;

    async fn list_versions(
        &self,
        application_id: Uuid,
        include_archived: bool,
    ) -> Result<Vec<Version>, StoreError>;
    async fn get_version(&self, id: Uuid) -> Result<Version, StoreError>;
    /// A version of the application by its exact identifier (unique per application).
    async fn find_version(
        &self,
        application_id: Uuid,
        identifier: &str,
    ) -> Result<Version, StoreError>;
    async fn insert_version(
        &self,
        version: &Version,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;
    async fn update_version(
        &self,
        version: &Version,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;

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

    async fn insert_session(
        &self,
        session: &SessionRecord,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;
    async fn get_session(&self, secret_hash: &str) -> Result<SessionRecord, StoreError>;
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
    async fn find_token(&self, secret_hash: &str) -> Result<ApiToken, StoreError>;
    async fn touch_token(&self, id: Uuid, at: DateTime<Utc>) -> Result<(), StoreError>;
    async fn revoke_token(
        &self,
        id: Uuid,
        at: DateTime<Utc>,
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

    async fn insert_hook(&self, hook: &HookRecord, audit: &[AuditRecord])
        -> Result<(), StoreError>;
    /// All hooks, or those of one provider, oldest first.
    async fn list_hooks(&self, provider: Option<&str>) -> Result<Vec<HookRecord>, StoreError>;
    /// Deletes the hook and its deliveries.
    async fn delete_hook(&self, id: Uuid, audit: &[AuditRecord]) -> Result<(), StoreError>;
    /// Keeps the delivery and prunes the hook's to the newest `DELIVERIES_KEPT`; false (and
    /// nothing kept) when the hook already has one with this delivery id.
    async fn insert_delivery(&self, delivery: &HookDelivery) -> Result<bool, StoreError>;
    /// The hook's delivery with this provider id, if kept.
    async fn find_delivery(
        &self,
        hook_id: Uuid,
        delivery_id: &str,
    ) -> Result<Option<HookDelivery>, StoreError>;
    /// The hook's kept deliveries, newest first.
    async fn list_deliveries(&self, hook_id: Uuid) -> Result<Vec<HookDelivery>, StoreError>;

    /// Stored instants outside 1970–9999 (written before migration 0007 refused them), as
    /// "table id column value" lines for the start-up report.
    async fn out_of_range_instants(&self) -> Result<Vec<String>, StoreError>;

    /// Inserts the deployment and, in the same transaction, makes it the pair's current one if
    /// it is the latest by (deploymentDate, createdAt, id). With `new_version`, registers that
    /// version first (or, when the application already has its identifier, deploys that one);
    /// with `claim`, takes the idempotency key too, or inserts nothing if it is taken.
    async fn insert_deployment(
        &self,
        deployment: &NewDeployment,
        new_version: Option<&Version>,
        claim: Option<&IdempotencyClaim>,
        audit: &[AuditRecord],
        outbox: &[WebhookDelivery],
    ) -> Result<Inserted, StoreError>;
    /// What the key recorded, if it was taken at or after `since`.
    async fn find_idempotency_key(
        &self,
        user_id: Uuid,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;
    async fn get_deployment(&self, id: Uuid) -> Result<DeploymentRecord, StoreError>;
    /// History in order, strictly after `after`, at most `limit` rows.
    async fn list_deployments(
        &self,
        filter: &DeploymentFilter,
        after: Option<HistoryKey>,
        limit: i64,
    ) -> Result<Vec<DeploymentRecord>, StoreError>;
    /// The current deployment of every active (application, environment) pair that has one, in
    /// matrix order (applications by name, environments in pipeline order).
    async fn current_states(
        &self,
        pairs: PairFilter,
    ) -> Result<Vec<CurrentStateRecord>, StoreError>;
    /// The stamp of the current state as of now (read before the state it is to vouch for).
    async fn matrix_stamp(&self) -> Result<MatrixStamp, StoreError>;
    /// The parts the stamp sums, per pair (see [`PairRevisions`]), so a kept matrix can read
    /// again only the pairs that changed; `with_pairs` also names the pairs.
    async fn pair_revisions(&self, with_pairs: bool) -> Result<PairRevisions, StoreError>;
    /// The pairs whose revision is above `above`: revisions are drawn from one rising counter,
    /// so a kept matrix that saw revisions up to `above` reads only what changed since. A
    /// change may commit out of counter order (PostgreSQL); the sum tells the caller so.
    async fn pair_changes(&self, above: i64) -> Result<PairChanges, StoreError>;
    /// An application's live deployments (of one environment, or all), in no particular order,
    /// and then every version of the application (read after them, so each deployment's version
    /// is among them). Time travel keeps these in memory (one index range per application).
    async fn application_timeline(
        &self,
        application_id: Uuid,
        environment_id: Option<Uuid>,
    ) -> Result<(Vec<TimelineRecord>, Vec<VersionBrief>), StoreError>;
    /// Sets the deleted_* columns once and recomputes the pair's current deployment.
    /// `Conflict("id")` when it was already retracted.
    async fn retract_deployment(
        &self,
        id: Uuid,
        deleted_at: DateTime<Utc>,
        deleted_by: &str,
        reason: &str,
        audit: &[AuditRecord],
        outbox: &[WebhookDelivery],
    ) -> Result<(), StoreError>;
    /// Live deployments dated in [from, to).
    async fn count_deployments_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<i64, StoreError>;
    /// Live deployments per environment id.
    async fn count_deployments_per_environment(&self) -> Result<Vec<(Uuid, i64)>, StoreError>;

    /// Bulk import: inserts many deployments in one transaction *without* touching the current
    /// state; call `rebuild_current_deployments` afterwards.
    async fn insert_deployments_bulk(
        &self,
        deployments: &[NewDeployment],
    ) -> Result<(), StoreError>;
    /// The audit trail, newest first, strictly after `after` in that order.
    async fn list_audit(
        &self,
        filter: &AuditFilter,
        after: Option<AuditKey>,
        limit: i64,
    ) -> Result<Vec<AuditRecord>, StoreError>;
    /// Every deployment (retracted ones too) to `environment_ids` dated in [from, to), of one
    /// application or all, oldest first, with what followed each (see [`InsightRecord`]).
    /// Reads only that range (and one index seek per row), never the whole history.
    async fn insight_rows(
        &self,
        environment_ids: &[Uuid],
        application_id: Option<Uuid>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<InsightRecord>, StoreError>;
    async fn insert_webhook(
        &self,
        webhook: &WebhookRecord,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;
    async fn list_webhooks(&self) -> Result<Vec<WebhookRecord>, StoreError>;
    async fn delete_webhook(&self, id: Uuid, audit: &[AuditRecord]) -> Result<(), StoreError>;
    /// A webhook's log, newest first (the last [`WEBHOOK_DELIVERIES_KEPT`]).
    async fn list_webhook_deliveries(
        &self,
        webhook_id: Uuid,
    ) -> Result<Vec<WebhookDelivery>, StoreError>;
    /// Queues notifications outside a deployment's transaction ("send test", "redeliver").
    async fn insert_webhook_deliveries(
        &self,
        deliveries: &[WebhookDelivery],
    ) -> Result<(), StoreError>;
    /// Takes up to `limit` pending deliveries due at `now` that nobody holds, holding them until
    /// `lease_until` and counting the attempt. Two instances never take the same row at once;
    /// a holder that dies lets its rows fall due again when the lease ends.
    async fn claim_webhook_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<WebhookDelivery>, StoreError>;
    /// Stores an attempt's outcome (and releases the lease); prunes the webhook's log.
    async fn finish_webhook_delivery(&self, delivery: &WebhookDelivery) -> Result<(), StoreError>;
    /// Recomputes the whole current-state table from history.
    async fn rebuild_current_deployments(&self) -> Result<(), StoreError>;
}
