//! Sign-in for browsers, the current user, API tokens, and user management for admins.

use app::model::*;
use app::ssr::web;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use uuid::Uuid;

use super::created;
use crate::auth::CurrentUser;
use crate::problem::{ApiJson, ApiPath, Problem};
use crate::AppState;

type ApiResult<T> = Result<T, Problem>;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/me", get(me))
        .route("/tokens", get(list_tokens).post(create_token))
        .route("/tokens/{id}", delete(revoke_token))
        .route("/users", get(list_users).post(create_user))
        .route("/users/{id}", patch(update_user))
}

fn secure(state: &AppState, parts: &Parts) -> bool {
    state.service.secure_cookies() || web::is_https(parts)
}

/// 200 + session cookie + the user; 401 with one message for every kind of failure.
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
            &web::client_address(&parts),
        )
        .await?;
    let cookie = web::session_cookie(secret, secure(&state, &parts));
    Ok(([(header::SET_COOKIE, cookie)], Json(user)).into_response())
}

async fn logout(State(state): State<AppState>, parts: Parts) -> ApiResult<Response> {
    if let Some(secret) = web::session_secret(&parts.headers) {
        state.service.logout(&secret).await?;
    }
    let cookie = web::clear_session_cookie(secure(&state, &parts));
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

async fn me(CurrentUser(user): CurrentUser) -> Json<User> {
    Json(user)
}

async fn list_tokens(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> ApiResult<Json<Vec<ApiToken>>> {
    Ok(Json(state.service.list_tokens(&user).await?))
}

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

async fn revoke_token(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ApiToken>> {
    Ok(Json(state.service.revoke_token(&user, id).await?))
}

async fn list_users(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> ApiResult<Json<Vec<User>>> {
    Ok(Json(state.service.list_users(&user).await?))
}

async fn create_user(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(input): ApiJson<NewUser>,
) -> ApiResult<Response> {
    let new_user = state.service.create_user(&user, input).await?;
    Ok(created(format!("/api/users/{}", new_user.id), new_user))
}

async fn update_user(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<UserPatch>,
) -> ApiResult<Json<User>> {
    Ok(Json(state.service.update_user(&user, id, patch).await?))
}
