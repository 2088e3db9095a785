//! The REST API under `/api`: authenticate, call the service, shape the answer.

mod access;
mod catalog;
mod deployments;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::Serialize;

use crate::problem::Problem;
use crate::AppState;
use app::error::AppError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(access::routes())
        .merge(catalog::routes())
        .merge(deployments::routes())
        .fallback(|| async { Problem(AppError::NotFound("no such API endpoint".into())) })
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
