//! The REST API under `/api`: authenticate, call the service, shape the answer.

mod access;
mod audit;
mod catalog;
mod deployments;
pub mod doc;
mod hooks;
mod insights;
mod webhooks;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

use axum::routing::{any, get};
use axum::{Json, Router};
use serde::Serialize;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::problem::Problem;
use crate::AppState;
use app::error::AppError;

/// The REST API mounted at `/api`, with its OpenAPI 3.1 description at `/api/openapi.json`.
/// The description is collected from the very routes registered here.
pub fn routes() -> Router<AppState> {
    let (router, openapi) = OpenApiRouter::with_openapi(doc::ApiDoc::openapi())
        .nest(
            "/api",
            OpenApiRouter::new()
                .merge(access::routes())
                .merge(audit::routes())
                .merge(catalog::routes())
                .merge(deployments::routes())
                .merge(hooks::routes())
                .merge(insights::routes())
                .merge(webhooks::routes()),
        )
        .split_for_parts();
    let openapi = Arc::new(openapi);
    router
        .route(
            "/api/openapi.json",
            get(move || {
                let openapi = openapi.clone();
                async move { Json(openapi.as_ref().clone()) }
            }),
        )
        .route("/api", any(no_such_endpoint))
        .route("/api/{*rest}", any(no_such_endpoint))
}

async fn no_such_endpoint() -> Problem {
    Problem(AppError::NotFound("no such API endpoint".into()))
}

/// `201 Created` with a `Location` header and the created object.
fn created<T: Serialize>(location: String, body: T) -> Response {
    (
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(body),
    )
        .into_response()
}
