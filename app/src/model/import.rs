//! Importing applications from a service catalogue (Backstage's `catalog-info.yaml`).

use super::*;

/// Entities one import may hold (a bigger catalogue is imported in parts).
pub const IMPORT_ENTITIES_MAX: usize = 2_000;
/// The largest catalogue file accepted, in bytes.
pub const IMPORT_BODY_MAX: usize = 4 << 20;

/// What an import does (or, with `dryRun`, would do). Nothing is ever deleted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ImportPlan {
    /// True when nothing was written (`?dryRun=true`).
    pub dry_run: bool,
    pub applications: Vec<PlannedApplication>,
    /// Teams the import creates for owners that are not teams here yet.
    pub teams_created: Vec<String>,
    /// Entities that are not applications (APIs, groups, systems…), with why.
    pub skipped: Vec<SkippedEntity>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PlannedApplication {
    /// Position of the entity's document in the file, from 1.
    pub document: u32,
    pub name: String,
    /// `create`, `update` or `unchanged`.
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// What the update changes (`team`, `repository`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
    /// Anything worth knowing, e.g. an owner that is a person rather than a team.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SkippedEntity {
    pub document: u32,
    pub kind: String,
    pub name: String,
    pub reason: String,
}
