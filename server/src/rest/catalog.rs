//! Applications, environments and versions.

use app::model::*;
use axum::extract::State;
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::created;
use crate::http::auth::CurrentUser;
use crate::http::problem::{ApiJson, ApiPath, ApiQuery, Problem};
use crate::AppState;

type ApiResult<T> = Result<T, Problem>;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ListQuery {
    #[serde(default)]
    include_archived: bool,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ApplicationListQuery {
    #[serde(default)]
    include_archived: bool,
    /// Only this team's applications (its name or id).
    #[param(max_length = 100)]
    team: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ReorderRequest {
    ids: Vec<Uuid>,
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_applications, create_application))
        .routes(routes!(get_application, update_application))
        .routes(routes!(archive_application))
        .routes(routes!(list_versions, create_version))
        .routes(routes!(list_environments, create_environment))
        .routes(routes!(reorder_environments))
        .routes(routes!(get_environment, update_environment))
        .routes(routes!(archive_environment))
        .routes(routes!(get_version, update_version))
        .routes(routes!(archive_version))
}

#[utoipa::path(
    get,
    operation_id = "list_applications",
    path = "/applications",
    tag = "applications",
    summary = "List applications by name",
    params(ApplicationListQuery),
    responses((status = 200, body = [Application]), crate::rest::doc::Errors)
)]
async fn list_applications(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiQuery(query): ApiQuery<ApplicationListQuery>,
) -> ApiResult<Json<Vec<Application>>> {
    Ok(Json(
        state
            .service
            .list_team_applications(&user, query.include_archived, query.team.as_deref())
            .await?,
    ))
}

#[utoipa::path(
    post,
    operation_id = "create_application",
    path = "/applications",
    tag = "applications",
    summary = "Create an application",
    request_body = NewApplication,
    responses((status = 201, body = Application, description = "Created; Location names it"), crate::rest::doc::Errors)
)]
async fn create_application(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(input): ApiJson<NewApplication>,
) -> ApiResult<Response> {
    let application = state.service.create_application(&user, input).await?;
    Ok(created(
        format!("/api/applications/{}", application.id),
        application,
    ))
}

#[utoipa::path(
    get,
    operation_id = "get_application",
    path = "/applications/{id}",
    tag = "applications",
    summary = "One application",
    params(("id" = Uuid, Path, description = "The resource id")),
    responses((status = 200, body = Application), crate::rest::doc::Errors)
)]
async fn get_application(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Application>> {
    Ok(Json(state.service.get_application(&user, id).await?))
}

#[utoipa::path(
    patch,
    operation_id = "update_application",
    path = "/applications/{id}",
    tag = "applications",
    summary = "Edit an application",
    params(("id" = Uuid, Path, description = "The resource id")),
    request_body = ApplicationPatch,
    responses((status = 200, body = Application), crate::rest::doc::Errors)
)]
async fn update_application(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<ApplicationPatch>,
) -> ApiResult<Json<Application>> {
    Ok(Json(
        state.service.update_application(&user, id, patch).await?,
    ))
}

#[utoipa::path(
    post,
    operation_id = "archive_application",
    path = "/applications/{id}/archive",
    tag = "applications",
    summary = "Archive an application (its history stays)",
    params(("id" = Uuid, Path, description = "The resource id")),
    responses((status = 200, body = Application), crate::rest::doc::Errors)
)]
async fn archive_application(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Application>> {
    Ok(Json(state.service.archive_application(&user, id).await?))
}

#[utoipa::path(
    get,
    operation_id = "list_environments",
    path = "/environments",
    tag = "environments",
    summary = "List environments in pipeline order",
    params(ListQuery),
    responses((status = 200, body = [Environment]), crate::rest::doc::Errors)
)]
async fn list_environments(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<Vec<Environment>>> {
    Ok(Json(
        state
            .service
            .list_environments(&user, query.include_archived)
            .await?,
    ))
}

#[utoipa::path(
    post,
    operation_id = "create_environment",
    path = "/environments",
    tag = "environments",
    summary = "Create an environment",
    request_body = NewEnvironment,
    responses((status = 201, body = Environment), crate::rest::doc::Errors)
)]
async fn create_environment(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(input): ApiJson<NewEnvironment>,
) -> ApiResult<Response> {
    let environment = state.service.create_environment(&user, input).await?;
    Ok(created(
        format!("/api/environments/{}", environment.id),
        environment,
    ))
}

