//! Teams: admins create them and set their members; everyone reads them.

use app::model::*;
use axum::extract::State;
use axum::http::StatusCode;
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
        .routes(routes!(list_teams, create_team))
        .routes(routes!(my_teams))
        .routes(routes!(get_team, update_team, delete_team))
        .routes(routes!(team_members, set_team_members))
}

#[utoipa::path(get, operation_id = "list_teams", path = "/teams", tag = "teams",
    summary = "Every team, by name",
    responses((status = 200, body = [Team]), crate::rest::doc::Errors))]
async fn list_teams(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> ApiResult<Json<Vec<Team>>> {
    Ok(Json(state.service.list_teams(&user).await?))
}

#[utoipa::path(get, operation_id = "my_teams", path = "/teams/mine", tag = "teams",
    summary = "The teams you belong to",
    responses((status = 200, body = [Team]), crate::rest::doc::Errors))]
async fn my_teams(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> ApiResult<Json<Vec<Team>>> {
    Ok(Json(state.service.my_teams(&user).await?))
}

#[utoipa::path(post, operation_id = "create_team", path = "/teams", tag = "teams",
    summary = "Create a team (admin)", request_body = NewTeam,
    responses((status = 201, body = Team), crate::rest::doc::Errors))]
async fn create_team(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(input): ApiJson<NewTeam>,
) -> ApiResult<Response> {
    let team = state.service.create_team(&user, input).await?;
    Ok(created(format!("/api/teams/{}", team.id), team))
}

#[utoipa::path(get, operation_id = "get_team", path = "/teams/{id}", tag = "teams",
    summary = "One team",
    params(("id" = Uuid, Path, description = "The resource id")),
    responses((status = 200, body = Team), crate::rest::doc::Errors))]
async fn get_team(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Team>> {
    Ok(Json(state.service.get_team(&user, id).await?))
}

#[utoipa::path(patch, operation_id = "update_team", path = "/teams/{id}", tag = "teams",
    summary = "Rename a team or change its Slack channel (admin)", request_body = TeamPatch,
    params(("id" = Uuid, Path, description = "The resource id")),
    responses((status = 200, body = Team), crate::rest::doc::Errors))]
async fn update_team(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<TeamPatch>,
) -> ApiResult<Json<Team>> {
    Ok(Json(state.service.update_team(&user, id, patch).await?))
}

#[utoipa::path(delete, operation_id = "delete_team", path = "/teams/{id}", tag = "teams",
    summary = "Delete a team; its applications stay, without a team (admin)",
    params(("id" = Uuid, Path, description = "The resource id")),
    responses((status = 204, description = "Deleted"), crate::rest::doc::Errors))]
async fn delete_team(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    state.service.delete_team(&user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, operation_id = "team_members", path = "/teams/{id}/members", tag = "teams",
    summary = "A team's members, by username",
    params(("id" = Uuid, Path, description = "The resource id")),
    responses((status = 200, body = [User]), crate::rest::doc::Errors))]
async fn team_members(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Vec<User>>> {
    Ok(Json(state.service.team_members(&user, id).await?))
}

#[utoipa::path(put, operation_id = "set_team_members", path = "/teams/{id}/members", tag = "teams",
    summary = "Replace a team's members (admin)", request_body = TeamMembers,
    params(("id" = Uuid, Path, description = "The resource id")),
    responses((status = 200, body = [User]), crate::rest::doc::Errors))]
async fn set_team_members(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<TeamMembers>,
) -> ApiResult<Json<Vec<User>>> {
    Ok(Json(
        state.service.set_team_members(&user, id, input).await?,
    ))
}
