//! Inbound hooks: admins configure them; GitHub and GitLab deliver to them. The delivery
//! endpoints are public (no token or session): a delivery proves itself with its signature.

use app::model::*;
use app::ssr::service::hooks::Delivery;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
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
        .routes(routes!(list, create))
        .routes(routes!(delete))
        .routes(routes!(deliveries))
        .routes(routes!(github))
        .routes(routes!(gitlab))
}

#[utoipa::path(
    get,
    operation_id = "list_hooks",
    path = "/hooks",
    tag = "hooks",
    summary = "Inbound hooks (admin; never their secrets)",
    responses((status = 200, body = [Hook]), crate::rest::doc::Errors)
)]
async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> ApiResult<Json<Vec<Hook>>> {
    Ok(Json(state.service.list_hooks(&user).await?))
}

#[utoipa::path(
    post,
    operation_id = "create_hook",
    path = "/hooks",
    tag = "hooks",
    summary = "Create a GitHub or GitLab hook (admin); the secret is in this answer only",
    description = "Give the provider the server's base URL followed by `path`, and the \
        `secret` (GitHub: webhook secret, content type application/json, event \"Deployment \
        statuses\"; GitLab: secret token, trigger \"Deployment events\"). Deliveries record as \
        the admin who created the hook; set each application's `repository` so they find it.",
    request_body = NewHook,
    responses((status = 201, body = CreatedHook), crate::rest::doc::Errors)
)]
async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(input): ApiJson<NewHook>,
) -> ApiResult<Response> {
    let hook = state.service.create_hook(&user, input).await?;
    Ok(created(format!("/api/hooks/{}", hook.hook.id), hook))
}

#[utoipa::path(
    delete,
    operation_id = "delete_hook",
    path = "/hooks/{id}",
    tag = "hooks",
    summary = "Delete a hook and its deliveries (admin)",
    params(("id" = Uuid, Path, description = "The hook's id")),
    responses((status = 204, description = "Deleted"), crate::rest::doc::Errors)
)]
async fn delete(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    state.service.delete_hook(&user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    operation_id = "list_hook_deliveries",
    path = "/hooks/{id}/deliveries",
    tag = "hooks",
    summary = "A hook's last 100 deliveries, newest first (admin)",
    params(("id" = Uuid, Path, description = "The hook's id")),
    responses((status = 200, body = [HookDelivery]), crate::rest::doc::Errors)
)]
async fn deliveries(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Vec<HookDelivery>>> {
    Ok(Json(state.service.hook_deliveries(&user, id).await?))
}

/// Recorded 201, replayed 200, ignored 202, refused 422; an unsigned delivery is 401.
async fn receive(
    state: &AppState,
    provider: HookProvider,
    headers: &HeaderMap,
    body: &[u8],
) -> ApiResult<Response> {
    let [event, delivery_id, credential] = provider
        .headers()
        .map(|name| headers.get(name).and_then(|value| value.to_str().ok()));
    let delivery = Delivery {
        provider,
        event,
        delivery_id,
        credential,
        body,
    };
    let answer = state.service.receive_hook(delivery).await?;
    let status = match answer.outcome {
        DeliveryOutcome::Recorded => StatusCode::CREATED,
        DeliveryOutcome::Replayed => StatusCode::OK,
        DeliveryOutcome::Ignored => StatusCode::ACCEPTED,
        DeliveryOutcome::Refused => StatusCode::UNPROCESSABLE_ENTITY,
    };
    Ok((status, Json(answer)).into_response())
}

#[utoipa::path(
    post,
    operation_id = "receive_github_delivery",
    path = "/hooks/github",
    tag = "hooks",
    summary = "GitHub deployment_status deliveries (signed with X-Hub-Signature-256)",
    description = "Only `state: success` records. The application is the one whose `repository` \
        is `repository.full_name`; the environment is named by the status; the version is \
        `deployment.payload.version` or else `deployment.ref` (registered if new); deployedBy is \
        the sender's login; the date is the status's `created_at`. A redelivery of one \
        `X-GitHub-Delivery` records nothing new.",
    security(()),
    request_body(content = String, content_type = "application/json"),
    responses(
        (status = 201, body = HookAnswer, description = "Recorded"),
        (status = 200, body = HookAnswer, description = "A redelivery: nothing new"),
        (status = 202, body = HookAnswer, description = "Not a successful deployment: ignored"),
        (status = 422, body = HookAnswer, description = "Could not be recorded; detail says why"),
        crate::rest::doc::Errors
    )
)]
async fn github(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    receive(&state, HookProvider::Github, &headers, &body).await
}

#[utoipa::path(
    post,
    operation_id = "receive_gitlab_delivery",
    path = "/hooks/gitlab",
    tag = "hooks",
    summary = "GitLab deployment events (with X-Gitlab-Token)",
    description = "Only `status: success` records. The application is the one whose `repository` \
        is `project.path_with_namespace`; the environment is `environment`; the version is `ref` \
        when it reads as a version (1.2.0, v1.2.0), else `short_sha` (registered if new); \
        deployedBy is `user.username`; the date is `status_changed_at`.",
    security(()),
    request_body(content = String, content_type = "application/json"),
    responses(
        (status = 201, body = HookAnswer, description = "Recorded"),
        (status = 200, body = HookAnswer, description = "A redelivery: nothing new"),
        (status = 202, body = HookAnswer, description = "Not a successful deployment: ignored"),
        (status = 422, body = HookAnswer, description = "Could not be recorded; detail says why"),
        crate::rest::doc::Errors
    )
)]
async fn gitlab(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    receive(&state, HookProvider::Gitlab, &headers, &body).await
}
