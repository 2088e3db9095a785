//! Drift: an environment that promised to keep up with another and has fallen behind it.

use super::*;

/// An environment's promise: never more than `max_lag` (ISO 8601) behind `compared_to`, nor more
/// than `max_versions_behind` versions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DriftPolicy {
    pub environment_id: Uuid,
    pub compared_to: Uuid,
    /// e.g. `P14D`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_lag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_versions_behind: Option<u32>,
    pub updated_at: DateTime<Utc>,
}

/// `PUT /api/environments/{id}/drift-policy`: at least one of the two limits.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DriftPolicyInput {
    /// The environment to keep up with: its id or name.
    #[cfg_attr(feature = "ssr", schema(max_length = 100))]
    pub compared_to: String,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(example = "P14D", max_length = 40))]
    pub max_lag: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(minimum = 0, maximum = 10000))]
    pub max_versions_behind: Option<i64>,
}

/// An application whose environment is behind what its policy allows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DriftBreach {
    pub id: Uuid,
    pub application: ApplicationRef,
    /// The environment that is behind.
    pub environment: EnvironmentRef,
    /// The environment it should keep up with.
    pub compared_to: EnvironmentRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<TeamRef>,
    /// What the environment runs, and what the one it is compared to runs.
    pub version: String,
    pub compared_version: String,
    pub versions_behind: u32,
    /// Since when the compared environment has run something newer, without a break.
    pub since: DateTime<Utc>,
    /// When the breach was noticed.
    pub breached_at: DateTime<Utc>,
}

/// `GET /api/drift`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DriftList {
    pub items: Vec<DriftBreach>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TeamRef {
    pub id: Uuid,
    pub name: String,
}
