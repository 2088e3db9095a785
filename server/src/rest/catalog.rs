//! Applications, environments and versions.

use app::model::*;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use uuid::Uuid;

use super::created;
use crate::auth::CurrentUser;
use crate::problem::{ApiJson, ApiPath, ApiQuery, Problem};
use crate::AppState;

type ApiResult<T> = Result<T, Problem>;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ListQuery {
    #[serde(default)]
    include_archived: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ReorderRequest {
    ids: Vec<Uuid>,
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/applications",
            get(list_applications).post(create_application),
        )
        .route(
            "/applications/{id}",
            get(get_application).patch(update_application),
        )
        .route("/applications/{id}/archive", post(archive_application))
        .route(
            "/applications/{id}/versions",
            get(list_versions).post(create_version),
        )
        .route(
            "/environments",
            get(list_environments).post(create_environment),
        )
        .route("/environments/order", post(reorder_environments))
        .route(
            "/environments/{id}",
            get(get_environment).patch(update_environment),
        )
        .route("/environments/{id}/archive", post(archive_environment))
        .route("/versions/{id}", get(get_version).patch(update_version))
        .route("/versions/{id}/archive", post(archive_version))
}

async fn list_applications(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<Vec<Application>>> {
    Ok(Json(
        state
            .service
            .list_applications(&user, query.include_archived)
            .await?,
    ))
}

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

async fn get_application(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Application>> {
    Ok(Json(state.service.get_application(&user, id).await?))
}

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

async fn archive_application(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Application>> {
    Ok(Json(state.service.archive_application(&user, id).await?))
}

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

async fn get_environment(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Environment>> {
    Ok(Json(state.service.get_environment(&user, id).await?))
}

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

async fn archive_environment(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Environment>> {
    Ok(Json(state.service.archive_environment(&user, id).await?))
}

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

async fn get_version(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Version>> {
    Ok(Json(state.service.get_version(&user, id).await?))
}

async fn update_version(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<VersionPatch>,
) -> ApiResult<Json<Version>> {
    Ok(Json(state.service.update_version(&user, id, patch).await?))
}

async fn archive_version(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Version>> {
    Ok(Json(state.service.archive_version(&user, id).await?))
}
