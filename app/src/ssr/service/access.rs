//! Users, sign-in sessions and API tokens.
//!
//! Secrets never rest in the clear: passwords are argon2id hashes; session and token secrets are
//! 256-bit random values of which only the SHA-256 is stored (they are unguessable, so a fast hash
//! is enough, and lookups by hash stay indexed).

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use chrono::{Duration, SubsecRound};
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{now, require, store_error, Service};
use crate::error::{AppError, FieldError};
use crate::model::*;
use crate::ssr::store::{SessionRecord, StoreError};

/// How long sessions live and how hard login guessing is throttled.
///
/// The throttle counts failed sign-ins per (username, client address) and per client address,
/// never per username alone: a stranger failing as `admin` slows down only themselves, and the
/// real admin signing in from another address is never locked out. Past the free attempts each
/// further failure doubles the wait (1 s, 2 s, 4 s … at most `max_wait`); a count is forgotten
/// `failure_window` after its last failure. Counts live in the database, so they hold across
/// instances and restarts.
#[derive(Clone, Debug)]
pub struct AccessPolicy {
    /// A session ends after this long without a request.
    pub session_idle: Duration,
    /// A session ends this long after sign-in, however active.
    pub session_lifetime: Duration,
    /// Failures allowed without waiting, per (username, client) and per client.
    pub free_failures_per_pair: i64,
    pub free_failures_per_client: i64,
    pub failure_window: Duration,
    pub max_wait: Duration,
    /// Mark session cookies `Secure` even when the request does not say it came over https.
    pub secure_cookies: bool,
}

impl Default for AccessPolicy {
    fn default() -> Self {
        Self {
            session_idle: Duration::hours(2),
            session_lifetime: Duration::hours(12),
            free_failures_per_pair: 5,
            free_failures_per_client: 20,
            failure_window: Duration::minutes(15),
            max_wait: Duration::minutes(15),
            secure_cookies: false,
        }
    }
}

/// How long to wait after `failures` failures of which `free` cost nothing: 1 s after the first
/// one past them, doubling with each further one, at most `max`.
fn throttle_wait(failures: i64, free: i64, max: Duration) -> Duration {
    if failures < free {
        return Duration::zero();
    }
    let doublings = (failures - free).min(20) as u32;
    Duration::seconds(1i64 << doublings).min(max)
}

/// What a request presented to prove who it is.
pub enum Credential<'a> {
    /// The browser's session cookie value.
    Session(&'a str),
    /// An `Authorization: Bearer` API token.
    Bearer(&'a str),
}

/// A fresh 256-bit secret, URL-safe.
fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn secret_hash(secret: &str) -> String {
    format!("{:x}", Sha256::digest(secret.as_bytes()))
}

async fn hash_password(password: Password) -> Result<String, AppError> {
    // argon2 is deliberately slow: keep it off the async workers.
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        Argon2::default()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|hash| hash.to_string())
    })
    .await
    .map_err(|_| AppError::Internal)?
    .map_err(|err| {
        tracing::error!(error = %err, "password hashing failed");
        AppError::Internal
    })
}

