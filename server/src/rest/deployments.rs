//! Deployments: record, history (JSON and CSV), current state now or at an instant, retraction,
//! statistics. Deployments are immutable: PUT and PATCH answer 405.

use app::error::AppError;
use app::model::*;
use app::ssr::PairFilter;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::created;
use crate::http::auth::{Caller, CurrentUser};
use crate::http::problem::{ApiJson, ApiPath, ApiQuery, Problem};
use crate::AppState;

type ApiResult<T> = Result<T, Problem>;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(OpenApiRouter::new().routes(routes!(list, record)).layer(
            axum::extract::DefaultBodyLimit::max(super::COMMITS_BODY_LIMIT),
        ))
        .routes(routes!(export_csv))
        .routes(routes!(current))
        .routes(routes!(get_one, retract, replace_refused, edit_refused))
        .routes(routes!(list_for_application))
        .routes(routes!(current_for_application))
        .routes(routes!(current_for_environment))
        .routes(routes!(stats))
        .routes(routes!(events))
        .routes(routes!(compare))
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CompareQuery {
    /// The earlier environment (default: the last non-production one).
    from: Option<Uuid>,
    /// The later environment (default: the first production one).
    to: Option<Uuid>,
    /// Only this team's applications (its name or id), or your teams' (`mine`).
    #[param(max_length = 100)]
    team: Option<String>,
}

#[utoipa::path(
    get,
    operation_id = "compare_environments",
    path = "/compare",
    tag = "deployments",
    summary = "Two environments side by side: promotion candidates first",
    params(CompareQuery),
    responses((status = 200, body = EnvironmentComparison), crate::rest::doc::Errors)
)]
async fn compare(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiQuery(query): ApiQuery<CompareQuery>,
) -> ApiResult<Json<EnvironmentComparison>> {
    Ok(Json(
        state
            .service
            .compare_environments(&user, query.from, query.to, query.team.as_deref())
            .await?,
    ))
}

/// History filters, paging, and (admins) retracted records.
#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct HistoryQuery {
    application_id: Option<Uuid>,
    environment_id: Option<Uuid>,
    version_id: Option<Uuid>,
    date_from: Option<DateTime<Utc>>,
    date_to: Option<DateTime<Utc>>,
    #[param(
        max_length = 255,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    deployed_by: Option<String>,
    /// Substring of notes, version identifier or deployer.
    #[param(
        max_length = 200,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    q: Option<String>,
    #[serde(default)]
    include_deleted: bool,
    /// Only deployments recorded while the deploy policy blocked them.
    #[serde(default)]
    violations: bool,
    /// Only this team's applications (its name or id), or your teams' (`mine`).
    #[param(max_length = 100)]
    team: Option<String>,
    /// The `nextCursor` of the previous page, unchanged.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    cursor: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

