//! Inbound hooks: GitHub and GitLab tell deploytrack about deployments themselves.

use super::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum HookProvider {
    Github,
    Gitlab,
}

impl HookProvider {
    pub const ALL: [HookProvider; 2] = [HookProvider::Github, HookProvider::Gitlab];

    pub fn as_str(self) -> &'static str {
        match self {
            HookProvider::Github => "github",
            HookProvider::Gitlab => "gitlab",
        }
    }

    pub fn parse(value: &str) -> Option<HookProvider> {
        HookProvider::ALL.into_iter().find(|p| p.as_str() == value)
    }

    pub fn label(self) -> &'static str {
        match self {
            HookProvider::Github => "GitHub",
            HookProvider::Gitlab => "GitLab",
        }
    }

    /// The request headers naming the event, the delivery's id and the proof of origin.
    pub fn headers(self) -> [&'static str; 3] {
        match self {
            HookProvider::Github => ["x-github-event", "x-github-delivery", "x-hub-signature-256"],
            HookProvider::Gitlab => ["x-gitlab-event", "x-gitlab-event-uuid", "x-gitlab-token"],
        }
    }

    /// Where the provider delivers, relative to the server's base URL.
    pub fn path(self) -> &'static str {
        match self {
            HookProvider::Github => "/api/hooks/github",
            HookProvider::Gitlab => "/api/hooks/gitlab",
        }
    }
}

/// A configured hook. Its secret is shown once, at creation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Hook {
    pub id: Uuid,
    pub provider: HookProvider,
    pub name: String,
    /// Deployments the hook records are recorded as this user (the admin who created it).
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    /// The path to give the provider (after the server's base URL).
    pub path: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewHook {
    /// `github` or `gitlab`.
    pub provider: String,
    #[cfg_attr(feature = "ssr", schema(min_length = 1, max_length = 100))]
    pub name: String,
}

/// The answer to creating a hook: the hook and its secret, this one time.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CreatedHook {
    #[serde(flatten)]
    pub hook: Hook,
    /// GitHub: the webhook's "Secret"; GitLab: its "Secret token".
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    pub secret: Secret,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum DeliveryOutcome {
    /// A deployment was recorded.
    Recorded,
    /// Nothing to record (another event or a state other than success).
    Ignored,
    /// Could not be recorded (unknown repository or environment, invalid data); `detail` says why.
    Refused,
    /// A redelivery of an id already received: nothing new.
    Replayed,
}

impl DeliveryOutcome {
    pub const ALL: [DeliveryOutcome; 4] = [
        DeliveryOutcome::Recorded,
        DeliveryOutcome::Ignored,
        DeliveryOutcome::Refused,
        DeliveryOutcome::Replayed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryOutcome::Recorded => "recorded",
            DeliveryOutcome::Ignored => "ignored",
            DeliveryOutcome::Refused => "refused",
            DeliveryOutcome::Replayed => "replayed",
        }
    }

    pub fn parse(value: &str) -> Option<DeliveryOutcome> {
        DeliveryOutcome::ALL
            .into_iter()
            .find(|o| o.as_str() == value)
    }
}

/// One delivery a hook received, as the provider's "recent deliveries" show them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct HookDelivery {
    pub id: Uuid,
    pub hook_id: Uuid,
    /// The provider's id for the delivery (`X-GitHub-Delivery`, `X-Gitlab-Event-UUID`).
    pub delivery_id: String,
    pub received_at: DateTime<Utc>,
    pub event: String,
    pub outcome: DeliveryOutcome,
    pub detail: String,
    pub deployment_id: Option<Uuid>,
}

/// How many deliveries each hook keeps.
pub const DELIVERIES_KEPT: i64 = 100;

/// What a delivery's sender is told (GitHub and GitLab show it with the delivery).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct HookAnswer {
    pub outcome: DeliveryOutcome,
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<Uuid>,
}
