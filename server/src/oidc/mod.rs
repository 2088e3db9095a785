//! OpenID Connect: ID tokens checked against their issuer's published keys, for two uses —
//! pipelines recording without stored tokens ([`ci`]) and people signing in through the
//! company's provider ([`sign_in`]). The JOSE work is `jsonwebtoken`'s; this module only decides
//! which issuers and keys to trust. Algorithms follow the key's type (RS256 for RSA, ES256 for
//! P-256), so neither `alg: none` nor an HMAC "signed" with a public key can pass.

pub mod ci;
pub mod sign_in;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use tokio::sync::Mutex;

/// How soon an issuer's keys are fetched again, at most, when a token names a key not among
/// them (a rotation). Unknown kids cannot make us hammer the provider.
pub const DEFAULT_REFETCH_AFTER: Duration = Duration::from_secs(10);

/// Why a token was refused (the reason goes to the log and the audit trail).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("not a JWT: {0}")]
    Malformed(String),
    #[error("issuer {0:?} is not trusted")]
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
    #[error("the token's nonce is not the one this sign-in sent")]
    Nonce,
}

/// An issuer's discovery document, the parts used here.
#[derive(Clone, Debug, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    #[serde(default)]
    pub token_endpoint: Option<String>,
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
}

struct Kept {
    discovery: Discovery,
    keys: JwkSet,
    fetched: Instant,
}

/// True for `https://…`, or `http://` to a loopback address when allowed (tests).
pub fn acceptable_url(url: &str, allow_http_loopback: bool) -> bool {
    if url.starts_with("https://") {
        return true;
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit_once(':').map_or(host, |(host, _)| host);
    allow_http_loopback && matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

/// Discovery documents and keys of the issuers we trust, fetched on first use and again when a
/// token names a key we do not hold.
pub struct Issuers {
    trusted: Vec<String>,
    allow_http_loopback: bool,
    refetch_after: Duration,
    http: reqwest::Client,
    kept: Mutex<HashMap<String, Kept>>,
}

impl Issuers {
    /// `trusted` exactly as tokens name them; each must be https (or loopback http when allowed).
    pub fn new(
        trusted: Vec<String>,
        allow_http_loopback: bool,
        refetch_after: Duration,
    ) -> Result<Self, String> {
        if let Some(bad) = trusted
            .iter()
            .find(|issuer| !acceptable_url(issuer, allow_http_loopback))
        {
            return Err(format!(
                "issuer {bad:?} must be an https:// URL (http:// only to a loopback address with DEPLOYTRACK_OIDC_ALLOW_HTTP_LOOPBACK=true)"
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|err| err.to_string())?;
        Ok(Self {
            trusted,
            allow_http_loopback,
            refetch_after,
            http,
            kept: Mutex::new(HashMap::new()),
        })
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn allow_http_loopback(&self) -> bool {
        self.allow_http_loopback
    }

    /// The issuer's discovery document (fetched once, then kept).
    pub async fn discovery(&self, issuer: &str) -> Result<Discovery, TokenError> {
        self.lookup(issuer, None)
            .await
            .map(|(discovery, _)| discovery)
    }

    /// Checks `token`'s signature, `iss` (one of ours), `aud` and `exp` (30 s leeway) and
    /// returns its issuer and claims.
    pub async fn verify<C: DeserializeOwned>(
        &self,
        token: &str,
        audience: &str,
    ) -> Result<(String, C), TokenError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|err| TokenError::Malformed(err.to_string()))?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(TokenError::Algorithm(format!("{:?}", header.alg)));
        }
        #[derive(Deserialize)]
        struct Peek {
            iss: Option<String>,
        }
        let peek: Peek = jsonwebtoken::dangerous::insecure_decode(token)
            .map_err(|err| TokenError::Malformed(err.to_string()))?
            .claims;
        let issuer = peek.iss.unwrap_or_default();
        if !self.trusted.contains(&issuer) {
            return Err(TokenError::UntrustedIssuer(issuer));
        }
        let kid = header.kid.clone().unwrap_or_default();
        let (_, jwk) = self.lookup(&issuer, Some(&kid)).await?;
        let jwk = jwk.ok_or_else(|| TokenError::UnknownKey(kid.clone()))?;
        let key = DecodingKey::from_jwk(&jwk).map_err(|err| TokenError::Keys(err.to_string()))?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.leeway = 30;
        let claims = jsonwebtoken::decode::<C>(token, &key, &validation)
            .map_err(|err| TokenError::Invalid(err.to_string()))?
            .claims;
        Ok((issuer, claims))
    }

    /// The issuer's discovery document and (when `kid` is given) its key `kid`, fetching both
    /// when none are kept, or again when the key is not among them and the last fetch is older
    /// than `refetch_after`.
    async fn lookup(
        &self,
        issuer: &str,
        kid: Option<&str>,
    ) -> Result<(Discovery, Option<Jwk>), TokenError> {
        let mut kept = self.kept.lock().await;
        let stale = kept.get(issuer).is_none_or(|kept| {
            kid.is_some_and(|kid| kept.keys.find(kid).is_none())
                && kept.fetched.elapsed() >= self.refetch_after
        });
        if stale {
            let (discovery, keys) = self.fetch(issuer).await?;
            kept.insert(
                issuer.to_string(),
                Kept {
                    discovery,
                    keys,
                    fetched: Instant::now(),
                },
            );
        }
        let Some(kept) = kept.get(issuer) else {
            return Err(TokenError::Keys("no keys kept".into()));
        };
        let jwk = kid.and_then(|kid| kept.keys.find(kid).cloned());
        Ok((kept.discovery.clone(), jwk))
    }

    async fn fetch(&self, issuer: &str) -> Result<(Discovery, JwkSet), TokenError> {
        let discovery_url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let discovery: Discovery = self.get_json(&discovery_url).await?;
        if discovery.issuer != issuer {
            return Err(TokenError::Keys(format!(
                "the discovery document names issuer {:?}",
                discovery.issuer
            )));
        }
        if !acceptable_url(&discovery.jwks_uri, self.allow_http_loopback) {
            return Err(TokenError::Keys(format!(
                "jwks_uri {:?} is not https",
                discovery.jwks_uri
            )));
        }
        let keys = self.get_json(&discovery.jwks_uri).await?;
        Ok((discovery, keys))
    }

    async fn get_json<T: DeserializeOwned>(&self, url: &str) -> Result<T, TokenError> {
        self.http
            .get(url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|err| TokenError::Keys(format!("{url}: {err}")))?
            .json()
            .await
            .map_err(|err| TokenError::Keys(format!("{url}: {err}")))
    }
}

#[cfg(test)]
mod tests {
    use super::acceptable_url;

    #[test]
    fn issuers_must_be_https_unless_loopback_is_allowed() {
        assert!(acceptable_url(
            "https://token.actions.githubusercontent.com",
            false
        ));
        assert!(!acceptable_url("http://127.0.0.1:8080", false));
        assert!(acceptable_url("http://127.0.0.1:8080", true));
        assert!(acceptable_url("http://localhost:9/x", true));
        assert!(!acceptable_url("http://127.0.0.1.evil.example", true));
        assert!(!acceptable_url("http://evil.example/127.0.0.1", true));
        assert!(!acceptable_url("http://evil.example#127.0.0.1", true));
        assert!(!acceptable_url("ftp://127.0.0.1", true));
    }
}