impl HistoryQuery {
    fn split(self) -> (DeploymentFilter, Option<String>, Option<i64>) {
        let filter = DeploymentFilter {
            application_id: self.application_id,
            environment_id: self.environment_id,
            version_id: self.version_id,
            date_from: self.date_from,
            date_to: self.date_to,
            deployed_by: self.deployed_by,
            q: self.q,
            include_deleted: self.include_deleted,
            violations: self.violations,
            team: self.team,
            team_ids: None,
        };
        (filter, self.cursor, self.limit)
    }
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CurrentQuery {
    application_id: Option<Uuid>,
    environment_id: Option<Uuid>,
    /// The state as it was at this instant (RFC 3339).
    at: Option<DateTime<Utc>>,
    /// Pages the whole matrix (now or at `at`) by application: the cells of at most this many
    /// applications (in matrix order); a `Link: <…>; rel="next"` header names the next page.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
    /// From the previous page's `Link` header, unchanged.
    cursor: Option<String>,
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AtQuery {
    at: Option<DateTime<Utc>>,
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ReasonQuery {
    #[param(
        max_length = 1000,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    reason: Option<String>,
}

#[utoipa::path(
    post,
    operation_id = "record_deployment",
    path = "/deployments",
    tag = "deployments",
    summary = "Record a deployment",
    description = "Name the application, version and environment by id (`applicationId`, \
        `versionId`, `environmentId`) or by name (`application`, `version`, `environment`), one of \
        the two for each. Names match case-insensitively; a version name is looked up within the \
        application, and with `createVersion: true` an unknown one is registered. Send an \
        `Idempotency-Key` so a retried request records once: the same key and body within 24 \
        hours answer the first deployment again (with `Idempotent-Replayed: true`).",
    params(
        ("Idempotency-Key" = Option<String>, Header, max_length = 255,
         description = "Any unique string per deployment, e.g. built from the CI run id")
    ),
    request_body = RecordDeploymentRequest,
    responses((status = 201, body = Deployment, description = "Recorded (or replayed); Location names it"), crate::rest::doc::Errors)
)]
async fn record(
    State(state): State<AppState>,
    Caller(caller): Caller,
    headers: HeaderMap,
    ApiJson(request): ApiJson<RecordDeploymentRequest>,
) -> ApiResult<Response> {
    let key =
        match headers.get("idempotency-key") {
            None => None,
            Some(value) => Some(value.to_str().map_err(|_| {
                AppError::field("Idempotency-Key", "must be visible ASCII characters")
            })?),
        };
    let service = &state.service;
    let recorded = match &caller.pipeline {
        Some(pipeline) => {
            service
                .record_pipeline_deployment(&caller.user, pipeline, request, key)
                .await?
        }
        None => {
            service
                .record_deployment(&caller.user, request, key)
                .await?
        }
    };
    let deployment = recorded.deployment;
    let mut response = created(format!("/api/deployments/{}", deployment.id), deployment);
    if recorded.replayed {
        response.headers_mut().insert(
            HeaderName::from_static("idempotent-replayed"),
            HeaderValue::from_static("true"),
        );
    }
    Ok(response)
}

#[utoipa::path(
    get,
    operation_id = "list_deployments",
    path = "/deployments",
    tag = "deployments",
    summary = "Deployment history, newest first, by keyset cursor",
    params(HistoryQuery),
    responses((status = 200, body = DeploymentPage), crate::rest::doc::Errors)
)]
async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<DeploymentPage>> {
    let (filter, cursor, limit) = query.split();
    Ok(Json(
        state
            .service
            .list_deployments(&user, filter, cursor.as_deref(), limit)
            .await?,
    ))
}

#[utoipa::path(
    get,
    operation_id = "list_deployments_of_application",
    path = "/applications/{id}/deployments",
    tag = "deployments",
    summary = "An application's deployment history",
    params(("id" = Uuid, Path, description = "The resource id"), HistoryQuery),
    responses((status = 200, body = DeploymentPage), crate::rest::doc::Errors)
)]
async fn list_for_application(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(application_id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<DeploymentPage>> {
    state.service.get_application(&user, application_id).await?;
    let (mut filter, cursor, limit) = query.split();
    filter.application_id = Some(application_id);
    Ok(Json(
        state
            .service
            .list_deployments(&user, filter, cursor.as_deref(), limit)
            .await?,
    ))
}

#[utoipa::path(
    get,
    operation_id = "get_deployment",
    path = "/deployments/{id}",
    tag = "deployments",
    summary = "One deployment",
    params(("id" = Uuid, Path, description = "The resource id")),
    responses((status = 200, body = Deployment), crate::rest::doc::Errors)
)]
async fn get_one(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Deployment>> {
    Ok(Json(state.service.get_deployment(&user, id).await?))
}

/// The reason comes as JSON `{"reason": …}` or as `?reason=`.
#[utoipa::path(
    delete,
    operation_id = "retract_deployment",
    path = "/deployments/{id}",
    tag = "deployments",
    summary = "Retract a deployment (admin soft-delete, once, with a reason)",
    params(("id" = Uuid, Path, description = "The resource id"), ReasonQuery),
    request_body = Option<RetractRequest>,
    responses((status = 200, body = Deployment), crate::rest::doc::Errors)
)]
async fn retract(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<ReasonQuery>,
    body: Bytes,
) -> ApiResult<Json<Deployment>> {
    let reason = if body.is_empty() {
        query.reason.unwrap_or_default()
    } else {
        serde_json::from_slice::<RetractRequest>(&body)
            .map_err(|err| AppError::BadRequest(format!("invalid JSON body: {err}")))?
            .reason
    };
    Ok(Json(
        state.service.retract_deployment(&user, id, &reason).await?,
    ))
}

#[utoipa::path(
    put,
    operation_id = "replace_deployment_refused",
    path = "/deployments/{id}",
    tag = "deployments",
    summary = "Not allowed: deployments are immutable",
    params(("id" = Uuid, Path, description = "The resource id")),
    responses((status = 405, description = "Deployments are immutable", body = crate::rest::doc::ProblemDoc, content_type = "application/problem+json"))
)]
async fn replace_refused() -> Problem {
    immutable()
}

