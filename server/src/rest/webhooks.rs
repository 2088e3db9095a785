//! Outbound webhooks (admins): configure targets, read each one's delivery log, send a test,
//! redeliver.

use app::model::*;
use axum::extract::State;
use axum::http::StatusCode;
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
        .routes(routes!(send_test))
        .routes(routes!(redeliver))
}

#[utoipa::path(
    get,
    operation_id = "list_webhooks",
    path = "/webhooks",
    tag = "webhooks",
    summary = "Outbound webhooks (admin; never their secrets)",
    responses((status = 200, body = [Webhook]), crate::rest::doc::Errors)
)]
async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> ApiResult<Json<Vec<Webhook>>> {
    Ok(Json(state.service.list_webhooks(&user).await?))
}

#[utoipa::path(
    post,
    operation_id = "create_webhook",
    path = "/webhooks",
    tag = "webhooks",
    summary = "Add a webhook (admin); the signing secret is in this answer only",
    description = "Each notification is a POST with `X-Deploytrack-Timestamp` (unix seconds) and \
        `X-Deploytrack-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + \".\" + body)>`, \
        sent from an outbox written with the deployment (none is lost to a crash), retried with \
        doubling waits for up to a day when the receiver does not answer 2xx.",
    request_body = NewWebhook,
    responses((status = 201, body = CreatedWebhook), crate::rest::doc::Errors)
)]
async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(input): ApiJson<NewWebhook>,
) -> ApiResult<Response> {
    let made = state.service.create_webhook(&user, input).await?;
    let location = format!("/api/webhooks/{}", made.webhook.id);
    Ok(created(location, made))
}

#[utoipa::path(
    delete,
    operation_id = "delete_webhook",
    path = "/webhooks/{id}",
    tag = "webhooks",
    summary = "Remove a webhook and its log (admin)",
    params(("id" = Uuid, Path, description = "The resource id")),
    responses((status = 204, description = "Removed"), crate::rest::doc::Errors)
)]
async fn delete(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    state.service.delete_webhook(&user, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    get,
    operation_id = "list_webhook_deliveries",
    path = "/webhooks/{id}/deliveries",
    tag = "webhooks",
    summary = "A webhook's last 100 notifications, newest first (admin)",
    params(("id" = Uuid, Path, description = "The resource id")),
    responses((status = 200, body = [WebhookDelivery]), crate::rest::doc::Errors)
)]
async fn deliveries(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Vec<WebhookDelivery>>> {
    Ok(Json(state.service.webhook_deliveries(&user, id).await?))
}

#[utoipa::path(
    post,
    operation_id = "send_test_webhook",
    path = "/webhooks/{id}/test",
    tag = "webhooks",
    summary = "Queue a `ping` notification to the webhook (admin)",
    params(("id" = Uuid, Path, description = "The resource id")),
    responses((status = 202, body = WebhookDelivery), crate::rest::doc::Errors)
)]
async fn send_test(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    let queued = state.service.send_test_notification(&user, id).await?;
    Ok((StatusCode::ACCEPTED, Json(queued)).into_response())
}

#[utoipa::path(
    post,
    operation_id = "redeliver_webhook_delivery",
    path = "/webhooks/{id}/deliveries/{delivery_id}/redeliver",
    tag = "webhooks",
    summary = "Queue a logged notification once more (admin)",
    params(
        ("id" = Uuid, Path, description = "The webhook"),
        ("delivery_id" = Uuid, Path, description = "The delivery to send again")
    ),
    responses((status = 202, body = WebhookDelivery), crate::rest::doc::Errors)
)]
async fn redeliver(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath((id, delivery_id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Response> {
    let queued = state.service.redeliver(&user, id, delivery_id).await?;
    Ok((StatusCode::ACCEPTED, Json(queued)).into_response())
}
