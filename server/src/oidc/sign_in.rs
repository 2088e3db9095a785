//! People signing in through the company's OpenID Connect provider: the authorization code flow
//! with PKCE (S256), `state` and `nonce`. The provider is found by discovery; its ID token is
//! checked like every other (signature from its JWKS, refetched on rotation; `iss`, `aud`,
//! `exp`), and its nonce must be the one this sign-in sent.

use app::ssr::service::{ProviderPerson, ProviderSignIn};
use serde::Deserialize;
use serde_json::Value;

use super::{acceptable_url, Issuers, TokenError};

/// The client's registration at the provider.
pub struct SignInSettings {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// `…/auth/oidc/callback` on this server, as registered.
    pub redirect_url: String,
    /// Scopes asked for (`openid` is always among them).
    pub scopes: String,
    /// The claim listing a person's groups.
    pub roles_claim: String,
}

/// Why a sign-in at the provider did not end in a checked ID token.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("the provider could not be reached or answered badly: {0}")]
    Provider(String),
    #[error("the provider refused the code: {0}")]
    CodeRefused(String),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("the ID token names no subject")]
    NoSubject,
}

#[derive(Deserialize)]
struct TokenResponse {
    id_token: Option<String>,
}

/// The claims read from a person's ID token.
#[derive(Deserialize)]
struct PersonClaims {
    sub: Option<String>,
    nonce: Option<String>,
    #[serde(default)]
    preferred_username: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(flatten)]
    rest: serde_json::Map<String, Value>,
}

pub struct OidcSignIn {
    settings: SignInSettings,
    issuers: Issuers,
}

impl OidcSignIn {
    pub fn new(settings: SignInSettings, issuers: Issuers) -> Result<Self, String> {
        if !acceptable_url(&settings.redirect_url, true) {
            return Err(format!(
                "the redirect URL {:?} must be http(s)",
                settings.redirect_url
            ));
        }
        Ok(Self { settings, issuers })
    }

    /// Where to send the browser: the provider's authorization endpoint with this sign-in's
    /// state, nonce and PKCE challenge.
    pub async fn authorization_url(&self, sign_in: &ProviderSignIn) -> Result<String, SignInError> {
        let discovery = self.issuers.discovery(&self.settings.issuer).await?;
        let endpoint = discovery
            .authorization_endpoint
            .filter(|url| acceptable_url(url, self.issuers.allow_http_loopback()))
            .ok_or_else(|| SignInError::Provider("no usable authorization_endpoint".into()))?;
        let mut url = reqwest::Url::parse(&endpoint)
            .map_err(|err| SignInError::Provider(format!("authorization_endpoint: {err}")))?;
        let scopes = if self.settings.scopes.split(' ').any(|s| s == "openid") {
            self.settings.scopes.clone()
        } else {
            format!("openid {}", self.settings.scopes)
        };
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.settings.client_id)
            .append_pair("redirect_uri", &self.settings.redirect_url)
            .append_pair("scope", scopes.trim())
            .append_pair("state", sign_in.state.expose())
            .append_pair("nonce", &sign_in.nonce)
            .append_pair("code_challenge", &sign_in.code_challenge)
            .append_pair("code_challenge_method", "S256");
        Ok(url.into())
    }

    /// Trades the code for an ID token (with the PKCE verifier), checks it and its nonce, and
    /// says who signed in.
    pub async fn finish(
        &self,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<ProviderPerson, SignInError> {
        let discovery = self.issuers.discovery(&self.settings.issuer).await?;
        let endpoint = discovery
            .token_endpoint
            .filter(|url| acceptable_url(url, self.issuers.allow_http_loopback()))
            .ok_or_else(|| SignInError::Provider("no usable token_endpoint".into()))?;
        let response = self
            .issuers
            .http()
            .post(&endpoint)
            .basic_auth(&self.settings.client_id, Some(&self.settings.client_secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", self.settings.redirect_url.as_str()),
                ("code_verifier", pkce_verifier),
            ])
            .send()
            .await
            .map_err(|err| SignInError::Provider(err.to_string()))?;
        if !response.status().is_success() {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            let reason: String = body.chars().take(300).collect();
            return Err(SignInError::CodeRefused(format!("{status}: {reason}")));
        }
        let id_token = response
            .json::<TokenResponse>()
            .await
            .map_err(|err| SignInError::Provider(err.to_string()))?
            .id_token
            .ok_or_else(|| SignInError::Provider("no id_token in the answer".into()))?;
        self.person(&id_token, nonce).await
    }

    /// The person a (checked) ID token names, when it carries this sign-in's nonce.
    pub async fn person(&self, id_token: &str, nonce: &str) -> Result<ProviderPerson, SignInError> {
        let (issuer, claims) = self
            .issuers
            .verify::<PersonClaims>(id_token, &self.settings.client_id)
            .await?;
        if claims.nonce.as_deref() != Some(nonce) {
            return Err(TokenError::Nonce.into());
        }
        let subject = claims
            .sub
            .filter(|sub| !sub.is_empty())
            .ok_or(SignInError::NoSubject)?;
        let groups = match claims.rest.get(&self.settings.roles_claim) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            Some(Value::String(one)) => vec![one.clone()],
            _ => vec![],
        };
        let username = claims
            .preferred_username
            .or(claims.email)
            .unwrap_or_else(|| subject.clone());
        Ok(ProviderPerson {
            issuer,
            subject,
            username,
            display_name: claims.name,
            groups,
        })
    }
}