#[utoipa::path(
    patch,
    operation_id = "edit_deployment_refused",
    path = "/deployments/{id}",
    tag = "deployments",
    summary = "Not allowed: deployments are immutable",
    params(("id" = Uuid, Path, description = "The resource id")),
    responses((status = 405, description = "Deployments are immutable", body = crate::rest::doc::ProblemDoc, content_type = "application/problem+json"))
)]
async fn edit_refused() -> Problem {
    immutable()
}

fn immutable() -> Problem {
    Problem(AppError::MethodNotAllowed(
        "deployments are immutable; an admin may retract one with DELETE and a reason".into(),
    ))
}

/// The three current-state endpoints differ only in which pairs they select.
async fn current_json(
    state: &AppState,
    user: &User,
    pairs: PairFilter,
    at: Option<DateTime<Utc>>,
) -> ApiResult<Response> {
    let chunks = state.service.current_state_json(user, pairs, at).await?;
    let body = Body::from_stream(futures::stream::iter(
        chunks.map(Ok::<_, std::convert::Infallible>),
    ));
    let mut response = ([(header::CONTENT_TYPE, "application/json")], body).into_response();
    response
        .extensions_mut()
        .insert(crate::http::heavy_responses::ProducedAlready);
    Ok(response)
}

#[utoipa::path(
    get,
    operation_id = "current_state",
    path = "/deployments/current",
    tag = "deployments",
    summary = "Current state (or at an instant with ?at=)",
    params(CurrentQuery),
    responses((status = 200, body = [CurrentDeploymentState]), crate::rest::doc::Errors)
)]
async fn current(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiQuery(query): ApiQuery<CurrentQuery>,
) -> ApiResult<Response> {
    let pairs = PairFilter {
        application_id: query.application_id,
        environment_id: query.environment_id,
    };
    if query.limit.is_none() && query.cursor.is_none() {
        return current_json(&state, &user, pairs, query.at).await;
    }
    if pairs.application_id.is_some() || pairs.environment_id.is_some() {
        return Err(Problem(AppError::field(
            "limit",
            "pages the whole matrix only: leave out applicationId and environmentId",
        )));
    }
    let limit = query
        .limit
        .unwrap_or(app::ssr::service::deployments::DEFAULT_PAGE_SIZE);
    let page = state
        .service
        .current_state_page(&user, query.at, query.cursor.as_deref(), limit)
        .await?;
    let mut response = ([(header::CONTENT_TYPE, "application/json")], page.body).into_response();
    if let Some(cursor) = page.next_cursor {
        let at = query.at.map_or(String::new(), |at| {
            format!("&at={}", at.format("%Y-%m-%dT%H:%M:%S%.6fZ"))
        });
        let link =
            format!("</api/deployments/current?limit={limit}{at}&cursor={cursor}>; rel=\"next\"");
        if let Ok(value) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    Ok(response)
}

#[utoipa::path(
    get,
    operation_id = "current_state_of_application",
    path = "/applications/{id}/deployments/current",
    tag = "deployments",
    summary = "Current state per environment for an application",
    params(("id" = Uuid, Path, description = "The resource id"), AtQuery),
    responses((status = 200, body = [CurrentDeploymentState]), crate::rest::doc::Errors)
)]
async fn current_for_application(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<AtQuery>,
) -> ApiResult<Response> {
    let pairs = PairFilter {
        application_id: Some(id),
        environment_id: None,
    };
    current_json(&state, &user, pairs, query.at).await
}

#[utoipa::path(
    get,
    operation_id = "current_state_of_environment",
    path = "/environments/{id}/deployments/current",
    tag = "deployments",
    summary = "Every application currently deployed in an environment",
    params(("id" = Uuid, Path, description = "The resource id"), AtQuery),
    responses((status = 200, body = [CurrentDeploymentState]), crate::rest::doc::Errors)
)]
async fn current_for_environment(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<AtQuery>,
) -> ApiResult<Response> {
    let pairs = PairFilter {
        application_id: None,
        environment_id: Some(id),
    };
    current_json(&state, &user, pairs, query.at).await
}

