//! Deployments for the pages: record, history, current state (now or at an instant), retract,
//! statistics.

// The record server function takes the form's fields one by one (the `#[server]` macro does not
// carry an item-level allow through to the function it generates).
#![allow(clippy::too_many_arguments)]

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use uuid::Uuid;

use crate::error::AppError;
use crate::model::*;

#[cfg(feature = "ssr")]
use super::signed_in;

/// Form fields arrive as text; the browser sends the date as RFC 3339 with its own offset. The
/// form sends ids; like the REST API, names (`application`, `version`, `environment`) do too.
#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn record_deployment(
    application_id: Option<Uuid>,
    version_id: Option<Uuid>,
    environment_id: Option<Uuid>,
    deployment_date: DateTime<Utc>,
    deployed_by: Option<String>,
    notes: Option<String>,
    application: Option<String>,
    version: Option<String>,
    environment: Option<String>,
    #[server(default)] override_reason: Option<String>,
) -> Result<Deployment, AppError> {
    let (service, user) = signed_in()?;
    let request = RecordDeploymentRequest {
        application_id,
        application,
        version_id,
        version,
        environment_id,
        environment,
        deployment_date,
        deployed_by,
        notes,
        override_reason,
        ..Default::default()
    };
    Ok(service
        .record_deployment(&user, request, None)
        .await?
        .deployment)
}

#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn list_deployments(
    filter: DeploymentFilter,
    cursor: Option<String>,
    limit: Option<i64>,
) -> Result<DeploymentPage, AppError> {
    let (service, user) = signed_in()?;
    service
        .list_deployments(&user, filter, cursor.as_deref(), limit)
        .await
}

#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn get_deployment(id: Uuid) -> Result<Deployment, AppError> {
    let (service, user) = signed_in()?;
    service.get_deployment(&user, id).await
}

#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn current_state(
    application_id: Option<Uuid>,
    environment_id: Option<Uuid>,
    at: Option<DateTime<Utc>>,
) -> Result<Vec<CurrentDeploymentState>, AppError> {
    let (service, user) = signed_in()?;
    let pairs = crate::ssr::PairFilter {
        application_id,
        environment_id,
    };
    service.current_state(&user, pairs, at).await
}

/// A page of the dashboard's matrix, compactly (now, or as it was at `at`): page `page` (from
/// 1) of the applications whose name contains `q`.
#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn dashboard_matrix(
    at: Option<DateTime<Utc>>,
    #[server(default)] q: String,
    #[server(default)] page: u32,
    #[server(default)] team: Option<String>,
) -> Result<MatrixPage, AppError> {
    let (service, user) = signed_in()?;
    service
        .matrix_page(&user, at, &q, team.as_deref(), page)
        .await
}

#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn retract_deployment(id: Uuid, reason: String) -> Result<Deployment, AppError> {
    let (service, user) = signed_in()?;
    service.retract_deployment(&user, id, &reason).await
}

#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn load_dashboard_side() -> Result<DashboardSide, AppError> {
    let (service, user) = signed_in()?;
    service.dashboard_side(&user).await
}

#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn compare_environments(
    from: Option<Uuid>,
    to: Option<Uuid>,
    #[server(default)] team: Option<String>,
) -> Result<EnvironmentComparison, AppError> {
    let (service, user) = signed_in()?;
    service
        .compare_environments(&user, from, to, team.as_deref())
        .await
}

/// Delivery metrics for the insights page.
#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn delivery_insights(
    #[server(default)] application_id: Option<Uuid>,
    #[server(default)] environment_id: Option<Uuid>,
    #[server(default)] from: Option<DateTime<Utc>>,
    #[server(default)] to: Option<DateTime<Utc>>,
    #[server(default)] team: Option<String>,
) -> Result<Insights, AppError> {
    let (service, user) = signed_in()?;
    let query = InsightsQuery {
        application_id,
        environment_id,
        from,
        to,
        team,
    };
    service.insights(&user, query).await
}
