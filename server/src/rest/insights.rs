//! Delivery metrics from the history: deployment frequency, change failure rate, time to
//! restore and lead time to production.

use app::model::{Insights, InsightsQuery};
use axum::extract::State;
use axum::Json;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::http::auth::CurrentUser;
use crate::http::problem::{ApiQuery, Problem};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(insights))
}

#[utoipa::path(
    get,
    operation_id = "get_insights",
    path = "/insights",
    tag = "deployments",
    summary = "Delivery metrics from the history alone",
    description = "Over [from, to) (the last 90 days unless given; at most 1,098 days), for one \
        application or all, in one environment or every production one (the pipeline's last \
        when none is marked production): live deployments per week and their DORA band \
        (elite: at least daily, high: at least weekly, medium: at least monthly, low); the \
        change failure rate (deployments later rolled back — replaced by an older version — or \
        retracted, over all deployments); time to restore (from a failed deployment to the one \
        that replaced it); lead time (from a version's releasedAt, else its first deployment \
        to another environment, to its first deployment here).",
    params(InsightsQuery),
    responses((status = 200, body = Insights), crate::rest::doc::Errors)
)]
async fn insights(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiQuery(query): ApiQuery<InsightsQuery>,
) -> Result<Json<Insights>, Problem> {
    Ok(Json(state.service.insights(&user, query).await?))
}
