//! `POST /api/import/backstage`: applications (and their teams) from a Backstage catalogue.

use app::error::AppError;
use app::model::*;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::http::auth::CurrentUser;
use crate::http::problem::{ApiQuery, Problem};
use crate::AppState;

type ApiResult<T> = Result<T, Problem>;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(import_backstage))
        .layer(axum::extract::DefaultBodyLimit::max(IMPORT_BODY_MAX))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ImportQuery {
    /// Answer the plan without writing anything.
    #[serde(default)]
    dry_run: bool,
}

#[utoipa::path(post, operation_id = "import_backstage", path = "/import/backstage", tag = "teams",
    summary = "Create or update applications from a Backstage catalog-info.yaml (admin; ?dryRun=true plans only)",
    params(ImportQuery),
    request_body(content = String, content_type = "application/yaml",
        description = "The catalogue file: YAML documents separated by ---"),
    responses((status = 200, body = ImportPlan), crate::rest::doc::Errors))]
async fn import_backstage(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiQuery(query): ApiQuery<ImportQuery>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<ImportPlan>> {
    let body = body.map_err(|rejection| {
        Problem(if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge(format!(
                "the catalogue file is too large: at most {} MB per import (import it in parts)",
                IMPORT_BODY_MAX >> 20
            ))
        } else {
            AppError::BadRequest(rejection.body_text())
        })
    })?;
    let yaml = std::str::from_utf8(&body)
        .map_err(|_| Problem(AppError::field("body", "must be UTF-8 text (a YAML file)")))?;
    Ok(Json(
        state
            .service
            .import_backstage(&user, yaml, query.dry_run)
            .await?,
    ))
}
