//! Every business rule lives here, once. REST handlers and server functions are thin doors onto
//! it: each call names the acting user, and the role check happens here, not at the door.

mod access;
mod audit;
mod catalog;
mod compare;
pub mod deployments;
mod grid;
pub mod hooks;
mod insights;
mod kept;
mod matrix_cache;
mod recording;
mod timelines;
pub mod webhooks;

use std::sync::Arc;

use chrono::{DateTime, SubsecRound, Utc};

use super::store::{Store, StoreError};
use crate::error::AppError;
use crate::model::{Role, User};

pub use access::{AccessPolicy, Credential};
pub use audit::{RequestOrigin, REQUEST_ORIGIN};
pub use matrix_cache::MatrixJsonPage;

pub struct Service {
    store: Arc<dyn Store>,
    /// Announces each recorded or retracted deployment (its id) to live dashboards.
    events: tokio::sync::broadcast::Sender<uuid::Uuid>,
    /// Wakes this server's webhook notifier when this server queued notifications (a record
    /// without any waits for nobody: asking the database would cost every record a query).
    queued_notifications: tokio::sync::Notify,
    policy: AccessPolicy,
    /// The full current-state matrix as the REST API's JSON body and as the dashboard's view.
    matrix: kept::Kept<matrix_cache::Matrix>,
    /// Every pair's live deployments, for time travel.
    timelines: kept::Kept<timelines::Timelines>,
    /// The dashboard's figures, for as long as nothing they count has changed.
    figures: kept::Kept<deployments::KeptFigures>,
    webhooks: webhooks::WebhookPolicy,
}

/// Timestamps are kept to the microsecond so both backends store them exactly.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
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

/// Turns a storage failure into the error a caller sees; `what` names the missing thing.
fn store_error(what: &str) -> impl Fn(StoreError) -> AppError + '_ {
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

impl Service {
    pub fn new(store: Arc<dyn Store>, policy: AccessPolicy) -> Self {
        Self {
            store,
            events: tokio::sync::broadcast::channel(256).0,
            queued_notifications: tokio::sync::Notify::new(),
            policy,
            matrix: kept::Kept::new(),
            timelines: kept::Kept::new(),
            figures: kept::Kept::new(),
            webhooks: webhooks::WebhookPolicy::default(),
        }
    }

    /// The same service with outbound webhooks paced and guarded by `policy`.
    pub fn with_webhook_policy(mut self, policy: webhooks::WebhookPolicy) -> Self {
        self.webhooks = policy;
        self
    }

    /// Returns once this server has queued webhook notifications since the last call (at once
    /// if it did meanwhile). Other servers' notifications are found by polling.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn notifications_queued(&self) {
        self.queued_notifications.notified().await
    }

    fn wake_notifier(&self, queued: &[crate::model::WebhookDelivery]) {
        if !queued.is_empty() {
            self.queued_notifications.notify_one();
        }
    }

    /// Live feed of deployment changes (ids; nil: refetch everything), for server-sent events.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<uuid::Uuid> {
        self.events.subscribe()
    }

    /// Tells this server's live feeds that deployment `id` changed (nil: something else the
    /// dashboard shows), unless the database tells every instance itself.
    fn announce(&self, id: uuid::Uuid) {
        if !self.store.announces_changes() {
            let _ = self.events.send(id);
        }
    }

    /// True when changes made through other servers arrive by the database (PostgreSQL's
    /// NOTIFY) and need a listener to pass them on; see [`Self::forward_change`].
    pub fn database_announces_changes(&self) -> bool {
        self.store.announces_changes()
    }

    /// Passes on a change the database announced (PostgreSQL's LISTEN) to this server's feeds.
    pub fn forward_change(&self, id: uuid::Uuid) {
        let _ = self.events.send(id);
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
