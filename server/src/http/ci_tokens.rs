//! Recording from CI without stored tokens (issue 37, first part): a pipeline's OpenID Connect
//! ID token (GitHub Actions' `token.actions.githubusercontent.com`, GitLab CI's `id_tokens:`),
//! checked against its issuer's published keys. Only issuers an operator listed are trusted;
//! the algorithms follow the key's type (RS256 for RSA, ES256 for P-256), so neither `alg: none`
//! nor an HMAC "signed" with a public key can pass.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tokio::sync::Mutex;

/// How soon an issuer's keys are fetched again when a token names a key not among them (a
/// rotation), at most.
const REFETCH_AFTER: Duration = Duration::from_secs(10);

/// Who the pipeline is, as its token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CiIdentity {
    pub issuer: String,
    /// `owner/name` (GitHub's `repository`, GitLab's `project_path`).
    pub repository: String,
    /// The deployment environment the job runs for, when the platform says.
    pub environment: Option<String>,
    /// Who started it (GitHub's `actor`, GitLab's `user_login`).
    pub actor: Option<String>,
}

/// Why a token was refused (all answered 401; the reason goes to the log and the audit trail).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CiTokenError {
    #[error("not a JWT: {0}")]
    Malformed(String),
    #[error("issuer {0:?} is not trusted (DEPLOYTRACK_CI_TOKEN_ISSUERS)")]
    UntrustedIssuer(String),
    #[error("algorithm {0:?} is not accepted (RS256 and ES256 are)")]
    Algorithm(String),
    #[error("the issuer publishes no key {0:?}")]
    UnknownKey(String),
    #[error("the issuer's keys could not be read: {0}")]
    Keys(String),
    #[error("the token does not verify: {0}")]
    Invalid(String),
    #[error("the token names no repository (repository or project_path)")]
    NoRepository,
}

#[derive(Deserialize)]
struct Peek {
    iss: Option<String>,
}

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

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

struct Keys {
    set: JwkSet,
    fetched: Instant,
}

/// Checks pipeline ID tokens; keeps each trusted issuer's keys.
pub struct CiTokenVerifier {
    issuers: Vec<String>,
    audience: String,
    allow_http_loopback: bool,
    http: reqwest::Client,
    keys: Mutex<HashMap<String, Keys>>,
}

/// True for `https://…`, or `http://` to a loopback address when allowed (tests).
pub fn acceptable_issuer(issuer: &str, allow_http_loopback: bool) -> bool {
    if issuer.starts_with("https://") {
        return true;
    }
    let Some(rest) = issuer.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split(['/', '?']).next().unwrap_or_default();
    let host = host.rsplit_once(':').map_or(host, |(host, _)| host);
    allow_http_loopback && matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

impl CiTokenVerifier {
    /// `issuers` exactly as tokens name them; each must be https (or loopback http when
    /// `allow_http_loopback`).
    pub fn new(
        issuers: Vec<String>,
        audience: String,
        allow_http_loopback: bool,
    ) -> Result<Self, String> {
        if let Some(bad) = issuers
            .iter()
            .find(|issuer| !acceptable_issuer(issuer, allow_http_loopback))
        {
            return Err(format!(
                "CI token issuer {bad:?} must be an https:// URL (http:// only to loopback with DEPLOYTRACK_OIDC_ALLOW_HTTP_LOOPBACK=true)"
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|err| err.to_string())?;
        Ok(Self {
            issuers,
            audience,
            allow_http_loopback,
            http,
            keys: Mutex::new(HashMap::new()),
        })
    }

    /// True when `token` looks like a JWT (three dot-separated parts) rather than an API token.
    pub fn looks_like_a_jwt(token: &str) -> bool {
        token.split('.').count() == 3 && token.starts_with("ey")
    }

    /// The pipeline `token` speaks for, or why not.
    pub async fn verify(&self, token: &str) -> Result<CiIdentity, CiTokenError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|err| CiTokenError::Malformed(err.to_string()))?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(CiTokenError::Algorithm(format!("{:?}", header.alg)));
        }
        let peek: Peek = jsonwebtoken::dangerous::insecure_decode(token)
            .map_err(|err| CiTokenError::Malformed(err.to_string()))?
            .claims;
        let issuer = peek.iss.unwrap_or_default();
        if !self.issuers.contains(&issuer) {
            return Err(CiTokenError::UntrustedIssuer(issuer));
        }
        let kid = header.kid.clone().unwrap_or_default();
        let jwk = self.key(&issuer, &kid).await?;
        let key = DecodingKey::from_jwk(&jwk).map_err(|err| CiTokenError::Keys(err.to_string()))?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.leeway = 30;
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map_err(|err| CiTokenError::Invalid(err.to_string()))?
            .claims;
        let repository = claims
            .repository
            .or(claims.project_path)
            .filter(|repository| !repository.is_empty())
            .ok_or(CiTokenError::NoRepository)?;
        Ok(CiIdentity {
            issuer,
            repository,
            environment: claims.environment.filter(|e| !e.is_empty()),
            actor: claims.actor.or(claims.user_login).filter(|a| !a.is_empty()),
        })
    }

    /// The issuer's key `kid`, fetching its keys when none are kept, or again (at most every
    /// ten seconds) when the key is not among them.
    async fn key(&self, issuer: &str, kid: &str) -> Result<Jwk, CiTokenError> {
        let mut keys = self.keys.lock().await;
        let stale = keys.get(issuer).is_none_or(|kept| {
            kept.set.find(kid).is_none() && kept.fetched.elapsed() >= REFETCH_AFTER
        });
        if stale {
            let set = self.fetch_keys(issuer).await?;
            keys.insert(
                issuer.to_string(),
                Keys {
                    set,
                    fetched: Instant::now(),
                },
            );
        }
        keys.get(issuer)
            .and_then(|kept| kept.set.find(kid).cloned())
            .ok_or_else(|| CiTokenError::UnknownKey(kid.to_string()))
    }

    async fn fetch_keys(&self, issuer: &str) -> Result<JwkSet, CiTokenError> {
        let keys_error = |err: String| CiTokenError::Keys(err);
        let discovery_url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let discovery: Discovery = self
            .http
            .get(&discovery_url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|err| keys_error(err.to_string()))?
            .json()
            .await
            .map_err(|err| keys_error(err.to_string()))?;
        if discovery.issuer != issuer {
            return Err(keys_error(format!(
                "the discovery document names issuer {:?}",
                discovery.issuer
            )));
        }
        if !acceptable_issuer(&discovery.jwks_uri, self.allow_http_loopback) {
            return Err(keys_error(format!(
                "jwks_uri {:?} is not https",
                discovery.jwks_uri
            )));
        }
        self.http
            .get(&discovery.jwks_uri)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|err| keys_error(err.to_string()))?
            .json()
            .await
            .map_err(|err| keys_error(err.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::acceptable_issuer;

    #[test]
    fn issuers_must_be_https_unless_loopback_is_allowed() {
        assert!(acceptable_issuer(
            "https://token.actions.githubusercontent.com",
            false
        ));
        assert!(!acceptable_issuer("http://127.0.0.1:8080", false));
        assert!(acceptable_issuer("http://127.0.0.1:8080", true));
        assert!(acceptable_issuer("http://localhost:9/x", true));
        assert!(!acceptable_issuer("http://127.0.0.1.evil.example", true));
        assert!(!acceptable_issuer("http://evil.example/127.0.0.1", true));
        assert!(!acceptable_issuer("ftp://127.0.0.1", true));
    }
}