async fn verify_password(password: Password, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.expose().as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A hash to verify against when the username does not exist, so timing reveals nothing.
fn decoy_hash() -> String {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY
        .get_or_init(|| {
            let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
            Argon2::default()
                .hash_password(random_secret().as_bytes(), &salt)
                .map(|h| h.to_string())
                .unwrap_or_default()
        })
        .clone()
}

fn check_username(username: &str, errors: &mut Vec<FieldError>) -> String {
    let username = required_text("username", username, USERNAME_MAX, errors);
    let allowed = |c: char| c.is_ascii_alphanumeric() || "._-@".contains(c);
    if !username.is_empty() && !username.chars().all(allowed) {
        errors.push(FieldError::new(
            "username",
            "may contain only letters, digits and . _ - @",
        ));
    }
    username
}

impl Service {
    pub fn secure_cookies(&self) -> bool {
        self.policy.secure_cookies
    }

    /// On an empty database, creates `admin`. Returns the password only when it was generated here,
    /// so the caller can show it once.
    pub async fn bootstrap_admin(
        &self,
        configured_password: Option<&str>,
    ) -> Result<Option<String>, AppError> {
        let count = self
            .store
            .count_users()
            .await
            .map_err(store_error("user"))?;
        if count > 0 {
            return Ok(None);
        }
        let generated = configured_password.is_none().then(random_secret);
        let password: Password = configured_password
            .map(str::to_string)
            .or_else(|| generated.clone())
            .unwrap_or_default()
            .into();
        let mut errors = vec![];
        check_password("DEPLOYTRACK_ADMIN_PASSWORD", &password, &mut errors);
        finish(errors)?;
        let admin = User {
            id: Uuid::now_v7(),
            username: "admin".into(),
            display_name: "Administrator".into(),
            role: Role::Admin,
            created_at: now(),
            disabled_at: None,
        };
        let hash = hash_password(password).await?;
        self.store
            .insert_user(&admin, &hash)
            .await
            .map_err(store_error("a user"))?;
        Ok(generated)
    }

    /// Checks a username and password; on success opens a session and returns its secret.
    /// Every failure looks the same to the caller.
    pub async fn login(
        &self,
        username: &str,
        password: &Password,
        client: &str,
    ) -> Result<(User, String), AppError> {
        let username = username.trim();
        let mut errors = vec![];
        check_characters("username", Some(username), &mut errors);
        finish(errors)?;
        // Hashed: a key's size must not depend on what a stranger types as a username.
        let pair_key = format!("pair:{}|{client}", secret_hash(&username.to_lowercase()));
        let client_key = format!("client:{client}");
        let at = now();
        let since = at - self.policy.failure_window;
        for (key, free) in [
            (&pair_key, self.policy.free_failures_per_pair),
            (&client_key, self.policy.free_failures_per_client),
        ] {
            let failures = self
                .store
                .login_failures(key, since)
                .await
                .map_err(store_error("sign-in throttle"))?;
            if let Some((count, last)) = failures {
                let until = last + throttle_wait(count, free, self.policy.max_wait);
                if until > at {
                    let seconds = ((until - at).num_milliseconds() + 999) / 1000;
                    return Err(AppError::TooManyRequests {
                        message: format!(
                            "too many failed sign-in attempts from here; try again in {seconds} s"
                        ),
                        retry_after_seconds: seconds as u64,
                    });
                }
            }
        }
        let found = match self.store.find_credentials(username).await {
            Ok(found) => Some(found),
            Err(StoreError::NotFound) => None,
            Err(err) => return Err(store_error("user")(err)),
        };
        let hash = found
            .as_ref()
            .map_or_else(decoy_hash, |(_, hash)| hash.clone());
        let password_ok = verify_password(password.clone(), hash).await;
        let user = match found {
            Some((user, _)) if password_ok && user.disabled_at.is_none() => user,
            _ => {
                for key in [&pair_key, &client_key] {
                    self.store
                        .record_login_failure(key, at, since)
                        .await
                        .map_err(store_error("sign-in throttle"))?;
                }
                tracing::info!(client, "failed sign-in");
                return Err(AppError::InvalidCredentials);
            }
        };
        // The client's own count stays: one valid account must not reset a guesser's budget.
        self.store
            .clear_login_failures(&pair_key)
            .await
            .map_err(store_error("sign-in throttle"))?;
        let secret = random_secret();
        let at = now();
        let session = SessionRecord {
            secret_hash: secret_hash(&secret),
            user_id: user.id,
            created_at: at,
            last_seen_at: at,
            expires_at: at + self.policy.session_lifetime,
        };
        self.store
            .insert_session(&session)
            .await
            .map_err(store_error("session"))?;
        tracing::info!(user = %user.username, "signed in");
        Ok((user, secret))
    }

    /// Ends the session with this secret (no error if it is already gone).
    pub async fn logout(&self, session_secret: &str) -> Result<(), AppError> {
        self.store
            .delete_session(&secret_hash(session_secret))
            .await
            .map_err(store_error("session"))
    }

    /// Who presents this credential; `Unauthorized` when it is unknown, expired, revoked or
    /// belongs to a disabled user.
    pub async fn authenticate(&self, credential: Credential<'_>) -> Result<User, AppError> {
        let at = now();
        let user_id = match credential {
            Credential::Session(secret) => {
                let hash = secret_hash(secret);
                let session = self.store.get_session(&hash).await.map_err(unauthorized)?;
                if at > session.expires_at || at > session.last_seen_at + self.policy.session_idle {
                    let _ = self.store.delete_session(&hash).await;
                    return Err(AppError::Unauthorized);
                }
                // Write at most once a minute per session, not on every request.
                if at - session.last_seen_at > Duration::minutes(1) {
                    self.store
                        .touch_session(&hash, at)
                        .await
                        .map_err(store_error("session"))?;
                }
                session.user_id
            }
            Credential::Bearer(secret) => {
                let token = self
                    .store
                    .find_token(&secret_hash(secret))
                    .await
                    .map_err(unauthorized)?;
                if token.revoked_at.is_some() || token.expires_at.is_some_and(|end| at >= end) {
                    return Err(AppError::Unauthorized);
                }
                if token
                    .last_used_at
                    .is_none_or(|last| at - last > Duration::minutes(1))
                {
                    self.store
                        .touch_token(token.id, at)
                        .await
                        .map_err(store_error("token"))?;
                }
                token.user_id
            }
        };
        let user = self.store.get_user(user_id).await.map_err(unauthorized)?;
        if user.disabled_at.is_some() {
            let _ = self.store.delete_sessions_of(user.id).await;
            return Err(AppError::Unauthorized);
        }
        Ok(user)
    }

    /// A user by name, for server-side tasks that act as a known user (the demo loader).
    pub async fn user_by_username(&self, username: &str) -> Result<User, AppError> {
        self.store
            .find_credentials(username)
            .await
            .map(|(user, _)| user)
            .map_err(store_error("user"))
    }

    // ---- users (admin) ----

    pub async fn list_users(&self, actor: &User) -> Result<Vec<User>, AppError> {
        require(actor, Role::Admin)?;
        self.store.list_users().await.map_err(store_error("user"))
    }

    pub async fn create_user(&self, actor: &User, input: NewUser) -> Result<User, AppError> {
        require(actor, Role::Admin)?;
        let mut errors = vec![];
        let username = check_username(&input.username, &mut errors);
        let display_name = optional_text(
            "displayName",
            input.display_name.as_deref(),
            NAME_MAX,
            &mut errors,
        )
        .unwrap_or_else(|| username.clone());
        check_password("password", &input.password, &mut errors);
        finish(errors)?;
        let user = User {
            id: Uuid::now_v7(),
            username,
            display_name,
            role: input.role,
            created_at: now(),
            disabled_at: None,
        };
        let hash = hash_password(input.password).await?;
        self.store
            .insert_user(&user, &hash)
            .await
            .map_err(store_error("a user"))?;
        tracing::info!(by = %actor.username, user = %user.username, role = user.role.as_str(), "user created");
        Ok(user)
    }

    /// Changes role, display name, disabled state or password. Disabling or resetting the
    /// password ends the user's sessions.
    pub async fn update_user(
        &self,
        actor: &User,
        id: Uuid,
        patch: UserPatch,
    ) -> Result<User, AppError> {
        require(actor, Role::Admin)?;
        let mut user = self.store.get_user(id).await.map_err(store_error("user"))?;
        let mut errors = vec![];
        if let Some(display_name) = &patch.display_name {
            user.display_name = required_text("displayName", display_name, NAME_MAX, &mut errors);
        }
        if let Some(password) = &patch.password {
            check_password("password", password, &mut errors);
        }
        let demotes_self = patch.role.is_some_and(|r| r < Role::Admin);
        if id == actor.id && (demotes_self || patch.disabled == Some(true)) {
            errors.push(FieldError::new(
                "role",
                "you cannot remove your own admin access; ask another admin",
            ));
        }
        finish(errors)?;
        if let Some(role) = patch.role {
            user.role = role;
        }
        let at = now();
        match patch.disabled {
            Some(true) if user.disabled_at.is_none() => user.disabled_at = Some(at),
            Some(false) => user.disabled_at = None,
            _ => {}
        }
        self.store
            .update_user(&user, at)
            .await
            .map_err(store_error("user"))?;
        let password_changed = patch.password.is_some();
        if let Some(password) = patch.password {
            let hash = hash_password(password).await?;
            self.store
                .set_password_hash(id, &hash, at)
                .await
                .map_err(store_error("user"))?;
        }
        if user.disabled_at.is_some() || password_changed {
            self.store
                .delete_sessions_of(id)
                .await
                .map_err(store_error("session"))?;
        }
        tracing::info!(by = %actor.username, user = %user.username, "user updated");
        Ok(user)
    }

    // ---- API tokens (each user's own) ----

    pub async fn list_tokens(&self, actor: &User) -> Result<Vec<ApiToken>, AppError> {
        self.store
            .list_tokens(actor.id)
            .await
            .map_err(store_error("token"))
    }

    pub async fn create_token(
        &self,
        actor: &User,
        input: NewToken,
    ) -> Result<CreatedToken, AppError> {
        let mut errors = vec![];
        let name = required_text("name", &input.name, NAME_MAX, &mut errors);
        let at = now();
        if input.expires_at.is_some_and(|end| end <= at) {
            errors.push(FieldError::new("expiresAt", "must be in the future"));
        }
        check_instant("expiresAt", input.expires_at.as_ref(), &mut errors);
        finish(errors)?;
        let secret = format!("dt_{}", random_secret());
        let token = ApiToken {
            id: Uuid::now_v7(),
            user_id: actor.id,
            name,
            created_at: at,
            last_used_at: None,
            expires_at: input.expires_at.map(|t| t.trunc_subsecs(6)),
            revoked_at: None,
        };
        self.store
            .insert_token(&token, &secret_hash(&secret))
            .await
            .map_err(store_error("a token"))?;
        Ok(CreatedToken {
            info: token,
            token: secret,
        })
    }

    /// Revokes one of the actor's own tokens (admins may revoke anyone's).
    pub async fn revoke_token(&self, actor: &User, id: Uuid) -> Result<ApiToken, AppError> {
        let token = self
            .store
            .get_token(id)
            .await
            .map_err(store_error("token"))?;
        if token.user_id != actor.id && !actor.can(Role::Admin) {
            return Err(AppError::NotFound("token not found".into()));
        }
        self.store
            .revoke_token(id, now())
            .await
            .map_err(store_error("token"))?;
        self.store.get_token(id).await.map_err(store_error("token"))
    }
}

fn unauthorized(err: StoreError) -> AppError {
    match err {
        StoreError::NotFound => AppError::Unauthorized,
        other => store_error("credential")(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_unique_and_hashes_are_stable() {
        let (a, b) = (random_secret(), random_secret());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(secret_hash(&a), secret_hash(&a));
        assert_eq!(secret_hash(&a).len(), 64);
    }

    #[test]
    fn throttle_wait_doubles_past_the_free_attempts_up_to_the_cap() {
        let max = Duration::minutes(15);
        assert_eq!(throttle_wait(4, 5, max), Duration::zero());
        assert_eq!(throttle_wait(5, 5, max), Duration::seconds(1));
        assert_eq!(throttle_wait(6, 5, max), Duration::seconds(2));
        assert_eq!(throttle_wait(9, 5, max), Duration::seconds(16));
        assert_eq!(throttle_wait(40, 5, max), max);
        assert_eq!(throttle_wait(i64::MAX, 5, max), max);
    }

    #[test]
    fn usernames_are_restricted_to_safe_characters() {
        let mut errors = vec![];
        check_username("ci-bot@example", &mut errors);
        assert!(errors.is_empty());
        check_username("bad name", &mut errors);
        assert_eq!(errors[0].field, "username");
    }
}
