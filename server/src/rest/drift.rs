//! Drift: each environment's policy (admin writes, everyone reads) and the open breaches.

use app::model::*;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::http::auth::CurrentUser;
use crate::http::problem::{ApiJson, ApiPath, ApiQuery, Problem};
use crate::AppState;

type ApiResult<T> = Result<T, Problem>;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_drift))
        .routes(routes!(list_drift_policies))
        .routes(routes!(
            get_drift_policy,
            set_drift_policy,
            delete_drift_policy
        ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DriftQuery {
    /// Only this team's applications (its name or id).
    #[serde(default)]
    team: Option<String>,
}

#[utoipa::path(get, operation_id = "list_drift", path = "/drift", tag = "drift",
    summary = "Open drift breaches: applications an environment runs further behind than its policy allows",
    params(DriftQuery),
    responses((status = 200, body = DriftList), crate::rest::doc::Errors))]
async fn list_drift(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiQuery(query): ApiQuery<DriftQuery>,
) -> ApiResult<Json<DriftList>> {
    let items = state.service.drift(&user, query.team.as_deref()).await?;
    Ok(Json(DriftList { items }))
}

#[utoipa::path(get, operation_id = "list_drift_policies", path = "/drift-policies", tag = "drift",
    summary = "Every environment's drift policy",
    responses((status = 200, body = [DriftPolicy]), crate::rest::doc::Errors))]
async fn list_drift_policies(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> ApiResult<Json<Vec<DriftPolicy>>> {
    Ok(Json(state.service.list_drift_policies(&user).await?))
}

#[utoipa::path(get, operation_id = "get_drift_policy", path = "/environments/{id}/drift-policy",
    tag = "drift", summary = "The environment's drift policy (404 when it has none)",
    params(("id" = Uuid, Path, description = "The environment's id")),
    responses((status = 200, body = DriftPolicy), crate::rest::doc::Errors))]
async fn get_drift_policy(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<DriftPolicy>> {
    Ok(Json(state.service.get_drift_policy(&user, id).await?))
}

#[utoipa::path(put, operation_id = "set_drift_policy", path = "/environments/{id}/drift-policy",
    tag = "drift", summary = "Set or replace the environment's drift policy (admin)",
    request_body = DriftPolicyInput,
    params(("id" = Uuid, Path, description = "The environment's id")),
    responses((status = 200, body = DriftPolicy), crate::rest::doc::Errors))]
async fn set_drift_policy(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<DriftPolicyInput>,
) -> ApiResult<Json<DriftPolicy>> {
    Ok(Json(
        state.service.set_drift_policy(&user, id, input).await?,
    ))
}

#[utoipa::path(delete, operation_id = "delete_drift_policy", path = "/environments/{id}/drift-policy",
    tag = "drift", summary = "Remove the environment's drift policy (admin); its breaches resolve",
    params(("id" = Uuid, Path, description = "The environment's id")),
    responses((status = 204), crate::rest::doc::Errors))]
async fn delete_drift_policy(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    state.service.delete_drift_policy(&user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
