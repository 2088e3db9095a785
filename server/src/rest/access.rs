//! Sign-in for browsers, the current user, API tokens, and user management for admins.

use app::model::*;
use app::ssr::caller;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
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
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
        .routes(routes!(list_users, create_user))
        .routes(routes!(update_user))
}

fn secure(state: &AppState, parts: &Parts) -> bool {
    state.service.secure_cookies() || caller::is_https(parts)
}

/// 200 + session cookie + the user; 401 with one message for every kind of failure.
#[utoipa::path(
    post,
    operation_id = "sign_in",
    path = "/auth/login",
    tag = "access",
    summary = "Sign in; sets the session cookie",
    request_body = LoginRequest,
    responses((status = 200, body = User), crate::rest::doc::Errors)
)]
async fn login(
    State(state): State<AppState>,
    parts: Parts,
    ApiJson(request): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    let (user, secret) = state
        .service
        .login(
            &request.username,
            &request.password,
            &caller::client_address(&parts),
        )
        .await?;
    let cookie = caller::session_cookie(&secret, secure(&state, &parts));
    Ok(([(header::SET_COOKIE, cookie)], Json(user)).into_response())
}

#[utoipa::path(
    post,
    operation_id = "sign_out",
    path = "/auth/logout",
    tag = "access",
    summary = "Sign out; ends the session",
    responses((status = 204, description = "Signed out"), crate::rest::doc::Errors)
)]
async fn logout(State(state): State<AppState>, parts: Parts) -> ApiResult<Response> {
    if let Some(secret) = caller::session_secret(&parts.headers) {
        state.service.logout(&secret).await?;
    }
    let cookie = caller::clear_session_cookie(secure(&state, &parts));
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

#[utoipa::path(
    get,
    operation_id = "get_me",
    path = "/me",
    tag = "access",
    summary = "The signed-in user",
    responses((status = 200, body = User), crate::rest::doc::Errors)
)]
async fn me(CurrentUser(user): CurrentUser) -> Json<User> {
    Json(user)
}

#[utoipa::path(
    get,
    operation_id = "list_tokens",
    path = "/tokens",
    tag = "access",
    summary = "Your API tokens (never their secrets)",
    responses((status = 200, body = [ApiToken]), crate::rest::doc::Errors)
)]
async fn list_tokens(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> ApiResult<Json<Vec<ApiToken>>> {
    Ok(Json(state.service.list_tokens(&user).await?))
}

#[utoipa::path(
    post,
    operation_id = "create_token",
    path = "/tokens",
    tag = "access",
    summary = "Create an API token; the secret is in this answer only",
    request_body = NewToken,
    responses((status = 201, body = CreatedToken), crate::rest::doc::Errors)
)]
async fn create_token(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(input): ApiJson<NewToken>,
) -> ApiResult<Response> {
    let created_token = state.service.create_token(&user, input).await?;
    Ok(created(
        format!("/api/tokens/{}", created_token.info.id),
        created_token,
    ))
}

#[utoipa::path(
    delete,
    operation_id = "revoke_token",
    path = "/tokens/{id}",
    tag = "access",
    summary = "Revoke an API token",
    params(("id" = Uuid, Path, description = "The resource id")),
    responses((status = 200, body = ApiToken), crate::rest::doc::Errors)
)]
async fn revoke_token(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ApiToken>> {
    Ok(Json(state.service.revoke_token(&user, id).await?))
}

#[utoipa::path(
    get,
    operation_id = "list_users",
    path = "/users",
    tag = "access",
    summary = "Users (admin)",
    responses((status = 200, body = [User]), crate::rest::doc::Errors)
)]
async fn list_users(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> ApiResult<Json<Vec<User>>> {
    Ok(Json(state.service.list_users(&user).await?))
}

#[utoipa::path(
    post,
    operation_id = "create_user",
    path = "/users",
    tag = "access",
    summary = "Create a user (admin)",
    request_body = NewUser,
    responses((status = 201, body = User), crate::rest::doc::Errors)
)]
async fn create_user(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(input): ApiJson<NewUser>,
) -> ApiResult<Response> {
    let new_user = state.service.create_user(&user, input).await?;
    Ok(created(format!("/api/users/{}", new_user.id), new_user))
}

#[utoipa::path(
    patch,
    operation_id = "update_user",
    path = "/users/{id}",
    tag = "access",
    summary = "Change role, disable, reset password (admin)",
    params(("id" = Uuid, Path, description = "The resource id")),
    request_body = UserPatch,
    responses((status = 200, body = User), crate::rest::doc::Errors)
)]
async fn update_user(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<UserPatch>,
) -> ApiResult<Json<User>> {
    Ok(Json(state.service.update_user(&user, id, patch).await?))
}
