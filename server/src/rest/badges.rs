//! Badge keys (admin): the read-only keys status badge URLs carry; and saved views.

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
        .routes(routes!(list_views, save_view))
        .routes(routes!(delete_view))
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

#[utoipa::path(
    get,
    operation_id = "list_views",
    path = "/views",
    tag = "views",
    summary = "Your saved views and the shared ones (shared first, then by name)",
    responses((status = 200, body = [SavedView]), crate::rest::doc::Errors)
)]
async fn list_views(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> ApiResult<Json<Vec<SavedView>>> {
    Ok(Json(state.service.list_views(&user).await?))
}

#[utoipa::path(
    post,
    operation_id = "save_view",
    path = "/views",
    tag = "views",
    summary = "Save a page with its query under a name (`shared`: for everyone, admins only)",
    request_body = NewSavedView,
    responses((status = 201, body = SavedView), crate::rest::doc::Errors)
)]
async fn save_view(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(input): ApiJson<NewSavedView>,
) -> ApiResult<Response> {
    let view = state.service.save_view(&user, input).await?;
    Ok(created(format!("/api/views/{}", view.id), view))
}

#[utoipa::path(
    delete,
    operation_id = "delete_view",
    path = "/views/{id}",
    tag = "views",
    summary = "Delete one of your saved views (admins: any)",
    params(("id" = Uuid, Path, description = "The resource id")),
    responses((status = 204, description = "Deleted"), crate::rest::doc::Errors)
)]
async fn delete_view(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<axum::http::StatusCode> {
    state.service.delete_view(&user, id).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
