//! Outbound notifications: signed webhooks to Slack, Teams, Mattermost or any HTTP endpoint.

use super::*;

/// The events a webhook can subscribe to (the deploy policy's included).
pub const WEBHOOK_EVENTS: [&str; 10] = [
    "deployment.recorded",
    "deployment.retracted",
    "deployment.policy_violated",
    "freeze.started",
    "freeze.ended",
    "lock.created",
    "lock.released",
    "drift.breached",
    "drift.resolved",
    "drift.digest",
];

/// Deliveries each webhook keeps as its log.
pub const WEBHOOK_DELIVERIES_KEPT: i64 = 100;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewWebhook {
    /// Where to POST: `https://…` (or `http://`). Loopback and private addresses are refused
    /// unless the server allows them (`DEPLOYTRACK_WEBHOOK_ALLOW_PRIVATE`).
    #[cfg_attr(feature = "ssr", schema(min_length = 1, max_length = 2000))]
    pub url: String,
    /// `deployment.recorded` and/or `deployment.retracted`.
    pub events: Vec<String>,
    /// Only deployments to these environments; every environment when absent.
    #[serde(default)]
    pub environment_ids: Option<Vec<Uuid>>,
    /// `json` (`{event, deployment}`, the default) or `slack` (`{text}`, for Slack, Teams and
    /// Mattermost incoming webhooks).
    #[serde(default)]
    pub format: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<String>,
    pub environment_ids: Option<Vec<Uuid>>,
    pub format: String,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
}

/// A new webhook and its signing secret, shown this once.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// HMAC-SHA256 key of `X-Deploytrack-Signature`.
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    pub secret: Secret,
}

/// One notification to one webhook: pending until delivered, or failed after a day of retries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WebhookDelivery {
    pub id: Uuid,
    pub webhook_id: Uuid,
    pub event: String,
    pub deployment_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    /// The receiver's last HTTP status, if it answered.
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// For a freeze or lock event: what it is about (JSON), fixed when queued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}
