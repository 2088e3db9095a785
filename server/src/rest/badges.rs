//! Badge keys (admin): the read-only keys status badge URLs carry.

use app::model::*;
use axum::extract::State;
use axum::response::Response;
use axum::Json;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::created;
use crate::http::auth::CurrentUser;
use crate::http::problem::{ApiJson, ApiPath, Problem};
use crate::AppState;

type ApiResult<T> = Result<T, Problem>;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_badge_keys, create_badge_key))
        .routes(routes!(revoke_badge_key))
}

#[utoipa::path(
    get,
    operation_id = "list_badge_keys",
    path = "/badge-keys",
    tag = "badges",
    summary = "Every badge key, newest first, never the keys themselves (admin)",
    responses((status = 200, body = [BadgeKey]), crate::rest::doc::Errors)
)]
async fn list_badge_keys(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> ApiResult<Json<Vec<BadgeKey>>> {
    Ok(Json(state.service.list_badge_keys(&user).await?))
}

#[utoipa::path(
    post,
    operation_id = "create_badge_key",
    path = "/badge-keys",
    tag = "badges",
    summary = "Create a badge key; the key is in this answer only (admin)",
    description = "Badges are images at `/badges/{application}/{environment}.svg?key=<key>`. \
        A key names one application (`application`, a name or id) or, without one, serves \
        every application's badges. It reads nothing else.",
    request_body = NewBadgeKey,
    responses((status = 201, body = CreatedBadgeKey), crate::rest::doc::Errors)
)]
async fn create_badge_key(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(input): ApiJson<NewBadgeKey>,
) -> ApiResult<Response> {
    let key = state.service.create_badge_key(&user, input).await?;
    Ok(created(format!("/api/badge-keys/{}", key.info.id), key))
}

#[utoipa::path(
    delete,
    operation_id = "revoke_badge_key",
    path = "/badge-keys/{id}",
    tag = "badges",
    summary = "Revoke a badge key: its badges say so from then on (admin)",
    params(("id" = Uuid, Path, description = "The resource id")),
    responses((status = 200, body = BadgeKey), crate::rest::doc::Errors)
)]
async fn revoke_badge_key(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<BadgeKey>> {
    Ok(Json(state.service.revoke_badge_key(&user, id).await?))
}
