//! Signing in and out, and recognising a session cookie or API token on each request.

use chrono::Duration;

use super::secrets::{decoy_hash, random_secret, secret_hash, verify_password};
use super::Credential;
use crate::error::AppError;
use crate::model::*;
use crate::ssr::clock::now;
use crate::ssr::service::audit::{entry, Target};
use crate::ssr::service::state::Service;
use crate::ssr::store::store_error;
use crate::ssr::store::{SessionRecord, StoreError};

impl Service {
    /// Checks a username and password; on success opens a session and returns its secret.
    /// Every failure looks the same to the caller.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn login(
        &self,
        username: &str,
        password: &Password,
        client: &str,
    ) -> Result<(User, Secret), AppError> {
        let username = username.trim();
        let mut errors = vec![];
        check_characters("username", Some(username), &mut errors);
        finish(errors)?;
        let break_glass = self
            .policy
            .break_glass_admin
            .as_deref()
            .is_some_and(|admin| admin.eq_ignore_ascii_case(username));
        if !self.policy.password_login && !break_glass {
            let provider = self.sign_in_options().provider.unwrap_or_default();
            return Err(AppError::Forbidden(format!(
                "password sign-in is turned off here; sign in with {provider}"
            )));
        }
        // Hashed: a key's size must not depend on what a stranger types as a username.
        let pair_key = format!("pair:{}|{client}", secret_hash(&username.to_lowercase()));
        let client_key = format!("client:{client}");
        let at = now();
        let since = at - self.policy.failure_window;
        let keys = [
            (pair_key.as_str(), self.policy.free_failures_per_pair),
            (client_key.as_str(), self.policy.free_failures_per_client),
        ];
        self.refuse_while_throttled(&keys, at, since).await?;
        let found = match self.user_store().find_credentials(username).await {
            Ok(found) => Some(found),
            Err(StoreError::NotFound) => None,
            Err(err) => return Err(store_error("user")(err)),
        };
        // Accounts from a provider have no password (an empty hash): checked against the decoy
        // too, so their refusal takes as long as any other.
        let hash = found
            .as_ref()
            .map(|(_, hash)| hash.clone())
            .filter(|hash| !hash.is_empty())
            .unwrap_or_else(decoy_hash);
        let password_ok = verify_password(password.clone(), hash).await;
        let user = match found {
            Some((user, _)) if password_ok && user.disabled_at.is_none() => user,
            _ => {
                // Nobody proved who they are: no actor; the target is the account tried, if any.
                let target = Target {
                    kind: "user",
                    id: found.map(|(user, _)| user.id.to_string()),
                };
                let mut failed = entry(None, "auth.login_failed", target, None);
                failed.client_address = Some(client.to_string());
                self.count_failure(&keys, at, since, failed).await?;
                tracing::info!(client, "failed sign-in");
                return Err(AppError::InvalidCredentials);
            }
        };
        // The client's own count stays: one valid account must not reset a guesser's budget.
        self.forgive_failures(&pair_key).await?;
        let secret = self.open_session(&user, client, None).await?;
        Ok((user, secret))
    }

    /// Opens a session for `user` (audited as `auth.login`, with `changes` saying how when it
    /// was not a password) and returns its secret.
    pub(super) async fn open_session(
        &self,
        user: &User,
        client: &str,
        how: Option<serde_json::Value>,
    ) -> Result<Secret, AppError> {
        let secret = random_secret("");
        let at = now();
        let session = SessionRecord {
            secret_hash: secret_hash(secret.expose()),
            user_id: user.id,
            created_at: at,
            last_seen_at: at,
            expires_at: at + self.policy.session_lifetime,
        };
        let mut signed_in = entry(Some(user), "auth.login", Target::of("user", user.id), how);
        signed_in.client_address = Some(client.to_string());
        self.credential_store()
            .insert_session(&session, &[signed_in])
            .await
            .map_err(store_error("session"))?;
        tracing::info!(user = %user.username, "signed in");
        Ok(secret)
    }

    /// Ends the session with this secret (no error if it is already gone).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn logout(&self, session_secret: &Secret) -> Result<(), AppError> {
        let hash = secret_hash(session_secret.expose());
        let session = match self.credential_store().get_session(&hash).await {
            Ok(session) => session,
            Err(StoreError::NotFound) => return Ok(()),
            Err(err) => return Err(store_error("session")(err)),
        };
        let user = self
            .user_store()
            .get_user(session.user_id)
            .await
            .map_err(store_error("user"))?;
        let signed_out = entry(
            Some(&user),
            "auth.logout",
            Target::of("user", user.id),
            None,
        );
        self.credential_store()
            .delete_session(&hash, &[signed_out])
            .await
            .map_err(store_error("session"))
    }

    /// Who presents this credential, and the API token's name when it is one; `Unauthorized`
    /// when it is unknown, expired, revoked or belongs to a disabled user.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn authenticate(
        &self,
        credential: Credential<'_>,
    ) -> Result<(User, Option<String>), AppError> {
        let at = now();
        let mut token_name = None;
        // Each credential is read with its user in one query.
        let user = match credential {
            Credential::Session(secret) => {
                let hash = secret_hash(secret.expose());
                let (session, user) = self
                    .credential_store()
                    .find_session_holder(&hash)
                    .await
                    .map_err(unauthorized)?;
                if at > session.expires_at || at > session.last_seen_at + self.policy.session_idle {
                    let _ = self.credential_store().delete_session(&hash, &[]).await;
                    return Err(AppError::Unauthorized);
                }
                // Write at most once a minute per session, not on every request.
                if at - session.last_seen_at > Duration::minutes(1) {
                    self.credential_store()
                        .touch_session(&hash, at)
                        .await
                        .map_err(store_error("session"))?;
                }
                user
            }
            Credential::Bearer(secret) => {
                let (token, user) = self
                    .credential_store()
                    .find_token_holder(&secret_hash(secret.expose()))
                    .await
                    .map_err(unauthorized)?;
                if token.revoked_at.is_some() || token.expires_at.is_some_and(|end| at >= end) {
                    return Err(AppError::Unauthorized);
                }
                if token
                    .last_used_at
                    .is_none_or(|last| at - last > Duration::minutes(1))
                {
                    self.credential_store()
                        .touch_token(token.id, at)
                        .await
                        .map_err(store_error("token"))?;
                }
                token_name = Some(token.name);
                user
            }
        };
        if user.disabled_at.is_some() {
            let _ = self.credential_store().delete_sessions_of(user.id).await;
            return Err(AppError::Unauthorized);
        }
        Ok((user, token_name))
    }
}

fn unauthorized(err: StoreError) -> AppError {
    match err {
        StoreError::NotFound => AppError::Unauthorized,
        other => store_error("credential")(other),
    }
}