#[utoipa::path(
    get,
    operation_id = "get_environment",
    path = "/environments/{id}",
    tag = "environments",
    summary = "One environment",
    params(("id" = Uuid, Path, description = "The resource id")),
    responses((status = 200, body = Environment), crate::rest::doc::Errors)
)]
async fn get_environment(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Environment>> {
    Ok(Json(state.service.get_environment(&user, id).await?))
}

#[utoipa::path(
    patch,
    operation_id = "update_environment",
    path = "/environments/{id}",
    tag = "environments",
    summary = "Edit an environment",
    params(("id" = Uuid, Path, description = "The resource id")),
    request_body = EnvironmentPatch,
    responses((status = 200, body = Environment), crate::rest::doc::Errors)
)]
async fn update_environment(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<EnvironmentPatch>,
) -> ApiResult<Json<Environment>> {
    Ok(Json(
        state.service.update_environment(&user, id, patch).await?,
    ))
}

#[utoipa::path(
    post,
    operation_id = "archive_environment",
    path = "/environments/{id}/archive",
    tag = "environments",
    summary = "Archive an environment (its history stays)",
    params(("id" = Uuid, Path, description = "The resource id")),
    responses((status = 200, body = Environment), crate::rest::doc::Errors)
)]
async fn archive_environment(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Environment>> {
    Ok(Json(state.service.archive_environment(&user, id).await?))
}

#[utoipa::path(
    post,
    operation_id = "reorder_environments",
    path = "/environments/order",
    tag = "environments",
    summary = "Set the pipeline order of all active environments",
    request_body = ReorderRequest,
    responses((status = 200, body = [Environment]), crate::rest::doc::Errors)
)]
async fn reorder_environments(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(request): ApiJson<ReorderRequest>,
) -> ApiResult<Json<Vec<Environment>>> {
    Ok(Json(
        state
            .service
            .reorder_environments(&user, request.ids)
            .await?,
    ))
}

#[utoipa::path(
    get,
    operation_id = "list_versions",
    path = "/applications/{id}/versions",
    tag = "versions",
    summary = "An application's versions, newest first (semver-aware)",
    params(("id" = Uuid, Path, description = "The resource id"), ListQuery),
    responses((status = 200, body = [Version]), crate::rest::doc::Errors)
)]
async fn list_versions(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(application_id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<Vec<Version>>> {
    Ok(Json(
        state
            .service
            .list_versions(&user, application_id, query.include_archived)
            .await?,
    ))
}

#[utoipa::path(
    post,
    operation_id = "create_version",
    path = "/applications/{id}/versions",
    tag = "versions",
    summary = "Add a version to an application",
    params(("id" = Uuid, Path, description = "The resource id")),
    request_body = NewVersion,
    responses((status = 201, body = Version), crate::rest::doc::Errors)
)]
async fn create_version(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(application_id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<NewVersion>,
) -> ApiResult<Response> {
    let version = state
        .service
        .create_version(&user, application_id, input)
        .await?;
    Ok(created(format!("/api/versions/{}", version.id), version))
}

#[utoipa::path(
    get,
    operation_id = "get_version",
    path = "/versions/{id}",
    tag = "versions",
    summary = "One version",
    params(("id" = Uuid, Path, description = "The resource id")),
    responses((status = 200, body = Version), crate::rest::doc::Errors)
)]
async fn get_version(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Version>> {
    Ok(Json(state.service.get_version(&user, id).await?))
}

#[utoipa::path(
    patch,
    operation_id = "update_version",
    path = "/versions/{id}",
    tag = "versions",
    summary = "Edit a version's notes or release date",
    params(("id" = Uuid, Path, description = "The resource id")),
    request_body = VersionPatch,
    responses((status = 200, body = Version), crate::rest::doc::Errors)
)]
async fn update_version(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<VersionPatch>,
) -> ApiResult<Json<Version>> {
    Ok(Json(state.service.update_version(&user, id, patch).await?))
}

#[utoipa::path(
    post,
    operation_id = "archive_version",
    path = "/versions/{id}/archive",
    tag = "versions",
    summary = "Archive a version",
    params(("id" = Uuid, Path, description = "The resource id")),
    responses((status = 200, body = Version), crate::rest::doc::Errors)
)]
async fn archive_version(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Version>> {
    Ok(Json(state.service.archive_version(&user, id).await?))
}
