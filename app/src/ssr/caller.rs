//! Request-level pieces shared by REST handlers and server functions: who is calling, from where,
//! and the session cookie.

use cookie::{Cookie, SameSite};
use http::request::Parts;

use crate::model::{Secret, User};

pub const SESSION_COOKIE: &str = "deploytrack_session";

/// How the caller proved who they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    Session,
    Token,
    /// A pipeline's CI ID token: it may read and record deployments, within its scope.
    Pipeline,
}

/// Put into request extensions by the authentication middleware.
#[derive(Clone, Debug)]
pub struct Authenticated {
    pub user: User,
    pub via: Via,
    /// What the pipeline's ID token says, when `via` is `Pipeline`.
    pub pipeline: Option<PipelineIdentity>,
}

/// Who a pipeline is, as its checked CI ID token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PipelineIdentity {
    pub issuer: String,
    /// `owner/name` (GitHub's `repository`, GitLab's `project_path`).
    pub repository: String,
    /// The deployment environment the job runs for, when the platform says.
    pub environment: Option<String>,
    /// Who started it (GitHub's `actor`, GitLab's `user_login`).
    pub actor: Option<String>,
}

impl PipelineIdentity {
    /// Refuses (403) a deployment of `application` to `environment` unless the application's
    /// repository is this pipeline's and, when the token names an environment, it is this one.
    pub fn may_record(
        &self,
        application: &crate::model::Application,
        environment: &crate::model::Environment,
    ) -> Result<(), crate::error::AppError> {
        let ours = application
            .repository
            .as_deref()
            .is_some_and(|repository| repository.eq_ignore_ascii_case(&self.repository));
        if !ours {
            return Err(crate::error::AppError::Forbidden(format!(
                "this CI token is for repository {:?}; application {:?} has {}",
                self.repository,
                application.name,
                application
                    .repository
                    .as_deref()
                    .map_or("no repository".to_string(), |r| format!("repository {r:?}"))
            )));
        }
        if let Some(allowed) = &self.environment {
            if !allowed.eq_ignore_ascii_case(&environment.name) {
                return Err(crate::error::AppError::Forbidden(format!(
                    "this CI token is for environment {allowed:?}, not {:?}",
                    environment.name
                )));
            }
        }
        Ok(())
    }
}

/// The caller's network address (for login throttling), or "unknown".
pub fn client_address(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ClientAddr>()
        .map(|addr| addr.0.to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// The request arrived over https (directly, or via a trusted proxy that says so).
pub fn is_https(parts: &Parts) -> bool {
    parts.uri.scheme_str() == Some("https") || parts.extensions.get::<ForwardedHttps>().is_some()
}

/// Put into request extensions when a trusted proxy says the client used https.
#[derive(Clone, Copy, Debug)]
pub struct ForwardedHttps;

/// `Set-Cookie` value carrying a new session: HttpOnly, SameSite=Lax, Secure over https.
pub fn session_cookie(secret: &Secret, secure: bool) -> String {
    Cookie::build((SESSION_COOKIE, secret.expose()))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .path("/")
        .build()
        .to_string()
}

/// `Set-Cookie` value that removes the session cookie.
pub fn clear_session_cookie(secure: bool) -> String {
    Cookie::build((SESSION_COOKIE, ""))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .path("/")
        .max_age(cookie::time::Duration::ZERO)
        .build()
        .to_string()
}

/// The session secret from a `Cookie` header, if present.
pub fn session_secret(headers: &http::HeaderMap) -> Option<Secret> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == SESSION_COOKIE && !c.value().is_empty())
        .map(|c| Secret::from(c.value()))
}

/// Only local paths are followed after sign-in, never another site.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path.to_string()
        }
        _ => "/".to_string(),
    }
}

/// The peer's IP address; the server's middleware puts it into request extensions.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub std::net::IpAddr);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_must_be_a_local_path() {
        assert_eq!(
            safe_next(Some("/applications?tab=x")),
            "/applications?tab=x"
        );
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn session_cookie_is_http_only_and_lax() {
        let cookie = session_cookie(&"abc".into(), true);
        assert!(cookie.contains("HttpOnly"));
        assert!(cookie.contains("SameSite=Lax"));
        assert!(cookie.contains("Secure"));
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::COOKIE,
            "a=1; deploytrack_session=abc".parse().unwrap(),
        );
        assert_eq!(session_secret(&headers).unwrap().expose(), "abc");
    }
}