#[utoipa::path(
    get,
    operation_id = "dashboard_stats",
    path = "/stats",
    tag = "deployments",
    summary = "Dashboard statistics",
    responses((status = 200, body = Stats), crate::rest::doc::Errors)
)]
async fn stats(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> ApiResult<Json<Stats>> {
    Ok(Json(state.service.stats(&user).await?))
}

/// Spreadsheets run cells that start with these as formulas; a leading quote keeps them text.
pub(super) fn spreadsheet_safe(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

fn csv_rows(deployments: &[Deployment], with_header: bool) -> Result<Bytes, AppError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let fail = |err: csv::Error| {
        tracing::error!(error = %err, "CSV encoding failed");
        AppError::Internal
    };
    if with_header {
        writer
            .write_record([
                "id",
                "application",
                "version",
                "environment",
                "deploymentDate",
                "deployedBy",
                "notes",
                "createdAt",
                "isRollback",
                "deletedAt",
                "deletedBy",
                "deleteReason",
            ])
            .map_err(fail)?;
    }
    for d in deployments {
        let rfc3339 = |t: &DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        writer
            .write_record([
                d.id.to_string(),
                spreadsheet_safe(&d.application.name),
                spreadsheet_safe(&d.version.version_identifier),
                spreadsheet_safe(&d.environment.name),
                rfc3339(&d.deployment_date),
                spreadsheet_safe(d.deployed_by.as_deref().unwrap_or_default()),
                spreadsheet_safe(d.notes.as_deref().unwrap_or_default()),
                rfc3339(&d.created_at),
                d.is_rollback.to_string(),
                d.deleted_at.as_ref().map(rfc3339).unwrap_or_default(),
                spreadsheet_safe(d.deleted_by.as_deref().unwrap_or_default()),
                spreadsheet_safe(d.delete_reason.as_deref().unwrap_or_default()),
            ])
            .map_err(fail)?;
    }
    writer
        .into_inner()
        .map(Bytes::from)
        .map_err(|_| AppError::Internal)
}

/// The filtered history as CSV, streamed page by page so memory stays flat however long it is.
#[utoipa::path(
    get,
    operation_id = "export_deployments_csv",
    path = "/deployments.csv",
    tag = "deployments",
    summary = "The filtered history as CSV",
    params(HistoryQuery),
    responses((status = 200, content_type = "text/csv", body = String), crate::rest::doc::Errors)
)]
async fn export_csv(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> ApiResult<Response> {
    let (filter, _, _) = query.split();
    // The first page is fetched up front so bad filters still get a proper error response.
    let first = state
        .service
        .list_deployments(&user, filter.clone(), None, Some(500))
        .await?;
    let head = csv_rows(&first.items, true)?;
    let service = state.service.clone();
    Ok(super::csv_download(
        "deployments.csv",
        head,
        first.next_cursor,
        move |cursor| {
            let (service, user, filter) = (service.clone(), user.clone(), filter.clone());
            async move {
                let page = service
                    .list_deployments(&user, filter, Some(&cursor), Some(500))
                    .await?;
                Ok((csv_rows(&page.items, false)?, page.next_cursor))
            }
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::spreadsheet_safe;

    #[test]
    fn formula_like_cells_are_quoted() {
        assert_eq!(spreadsheet_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(spreadsheet_safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(spreadsheet_safe("1.2.0"), "1.2.0");
    }
}

/// Server-sent events: `event: deployment`, `data: <id>` whenever a deployment is recorded or
/// retracted. Streams end when the server shuts down.
#[utoipa::path(
    get,
    operation_id = "live_events",
    path = "/events",
    tag = "deployments",
    summary = "Live feed of recorded and retracted deployments (text/event-stream)",
    responses((status = 200, content_type = "text/event-stream", body = String), crate::rest::doc::Errors)
)]
async fn events(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> ApiResult<
    axum::response::Sse<
        impl futures::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>,
    >,
> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    use tokio::sync::broadcast::error::RecvError;
    let slot = state.live_feeds.open(user.id).ok_or_else(|| {
        Problem(AppError::TooManyRequests {
            message: format!(
                "at most {} live-update streams per user may be open; close another tab first",
                state.live_feeds.per_user()
            ),
            retry_after_seconds: 30,
        })
    })?;
    let receiver = state.service.subscribe();
    // The slot travels with the stream and is freed when the client goes away.
    let feed = futures::stream::unfold((receiver, slot), |(mut receiver, slot)| async move {
        loop {
            match receiver.recv().await {
                Ok(change) => {
                    let event = Event::default()
                        .event("deployment")
                        .data(change.event_data());
                    return Some((Ok(event), (receiver, slot)));
                }
                // A slow client missed some ids; the next one still tells it to refresh.
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return None,
            }
        }
    });
    let stopping = state.shutdown.clone().cancelled_owned();
    Ok(Sse::new(feed.take_until(Box::pin(stopping))).keep_alive(KeepAlive::default()))
}
