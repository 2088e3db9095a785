//! Delivery metrics computed from the deployment history alone (no set-up).

use super::*;

/// Live deployments to the environments looked at, per week, and the DORA band that rate is in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DeploymentFrequency {
    pub deployments: i64,
    pub per_week: f64,
    /// `elite` (at least daily), `high` (at least weekly), `medium` (at least monthly) or `low`.
    pub band: String,
    pub weeks: Vec<WeekCount>,
}

/// The share of deployments later rolled back or retracted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ChangeFailureRate {
    /// Deployments in the range, retracted ones included.
    pub deployments: i64,
    pub rolled_back: i64,
    pub retracted: i64,
    /// (rolled back + retracted) / deployments; `null` without deployments.
    pub rate: Option<f64>,
    /// Failed deployments per week (by the week they were deployed).
    pub weeks: Vec<WeekCount>,
}

/// A distribution of durations in seconds; `null`s when there is nothing to measure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Durations {
    pub count: i64,
    pub median_seconds: Option<i64>,
    pub mean_seconds: Option<i64>,
    pub max_seconds: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Insights {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// One application, or `null` for all of them.
    pub application: Option<ApplicationRef>,
    /// The environments measured: the one asked for, else every production environment.
    pub environments: Vec<EnvironmentRef>,
    /// True when no environment was asked for, none is marked production, and the pipeline's
    /// last one stands in for production.
    pub stand_in: bool,
    pub deployment_frequency: DeploymentFrequency,
    pub change_failure_rate: ChangeFailureRate,
    /// From a failed deployment to the deployment that replaced it.
    pub time_to_restore: Durations,
    /// Lead time for changes. For a version whose commits were sent: from each commit's
    /// `authoredAt` to the version's first deployment here (DORA's definition; each commit once).
    /// Otherwise from the version's release (`releasedAt`, else its first deployment elsewhere).
    pub lead_time: Durations,
    /// How the lead time was measured.
    pub lead_time_basis: LeadTimeBasis,
}

/// How many versions' lead times came from their commits, and how many from their release.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LeadTimeBasis {
    /// Versions measured from each of their commits' `authoredAt`.
    pub versions_from_commits: i64,
    /// Versions measured from their release (or first deployment elsewhere).
    pub versions_from_releases: i64,
    /// Commits measured.
    pub commits: i64,
}

/// `GET /api/insights` parameters; every part optional (the last 90 days, production).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InsightsQuery {
    #[serde(default)]
    pub application_id: Option<Uuid>,
    #[serde(default)]
    pub environment_id: Option<Uuid>,
    #[serde(default)]
    pub from: Option<DateTime<Utc>>,
    #[serde(default)]
    pub to: Option<DateTime<Utc>>,
    /// Only this team's applications (its name or id), or your teams' (`mine`).
    #[serde(default)]
    pub team: Option<String>,
}
