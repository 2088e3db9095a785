//! Recording from CI without stored tokens: a pipeline's OpenID Connect ID token (GitHub
//! Actions' `token.actions.githubusercontent.com`, GitLab CI's `id_tokens:`) from an issuer the
//! operator listed (`DEPLOYTRACK_CI_TOKEN_ISSUERS`), for our audience
//! (`DEPLOYTRACK_CI_TOKEN_AUDIENCE`). What it may do is decided by the service from the
//! identity returned here.

use app::ssr::PipelineIdentity;
use serde::Deserialize;

use super::{Issuers, TokenError};

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    repository: Option<String>,
    #[serde(default)]
    project_path: Option<String>,
    #[serde(default)]
    environment: Option<String>,
    #[serde(default)]
    actor: Option<String>,
    #[serde(default)]
    user_login: Option<String>,
}

/// Checks pipeline ID tokens.
pub struct CiTokenVerifier {
    issuers: Issuers,
    audience: String,
}

impl CiTokenVerifier {
    pub fn new(issuers: Issuers, audience: String) -> Self {
        Self { issuers, audience }
    }

    /// True when `token` looks like a JWT (three dot-separated parts) rather than an API token.
    pub fn looks_like_a_jwt(token: &str) -> bool {
        token.split('.').count() == 3 && token.starts_with("ey")
    }

    /// The pipeline `token` speaks for, or why not.
    pub async fn verify(&self, token: &str) -> Result<PipelineIdentity, TokenError> {
        let (issuer, claims) = self.issuers.verify::<Claims>(token, &self.audience).await?;
        let repository = claims
            .repository
            .or(claims.project_path)
            .filter(|repository| !repository.is_empty())
            .ok_or(TokenError::NoRepository)?;
        Ok(PipelineIdentity {
            issuer,
            repository,
            environment: claims.environment.filter(|e| !e.is_empty()),
            actor: claims.actor.or(claims.user_login).filter(|a| !a.is_empty()),
        })
    }
}
