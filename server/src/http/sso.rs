//! `GET /auth/oidc/login` and `GET /auth/oidc/callback`: signing in through the company's
//! OpenID Connect provider. The state travels in the URL and in a short-lived cookie on this
//! path, and must match both the cookie and a sign-in we started (and still hold: each serves
//! once), so a callback cannot be replayed or planted in another person's browser.

use app::error::AppError;
use app::ssr::caller::{self, ClientAddr};
use axum::extract::{Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use cookie::{Cookie, SameSite};
use serde::Deserialize;

use crate::oidc::sign_in::SignInError;
use crate::AppState;

const STATE_COOKIE: &str = "deploytrack_oidc";
const COOKIE_PATH: &str = "/auth/oidc";

#[derive(Deserialize)]
pub struct StartQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

fn state_cookie(value: &str, secure: bool, max_age: i64) -> String {
    Cookie::build((STATE_COOKIE, value.to_string()))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .path(COOKIE_PATH)
        .max_age(cookie::time::Duration::seconds(max_age))
        .build()
        .to_string()
}

fn cookie_state(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == STATE_COOKIE && !c.value().is_empty())
        .map(|c| c.value().to_string())
}

/// A short page saying why sign-in failed, with the way back; the reason is escaped.
fn failure(status: StatusCode, reason: &str) -> Response {
    let reason = html_escape::encode_text(reason);
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Sign-in failed</title></head><body><main><h1>Sign-in failed</h1>\
         <p>{reason}</p><p><a href=\"/login\">Back to sign-in</a></p></main></body></html>"
    );
    (status, Html(body)).into_response()
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

fn client(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ClientAddr>()
        .map_or_else(|| "unknown".into(), |addr| addr.0.to_string())
}

/// Starts a sign-in: remembers it and sends the browser to the provider.
pub async fn start(
    State(state): State<AppState>,
    parts: Parts,
    Query(query): Query<StartQuery>,
) -> Response {
    let Some(oidc) = &state.oidc else {
        return failure(StatusCode::NOT_FOUND, "single sign-on is not set up here");
    };
    let next = caller::safe_next(query.next.as_deref());
    let sign_in = match state.service.begin_provider_sign_in(&next).await {
        Ok(sign_in) => sign_in,
        Err(err) => return failure(StatusCode::SERVICE_UNAVAILABLE, &err.to_string()),
    };
    let url = match oidc.authorization_url(&sign_in).await {
        Ok(url) => url,
        Err(err) => {
            tracing::warn!(error = %err, "the provider's discovery document could not be read");
            return failure(
                StatusCode::BAD_GATEWAY,
                "the sign-in provider cannot be reached; try again shortly or ask an admin",
            );
        }
    };
    let secure = state.service.secure_cookies() || caller::is_https(&parts);
    with_cookie(
        Redirect::to(&url).into_response(),
        &state_cookie(sign_in.state.expose(), secure, 600),
    )
}

/// Where the provider sends the browser back: checks everything, opens a session.
pub async fn callback(
    State(state): State<AppState>,
    parts: Parts,
    query: Result<Query<CallbackQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let secure = state.service.secure_cookies() || caller::is_https(&parts);
    let forget_state = state_cookie("", secure, 0);
    let client = client(&parts);
    let outcome = finish(&state, &parts, query, &client).await;
    let response = match outcome {
        Ok((secret, next)) => with_cookie(
            Redirect::to(&next).into_response(),
            &caller::session_cookie(&secret, secure),
        ),
        Err((status, reason, audited_reason)) => {
            if let Some(detail) = audited_reason {
                tracing::info!(client, reason = %detail, "sign-in through the provider refused");
                state
                    .service
                    .audit_refusal("auth.sso_refused", &detail, &client)
                    .await;
            }
            failure(status, &reason)
        }
    };
    with_cookie(response, &forget_state)
}

type Refusal = (StatusCode, String, Option<String>);

async fn finish(
    state: &AppState,
    parts: &Parts,
    query: Result<Query<CallbackQuery>, axum::extract::rejection::QueryRejection>,
    client: &str,
) -> Result<(app::model::Secret, String), Refusal> {
    let refuse =
        |status: StatusCode, reason: &str| (status, reason.to_string(), Some(reason.to_string()));
    let Some(oidc) = &state.oidc else {
        return Err((
            StatusCode::NOT_FOUND,
            "single sign-on is not set up here".into(),
            None,
        ));
    };
    let Ok(Query(query)) = query else {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "the callback's query is malformed",
        ));
    };
    if let Some(error) = &query.error {
        let description = query.error_description.as_deref().unwrap_or_default();
        let reason = format!("the provider said: {error} {description}");
        let reason: String = reason.chars().take(500).collect();
        return Err(refuse(StatusCode::UNAUTHORIZED, reason.trim()));
    }
    let (Some(code), Some(sent_state)) = (query.code.as_deref(), query.state.as_deref()) else {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "the callback lacks its code or state",
        ));
    };
    if code.len() > 4096 || sent_state.len() > 512 {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "the callback's code or state is too long",
        ));
    }
    if cookie_state(parts).as_deref() != Some(sent_state) {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "the sign-in's state does not match this browser's: start again from the sign-in page",
        ));
    }
    let attempt = state
        .service
        .take_provider_sign_in(sent_state)
        .await
        .map_err(|err| refuse(StatusCode::BAD_REQUEST, &err.to_string()))?;
    let person = oidc
        .finish(code, &attempt.pkce_verifier, &attempt.nonce)
        .await
        .map_err(|err| {
            let status = match err {
                SignInError::Provider(_) => StatusCode::BAD_GATEWAY,
                _ => StatusCode::UNAUTHORIZED,
            };
            (
                status,
                "the provider's answer could not be accepted; start again from the sign-in page"
                    .into(),
                Some(err.to_string()),
            )
        })?;
    let (_, secret) = state
        .service
        .sign_in_from_provider(person, client)
        .await
        .map_err(|err| match err {
            // Already audited by the service.
            AppError::Forbidden(reason) => (StatusCode::FORBIDDEN, reason, None),
            other => (StatusCode::INTERNAL_SERVER_ERROR, other.to_string(), None),
        })?;
    Ok((secret, attempt.next_path))
}
