//! The deploy policy (issue 35): freeze windows (admins), locks (editors), promotion rules
//! (admins), and the check any pipeline may ask (viewers).

use app::model::*;
use app::ssr::service::policy::{DeployCheckQuery, FreezeQuery};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::created;
use crate::http::auth::CurrentUser;
use crate::http::problem::{ApiJson, ApiPath, ApiQuery, Problem};
use crate::AppState;

type ApiResult<T> = Result<T, Problem>;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_freezes, create_freeze))
        .routes(routes!(get_freeze, delete_freeze))
        .routes(routes!(end_freeze))
        .routes(routes!(list_locks, create_lock))
        .routes(routes!(release_lock))
        .routes(routes!(list_promotion_rules))
        .routes(routes!(put_promotion_rule, delete_promotion_rule))
        .routes(routes!(deploy_check))
}

#[utoipa::path(
    get,
    operation_id = "list_freezes",
    path = "/freezes",
    tag = "policy",
    summary = "Freeze windows, with their occurrences (viewer)",
    description = "Without parameters each freeze comes with its occurrence in force (if any) and \
        its next one; `activeAt` lists only the freezes in force then; `from` and `to` (at most \
        400 days apart) list each freeze's occurrences overlapping the range.",
    params(FreezeQuery),
    responses((status = 200, body = [Freeze]), crate::rest::doc::Errors)
)]
async fn list_freezes(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiQuery(query): ApiQuery<FreezeQuery>,
) -> ApiResult<Json<Vec<Freeze>>> {
    Ok(Json(state.service.list_freezes(&user, query).await?))
}

#[utoipa::path(
    post,
    operation_id = "create_freeze",
    path = "/freezes",
    tag = "policy",
    summary = "Add a freeze window (admin): one window, or a recurrence in a time zone",
    request_body = NewFreeze,
    responses((status = 201, body = Freeze), crate::rest::doc::Errors)
)]
async fn create_freeze(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(input): ApiJson<NewFreeze>,
) -> ApiResult<Response> {
    let freeze = state.service.create_freeze(&user, input).await?;
    Ok(created(format!("/api/freezes/{}", freeze.id), freeze))
}

#[utoipa::path(
    get,
    operation_id = "get_freeze",
    path = "/freezes/{id}",
    tag = "policy",
    summary = "One freeze, with its occurrence in force and its next (viewer)",
    params(("id" = Uuid, Path, description = "The resource id")),
    responses((status = 200, body = Freeze), crate::rest::doc::Errors)
)]
async fn get_freeze(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Freeze>> {
    Ok(Json(state.service.get_freeze(&user, id).await?))
}

#[utoipa::path(
    delete,
    operation_id = "delete_freeze",
    path = "/freezes/{id}",
    tag = "policy",
    summary = "Remove a freeze (admin); deployments it blocked keep their record of it",
    params(("id" = Uuid, Path, description = "The resource id")),
    responses((status = 204, description = "Removed"), crate::rest::doc::Errors)
)]
async fn delete_freeze(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    state.service.delete_freeze(&user, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    post,
    operation_id = "end_freeze",
    path = "/freezes/{id}/end",
    tag = "policy",
    summary = "End the occurrence in force now, early (admin); 409 when none is",
    params(("id" = Uuid, Path, description = "The resource id")),
    request_body = EndFreezeRequest,
    responses((status = 200, body = Freeze), crate::rest::doc::Errors)
)]
async fn end_freeze(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<EndFreezeRequest>,
) -> ApiResult<Json<Freeze>> {
    Ok(Json(state.service.end_freeze(&user, id, input).await?))
}

#[utoipa::path(
    get,
    operation_id = "list_locks",
    path = "/locks",
    tag = "policy",
    summary = "Open locks (viewer)",
    responses((status = 200, body = [Lock]), crate::rest::doc::Errors)
)]
async fn list_locks(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> ApiResult<Json<Vec<Lock>>> {
    Ok(Json(state.service.list_locks(&user).await?))
}

#[utoipa::path(
    post,
    operation_id = "create_lock",
    path = "/locks",
    tag = "policy",
    summary = "Lock an environment, or one application in it (editor); 409 names the holder",
    request_body = NewLock,
    responses((status = 201, body = Lock), crate::rest::doc::Errors)
)]
async fn create_lock(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(input): ApiJson<NewLock>,
) -> ApiResult<Response> {
    let lock = state.service.create_lock(&user, input).await?;
    Ok(created(format!("/api/locks/{}", lock.id), lock))
}

#[utoipa::path(
    delete,
    operation_id = "release_lock",
    path = "/locks/{id}",
    tag = "policy",
    summary = "Release a lock (its creator or an admin)",
    params(("id" = Uuid, Path, description = "The resource id")),
    responses((status = 204, description = "Released"), crate::rest::doc::Errors)
)]
async fn release_lock(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    state.service.release_lock(&user, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    get,
    operation_id = "list_promotion_rules",
    path = "/promotion-rules",
    tag = "policy",
    summary = "Every environment's promotion rule (viewer)",
    responses((status = 200, body = [PromotionRule]), crate::rest::doc::Errors)
)]
async fn list_promotion_rules(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> ApiResult<Json<Vec<PromotionRule>>> {
    Ok(Json(state.service.list_promotion_rules(&user).await?))
}

#[utoipa::path(
    put,
    operation_id = "put_promotion_rule",
    path = "/environments/{id}/promotion-rule",
    tag = "policy",
    summary = "Set the environment's promotion rule (admin)",
    description = "A version may go to this environment only after it has run in each required \
        environment for at least `minSoak` and was not rolled back or retracted there.",
    params(("id" = Uuid, Path, description = "The environment's id")),
    request_body = PromotionRuleRequest,
    responses((status = 200, body = PromotionRule), crate::rest::doc::Errors)
)]
async fn put_promotion_rule(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<PromotionRuleRequest>,
) -> ApiResult<Json<PromotionRule>> {
    Ok(Json(
        state.service.put_promotion_rule(&user, id, input).await?,
    ))
}

#[utoipa::path(
    delete,
    operation_id = "delete_promotion_rule",
    path = "/environments/{id}/promotion-rule",
    tag = "policy",
    summary = "Remove the environment's promotion rule (admin)",
    params(("id" = Uuid, Path, description = "The environment's id")),
    responses((status = 204, description = "Removed"), crate::rest::doc::Errors)
)]
async fn delete_promotion_rule(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    state.service.delete_promotion_rule(&user, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    get,
    operation_id = "deploy_check",
    path = "/deploy-check",
    tag = "policy",
    summary = "May this version go to this environment now? (viewer)",
    description = "Freezes in force, locks and promotion rules each add a blocker. Recording is \
        never refused by policy: a deployment recorded while blocked keeps its blockers as \
        `policyViolations`.",
    params(DeployCheckQuery),
    responses((status = 200, body = DeployCheck), crate::rest::doc::Errors)
)]
async fn deploy_check(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiQuery(query): ApiQuery<DeployCheckQuery>,
) -> ApiResult<Json<DeployCheck>> {
    Ok(Json(state.service.deploy_check(&user, query).await?))
}
