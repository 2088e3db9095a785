//! What changed between two deployed versions (issue 36): the commits pipelines send, and the
//! changes between versions, environments, or a deployment and what it replaced — as JSON, or
//! as Markdown release notes (`Accept: text/markdown`, or the `.md` paths).

use app::model::*;
use app::ssr::service::changes::{changes_markdown, ChangesPage, ChangesQuery};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::http::auth::CurrentUser;
use crate::http::problem::{ApiJson, ApiPath, ApiQuery, Problem};
use crate::AppState;

type ApiResult<T> = Result<T, Problem>;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(changes))
        .routes(routes!(changes_md))
        .routes(routes!(deployment_changes))
        .routes(routes!(deployment_changes_md))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(version_commits, store_commits))
                .layer(axum::extract::DefaultBodyLimit::max(
                    super::COMMITS_BODY_LIMIT,
                )),
        )
}

/// True when the client asked for Markdown rather than JSON.
fn wants_markdown(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| {
            let accept = accept.to_ascii_lowercase();
            accept.contains("text/markdown") && !accept.contains("application/json")
        })
}

fn answer(changes: Changes, markdown: bool) -> Response {
    if markdown {
        (
            [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
            changes_markdown(&changes),
        )
            .into_response()
    } else {
        Json(changes).into_response()
    }
}

#[utoipa::path(
    get,
    operation_id = "changes",
    path = "/changes",
    tag = "changes",
    summary = "What changed between two versions, or what two environments run (viewer)",
    description = "Each side is a version (`fromVersion`/`toVersion`) or what an environment runs \
        now (`fromEnvironment`/`toEnvironment`). `direction` says whether `to` is ahead (its \
        commits `from` lacks are listed) or behind (a rollback: what it lacks is listed). \
        `source` is `recorded` when every commit in the range was sent, `partial` when some \
        were, `unavailable` when none were. Commits are paged with `cursor`; tickets and totals \
        cover every page. `Accept: text/markdown` answers release notes.",
    params(ChangesQuery),
    responses(
        // One response with both types: two entries for one status kept only the last.
        (status = 200, description = "The changes; as Markdown release notes with `Accept: text/markdown`",
            content((Changes = "application/json"), (String = "text/markdown"))),
        crate::rest::doc::Errors
    )
)]
async fn changes(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<ChangesQuery>,
) -> ApiResult<Response> {
    let changes = state.service.changes(&user, query).await?;
    Ok(answer(changes, wants_markdown(&headers)))
}

#[utoipa::path(
    get,
    operation_id = "changes_markdown",
    path = "/changes.md",
    tag = "changes",
    summary = "As /changes, as Markdown release notes (viewer)",
    params(ChangesQuery),
    responses((status = 200, content_type = "text/markdown", body = String), crate::rest::doc::Errors)
)]
async fn changes_md(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiQuery(query): ApiQuery<ChangesQuery>,
) -> ApiResult<Response> {
    let changes = state.service.changes(&user, query).await?;
    Ok(answer(changes, true))
}

#[utoipa::path(
    get,
    operation_id = "deployment_changes",
    path = "/deployments/{id}/changes",
    tag = "changes",
    summary = "What a deployment brought, against what ran before it in its pair (viewer)",
    description = "For a rollback (`direction: behind`) the commits are those it took away.",
    params(("id" = Uuid, Path, description = "The deployment's id"), ChangesPage),
    responses(
        // One response with both types: two entries for one status kept only the last.
        (status = 200, description = "The changes; as Markdown release notes with `Accept: text/markdown`",
            content((Changes = "application/json"), (String = "text/markdown"))),
        crate::rest::doc::Errors
    )
)]
async fn deployment_changes(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    headers: HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(page): ApiQuery<ChangesPage>,
) -> ApiResult<Response> {
    let changes = state.service.deployment_changes(&user, id, page).await?;
    Ok(answer(changes, wants_markdown(&headers)))
}

#[utoipa::path(
    get,
    operation_id = "deployment_changes_markdown",
    path = "/deployments/{id}/changes.md",
    tag = "changes",
    summary = "As /deployments/{id}/changes, as Markdown release notes (viewer)",
    params(("id" = Uuid, Path, description = "The deployment's id"), ChangesPage),
    responses((status = 200, content_type = "text/markdown", body = String), crate::rest::doc::Errors)
)]
async fn deployment_changes_md(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(page): ApiQuery<ChangesPage>,
) -> ApiResult<Response> {
    let changes = state.service.deployment_changes(&user, id, page).await?;
    Ok(answer(changes, true))
}

#[utoipa::path(
    get,
    operation_id = "version_commits",
    path = "/versions/{id}/commits",
    tag = "changes",
    summary = "A version's own commits: what it has that the version it was built on had not (viewer)",
    params(("id" = Uuid, Path, description = "The version's id"), ChangesPage),
    responses((status = 200, body = Changes), crate::rest::doc::Errors)
)]
async fn version_commits(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(page): ApiQuery<ChangesPage>,
) -> ApiResult<Json<Changes>> {
    Ok(Json(state.service.version_changes(&user, id, page).await?))
}

#[utoipa::path(
    post,
    operation_id = "store_commits",
    path = "/versions/{id}/commits",
    tag = "changes",
    summary = "Send a version's commits since another commit (editor)",
    description = "The body is what `git log <since>..<version>` printed, newest first, at most \
        5,000 commits (say how many more there were in `truncated`). Sending the same `since` \
        for a version again stores nothing (`stored: false`).",
    params(("id" = Uuid, Path, description = "The version's id")),
    request_body = CommitList,
    responses((status = 200, body = CommitsStored), crate::rest::doc::Errors)
)]
async fn store_commits(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(list): ApiJson<CommitList>,
) -> ApiResult<Json<CommitsStored>> {
    Ok(Json(state.service.store_commits(&user, id, list).await?))
}
