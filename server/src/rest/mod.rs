//! The REST API under `/api`: authenticate, call the service, shape the answer.

mod access;
mod audit;
mod badges;
mod catalog;
mod changes;
mod deployments;
pub mod doc;
mod drift;
mod hooks;
mod import;
mod insights;
mod policy;
mod teams;
mod webhooks;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

use axum::routing::{any, get};
use axum::{Json, Router};
use serde::Serialize;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::http::problem::Problem;
use crate::AppState;
use app::error::AppError;

/// The REST API mounted at `/api`, with its OpenAPI 3.1 description at `/api/openapi.json`.
/// The description is collected from the very routes registered here.
pub fn routes() -> Router<AppState> {
    let (router, openapi) = documented_routes();
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

/// The OpenAPI document `/api/openapi.json` serves (`deploytrack openapi` prints it, so a client
/// can be generated without a running server).
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    documented_routes().1
}

fn documented_routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(doc::ApiDoc::openapi())
        .nest(
            "/api",
            OpenApiRouter::new()
                .merge(access::routes())
                .merge(audit::routes())
                .merge(badges::routes())
                .merge(catalog::routes())
                .merge(changes::routes())
                .merge(deployments::routes())
                .merge(hooks::routes())
                .merge(insights::routes())
                .merge(policy::routes())
                .merge(teams::routes())
                .merge(drift::routes())
                .merge(import::routes())
                .merge(webhooks::routes()),
        )
        .split_for_parts()
}

/// Bodies that may carry commits (a deployment's, a version's list) may be this large, so that
/// 5,000 commits with long titles fit and a list over the count limit still reaches validation,
/// which names the limit; every other body stays under axum's 2 MB default.
pub const COMMITS_BODY_LIMIT: usize = 16 << 20;

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

/// A CSV download streamed page by page, so memory stays flat however long it is: `head` is the
/// first page's rows (fetched up front, so bad filters still get a proper error response), and
/// `next_page` turns a cursor into the following rows and cursor.
fn csv_download<F, Fut>(
    filename: &str,
    head: axum::body::Bytes,
    first_cursor: Option<String>,
    next_page: F,
) -> Response
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(axum::body::Bytes, Option<String>), AppError>>
        + Send
        + 'static,
{
    use futures::StreamExt;
    let next_page = Arc::new(next_page);
    let rest = futures::stream::unfold(first_cursor, move |cursor| {
        let next_page = next_page.clone();
        async move {
            match next_page(cursor?).await {
                Ok((bytes, next)) => Some((Ok::<_, std::io::Error>(bytes), next)),
                Err(err) => Some((Err(std::io::Error::other(err.to_string())), None)),
            }
        }
    });
    // Fused: a compressor may poll once more after the end, which `unfold` would answer with a
    // panic (seen under the fuzzer with Accept-Encoding: gzip).
    let body = futures::stream::once(async { Ok(head) }).chain(rest).fuse();
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        axum::body::Body::from_stream(body),
    )
        .into_response()
}
