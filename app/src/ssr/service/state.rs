//! The service value itself: what it holds (the store, what it keeps in memory, the live-feed
//! channel, its policies) and the helpers every part of it uses (role checks, cursors).

use std::sync::Arc;

use crate::error::AppError;
use crate::model::{Role, User};
use crate::ssr::kept::figures::KeptFigures;
use crate::ssr::kept::matrix::Matrix;
use crate::ssr::kept::Kept;
use crate::ssr::store::{
    ApplicationStore, AuditStore, BadgeStore, ChangeStore, CredentialStore, CurrentStateStore,
    DeploymentStore, DriftStore, EnvironmentStore, HistoryStore, HookStore, IdentityStore,
    InsightStore, PolicyStore, Store, TeamStore, UserStore, VersionStore, ViewStore, WebhookStore,
};

use super::access::AccessPolicy;
use super::webhooks;

/// What changed, as the live feeds tell browsers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// This deployment was recorded or retracted.
    Deployment(uuid::Uuid),
    /// Something else the dashboard shows changed (an application, an environment), or
    /// changes may have been missed: refetch everything.
    Everything,
}

impl Change {
    /// The live feed's event data: the deployment's id, or the nil id for "refetch everything".
    pub fn event_data(self) -> String {
        match self {
            Change::Deployment(id) => id.to_string(),
            Change::Everything => uuid::Uuid::nil().to_string(),
        }
    }
}

pub struct Service {
    store: Arc<dyn Store>,
    /// Announces each recorded or retracted deployment (its id) to live dashboards.
    pub(super) events: tokio::sync::broadcast::Sender<Change>,
    /// Wakes this server's webhook notifier when this server queued notifications (a record
    /// without any waits for nobody: asking the database would cost every record a query).
    pub(super) queued_notifications: tokio::sync::Notify,
    pub(super) policy: AccessPolicy,
    /// The full current-state matrix as the REST API's JSON body and as the dashboard's view.
    matrix: Kept<Matrix>,
    /// Live deployments between time-travel checkpoints (None: as many as a quarter of the
    /// matrix's cells; see `checkpoints`).
    pub(super) checkpoint_every: Option<i64>,
    /// Where answers found too many deployments after their checkpoint (back-dated records
    /// pile up between two): the builder adds one there.
    pub(super) checkpoints_wanted: std::sync::Mutex<Vec<chrono::DateTime<chrono::Utc>>>,
    /// Wakes the builder for those.
    pub(super) checkpoint_wanted: tokio::sync::Notify,
    /// The dashboard's figures, for as long as nothing they count has changed.
    figures: Kept<KeptFigures>,
    pub(super) webhooks: webhooks::WebhookPolicy,
    /// What deploy checks and records read besides the catalogue (see `policy::PolicyInputs`).
    pub(super) policy_inputs: std::sync::Mutex<Option<Arc<super::policy::PolicyInputs>>>,
    /// Ticket keys and compare links for what changed between versions.
    pub(super) changes: super::changes::ChangeSettings,
    /// When each team's drift digest goes out (none when not configured).
    pub(super) drift_digest: Option<super::drift::DigestSchedule>,
}

/// Refuses with 403 unless `actor` has at least `role`.
pub(crate) fn require(actor: &User, role: Role) -> Result<(), AppError> {
    if actor.can(role) {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "this needs the {} role; you are {}",
            role.as_str(),
            actor.role.as_str()
        )))
    }
}

/// Cursors are opaque to clients: URL-safe base64 of the last row's position, its parts joined
/// by `|`.
pub(crate) fn encode_cursor_parts(parts: &[String]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(parts.join("|"))
}

/// The parts of a cursor made by [`encode_cursor_parts`]; 400 for anything else.
pub(crate) fn decode_cursor_parts(cursor: &str) -> Result<Vec<String>, AppError> {
    use base64::Engine;
    let invalid = || {
        AppError::BadRequest(
            "invalid cursor: pass the nextCursor value of the previous page unchanged".into(),
        )
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| invalid())?;
    let raw = String::from_utf8(bytes).map_err(|_| invalid())?;
    Ok(raw.split('|').map(str::to_string).collect())
}

impl Service {
    pub fn new(store: Arc<dyn Store>, policy: AccessPolicy) -> Self {
        Self {
            store,
            events: tokio::sync::broadcast::channel(256).0,
            queued_notifications: tokio::sync::Notify::new(),
            policy,
            matrix: Kept::new(),
            checkpoint_every: None,
            checkpoints_wanted: Default::default(),
            checkpoint_wanted: tokio::sync::Notify::new(),
            figures: Kept::new(),
            webhooks: webhooks::WebhookPolicy::default(),
            policy_inputs: Default::default(),
            changes: Default::default(),
            drift_digest: None,
        }
    }

