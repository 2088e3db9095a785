//! The audit trail (admins): JSON pages and a CSV export of the whole filtered trail.

use app::error::AppError;
use app::model::{AuditEntry, AuditPage, AuditQuery};
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::Json;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::deployments::spreadsheet_safe;
use crate::http::auth::CurrentUser;
use crate::http::problem::{ApiQuery, Problem};
use crate::AppState;

type ApiResult<T> = Result<T, Problem>;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(export_csv))
}

#[utoipa::path(
    get,
    operation_id = "list_audit",
    path = "/audit",
    tag = "audit",
    summary = "The audit trail, newest first (admin)",
    description = "Every state change and security event: sign-ins (and failed ones), sign-outs, \
        tokens, users, applications, environments, versions, deployments recorded and retracted, \
        hooks. Entries are written in the same transaction as the change and can never be \
        altered. Secrets are never in it.",
    params(AuditQuery),
    responses((status = 200, body = AuditPage), crate::rest::doc::Errors)
)]
async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    Ok(Json(state.service.audit_trail(&user, query).await?))
}

fn csv_rows(entries: &[AuditEntry], with_header: bool) -> Result<Bytes, AppError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let fail = |err: csv::Error| {
        tracing::error!(error = %err, "CSV encoding failed");
        AppError::Internal
    };
    if with_header {
        writer
            .write_record([
                "id",
                "at",
                "actorId",
                "actor",
                "tokenName",
                "clientAddress",
                "action",
                "targetType",
                "targetId",
                "changes",
            ])
            .map_err(fail)?;
    }
    for e in entries {
        let text = |value: Option<&str>| spreadsheet_safe(value.unwrap_or_default());
        writer
            .write_record([
                e.id.to_string(),
                e.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                e.actor
                    .as_ref()
                    .map(|a| a.id.to_string())
                    .unwrap_or_default(),
                text(e.actor.as_ref().map(|a| a.username.as_str())),
                text(e.token_name.as_deref()),
                text(e.client_address.as_deref()),
                text(Some(&e.action)),
                text(Some(&e.target_type)),
                text(e.target_id.as_deref()),
                text(e.changes.as_ref().map(|c| c.to_string()).as_deref()),
            ])
            .map_err(fail)?;
    }
    writer
        .into_inner()
        .map(Bytes::from)
        .map_err(|_| AppError::Internal)
}

/// The filtered trail as CSV, streamed page by page so memory stays flat however long it is.
#[utoipa::path(
    get,
    operation_id = "export_audit_csv",
    path = "/audit.csv",
    tag = "audit",
    summary = "The filtered audit trail as CSV (admin)",
    params(AuditQuery),
    responses((status = 200, content_type = "text/csv", body = String), crate::rest::doc::Errors)
)]
async fn export_csv(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<Response> {
    let query = AuditQuery {
        limit: Some(500),
        ..query
    };
    let first = state.service.audit_trail(&user, query.clone()).await?;
    let head = csv_rows(&first.items, true)?;
    let service = state.service.clone();
    Ok(super::csv_download(
        "audit.csv",
        head,
        first.next_cursor,
        move |cursor| {
            let (service, user, query) = (service.clone(), user.clone(), query.clone());
            async move {
                let query = AuditQuery {
                    cursor: Some(cursor),
                    ..query
                };
                let page = service.audit_trail(&user, query).await?;
                Ok((csv_rows(&page.items, false)?, page.next_cursor))
            }
        },
    ))
}
