//! The audit trail: every state change and security event, append-only.

use super::*;

/// Every action the trail records.
pub const AUDIT_ACTIONS: [&str; 49] = [
    "auth.login",
    "auth.login_failed",
    "auth.logout",
    "auth.sso_refused",
    "auth.ci_token_refused",
    "token.created",
    "token.revoked",
    "badge_key.created",
    "badge_key.revoked",
    "user.created",
    "user.updated",
    "user.role_changed",
    "user.disabled",
    "user.enabled",
    "user.password_changed",
    "application.created",
    "application.updated",
    "application.archived",
    "team.created",
    "team.updated",
    "team.deleted",
    "team.members_changed",
    "drift_policy.set",
    "drift_policy.deleted",
    "import.backstage",
    "environment.created",
    "environment.updated",
    "environment.archived",
    "environment.reordered",
    "version.created",
    "version.updated",
    "version.archived",
    "version.commits_added",
    "deployment.recorded",
    "deployment.retracted",
    "deployment.policy_violated",
    "freeze.created",
    "freeze.deleted",
    "freeze.ended",
    "lock.created",
    "lock.released",
    "promotion_rule.updated",
    "promotion_rule.deleted",
    "hook.created",
    "hook.deleted",
    "webhook.created",
    "webhook.deleted",
    "view.created",
    "view.deleted",
];

/// Who acted: the user as they were named at the time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditActor {
    pub id: Uuid,
    pub username: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    /// `null` for a failed sign-in (nobody proved who they were).
    pub actor: Option<AuditActor>,
    /// The API token's name when the change came with a token (for a hook's delivery:
    /// `github hook 'acme'`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_name: Option<String>,
    pub client_address: Option<String>,
    /// One of [`AUDIT_ACTIONS`].
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    /// For edits: `{field: {"before": …, "after": …}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub changes: Option<serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Filters and paging of `GET /api/audit`; every part optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuditQuery {
    #[serde(default)]
    pub actor_id: Option<Uuid>,
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub target_id: Option<String>,
    #[serde(default)]
    pub date_from: Option<DateTime<Utc>>,
    #[serde(default)]
    pub date_to: Option<DateTime<Utc>>,
    #[serde(default)]
    pub cursor: Option<String>,
    /// 1–500, 50 unless given.
    #[serde(default)]
    pub limit: Option<i64>,
}
