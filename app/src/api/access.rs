//! Sign-in, sign-out, the current user, API tokens and (for admins) users.

use leptos::prelude::*;
use uuid::Uuid;

use crate::error::AppError;
use crate::model::*;

#[cfg(feature = "ssr")]
use super::{request_parts, service, signed_in};

/// The signed-in user, or `None` on public pages.
#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc, endpoint = "me")]
pub async fn current_user() -> Result<Option<User>, AppError> {
    Ok(signed_in().ok().map(|(_, user)| user))
}

/// How people sign in here (public: the login page asks before anyone has signed in).
#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc, endpoint = "sign_in_options")]
pub async fn how_to_sign_in() -> Result<SignInOptions, AppError> {
    Ok(service()?.sign_in_options())
}

/// Checks the credentials, sets the session cookie and sends the browser on to `next`.
#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc, endpoint = "login")]
pub async fn login(
    username: String,
    password: Password,
    next: Option<String>,
) -> Result<(), AppError> {
    use crate::ssr::caller;
    let parts = request_parts()?;
    let service = service()?;
    let (_, secret) = service
        .login(&username, &password, &caller::client_address(&parts))
        .await?;
    let response = expect_context::<leptos_axum::ResponseOptions>();
    let cookie = caller::session_cookie(
        &secret,
        service.secure_cookies() || caller::is_https(&parts),
    );
    response.append_header(
        http::header::SET_COOKIE,
        http::HeaderValue::from_str(&cookie).map_err(|_| AppError::Internal)?,
    );
    leptos_axum::redirect(&caller::safe_next(next.as_deref()));
    Ok(())
}

/// Ends the session and returns to the sign-in page.
#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc, endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use crate::ssr::caller;
    let parts = request_parts()?;
    let service = service()?;
    if let Some(secret) = caller::session_secret(&parts.headers) {
        service.logout(&secret).await?;
    }
    let response = expect_context::<leptos_axum::ResponseOptions>();
    let cookie = caller::clear_session_cookie(service.secure_cookies() || caller::is_https(&parts));
    response.append_header(
        http::header::SET_COOKIE,
        http::HeaderValue::from_str(&cookie).map_err(|_| AppError::Internal)?,
    );
    leptos_axum::redirect("/login");
    Ok(())
}

#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn list_tokens() -> Result<Vec<ApiToken>, AppError> {
    let (service, user) = signed_in()?;
    service.list_tokens(&user).await
}

/// `expires_in_days` empty means the token does not expire.
#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn create_token(
    name: String,
    expires_in_days: Option<String>,
) -> Result<CreatedToken, AppError> {
    let (service, user) = signed_in()?;
    let expires_at = match expires_in_days.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(days) => match days.parse::<i64>() {
            Ok(days) if (1..=3650).contains(&days) => {
                Some(crate::ssr::service::now() + chrono::Duration::days(days))
            }
            _ => {
                return Err(AppError::field(
                    "expiresAt",
                    "enter a number of days between 1 and 3650, or leave empty",
                ))
            }
        },
    };
    service
        .create_token(&user, NewToken { name, expires_at })
        .await
}

#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn revoke_token(id: Uuid) -> Result<ApiToken, AppError> {
    let (service, user) = signed_in()?;
    service.revoke_token(&user, id).await
}

#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn list_users() -> Result<Vec<User>, AppError> {
    let (service, user) = signed_in()?;
    service.list_users(&user).await
}

#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn create_user(
    username: String,
    display_name: Option<String>,
    password: Password,
    role: String,
) -> Result<User, AppError> {
    let (service, user) = signed_in()?;
    let role = Role::parse(&role)
        .ok_or_else(|| AppError::field("role", "choose viewer, editor or admin"))?;
    service
        .create_user(
            &user,
            NewUser {
                username,
                display_name,
                password,
                role,
            },
        )
        .await
}

/// One change at a time from the admin page: a new role, enable/disable, or a new password.
#[server(prefix = "/rpc", output = crate::api::codec::JsonRpc)]
pub async fn update_user(
    id: Uuid,
    role: Option<String>,
    disabled: Option<bool>,
    password: Option<Password>,
) -> Result<User, AppError> {
    let (service, user) = signed_in()?;
    let role = match role.as_deref() {
        None | Some("") => None,
        Some(raw) => Some(
            Role::parse(raw)
                .ok_or_else(|| AppError::field("role", "choose viewer, editor or admin"))?,
        ),
    };
    let patch = UserPatch {
        role,
        disabled,
        password: password.filter(|p| !p.expose().is_empty()),
        display_name: None,
    };
    service.update_user(&user, id, patch).await
}