    /// The same service with ticket keys and compare links read as `settings` says.
    pub fn with_change_settings(mut self, settings: super::changes::ChangeSettings) -> Self {
        self.changes = settings;
        self
    }

    /// The same service with outbound webhooks paced and guarded by `policy`.
    pub fn with_webhook_policy(mut self, policy: webhooks::WebhookPolicy) -> Self {
        self.webhooks = policy;
        self
    }

    /// Returns once this server has queued webhook notifications since the last call (at once
    /// if it did meanwhile). Other servers' notifications are found by polling.
    pub async fn notifications_queued(&self) {
        self.queued_notifications.notified().await
    }

    pub(super) fn wake_notifier(&self, queued: &[crate::model::WebhookDelivery]) {
        if !queued.is_empty() {
            self.queued_notifications.notify_one();
        }
    }

    /// Live feed of deployment changes (ids; nil: refetch everything), for server-sent events.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Change> {
        self.events.subscribe()
    }

    /// Tells this server's live feeds that deployment `id` changed (nil: something else the
    /// dashboard shows), unless the database tells every instance itself.
    pub(super) fn announce(&self, change: Change) {
        if !self.store.announces_changes() {
            let _ = self.events.send(change);
        }
    }

    /// True when changes made through other servers arrive by the database (PostgreSQL's
    /// NOTIFY) and need a listener to pass them on; see [`Self::forward_change`].
    pub fn database_announces_changes(&self) -> bool {
        self.store.announces_changes()
    }

    /// Passes on a change the database announced (PostgreSQL's LISTEN) to this server's feeds.
    pub fn forward_change(&self, change: Change) {
        let _ = self.events.send(change);
    }

    pub fn backend(&self) -> &'static str {
        self.store.backend()
    }

    /// True when the database answers.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn database_reachable(&self) -> bool {
        self.store.ping().await.is_ok()
    }
}

/// The store one area at a time: each part of the service names the areas it reads and writes
/// (the whole store goes only to what the server keeps in memory).
impl Service {
    pub(super) fn application_store(&self) -> &dyn ApplicationStore {
        &*self.store
    }

    pub(super) fn environment_store(&self) -> &dyn EnvironmentStore {
        &*self.store
    }

    pub(super) fn version_store(&self) -> &dyn VersionStore {
        &*self.store
    }

    pub(super) fn user_store(&self) -> &dyn UserStore {
        &*self.store
    }

    pub(super) fn credential_store(&self) -> &dyn CredentialStore {
        &*self.store
    }

    pub(super) fn identity_store(&self) -> &dyn IdentityStore {
        &*self.store
    }

    pub(super) fn badge_store(&self) -> &dyn BadgeStore {
        &*self.store
    }

    pub(super) fn view_store(&self) -> &dyn ViewStore {
        &*self.store
    }

    pub(super) fn drift_store(&self) -> &dyn DriftStore {
        &*self.store
    }

    pub(super) fn team_store(&self) -> &dyn TeamStore {
        &*self.store
    }

    pub(super) fn change_store(&self) -> &dyn ChangeStore {
        &*self.store
    }

    pub(super) fn hook_store(&self) -> &dyn HookStore {
        &*self.store
    }

    pub(super) fn deployment_store(&self) -> &dyn DeploymentStore {
        &*self.store
    }

    pub(super) fn history_store(&self) -> &dyn HistoryStore {
        &*self.store
    }

    pub(super) fn current_state_store(&self) -> &dyn CurrentStateStore {
        &*self.store
    }

    pub(super) fn audit_store(&self) -> &dyn AuditStore {
        &*self.store
    }

    pub(super) fn insight_store(&self) -> &dyn InsightStore {
        &*self.store
    }

    pub(super) fn policy_store(&self) -> &dyn PolicyStore {
        self.store.as_ref()
    }

    pub(super) fn webhook_store(&self) -> &dyn WebhookStore {
        &*self.store
    }

    pub(super) async fn kept_matrix(&self) -> Result<Arc<Matrix>, AppError> {
        self.matrix.get(&*self.store).await
    }

    /// Reads what the first matrix or time-travel answer would otherwise wait for: the kept
    /// matrix (today's pairs and names, as large as the matrix, not the history). At 10M
    /// deployments on PostgreSQL that read was ~80 ms of a restarted server's first time-travel
    /// answer.
    pub async fn warm_up(&self) -> Result<(), AppError> {
        self.kept_matrix().await.map(|_| ())
    }

    /// Every area at once (for what reads several, like time travel).
    pub(super) fn whole_store(&self) -> &dyn Store {
        &*self.store
    }

    pub(super) async fn kept_figures(&self) -> Result<Arc<KeptFigures>, AppError> {
        self.figures.get(&*self.store).await
    }
}
