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
    /// From a version's release (`releasedAt`, else its first deployment elsewhere) to its first
    /// deployment here.
    pub lead_time: Durations,
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
}
