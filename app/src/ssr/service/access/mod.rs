//! Users, sign-in sessions and API tokens.
//!
//! Secrets never rest in the clear: passwords are argon2id hashes; session and token secrets are
//! 256-bit random values of which only the SHA-256 is stored (they are unguessable, so a fast hash
//! is enough, and lookups by hash stay indexed).

mod identity;
mod secrets;
mod sessions;
mod throttle;
mod tokens;
mod users;

pub use identity::{ProviderPerson, ProviderSignIn, RoleMapping, SingleSignOn};

// Hooks make and check secrets the same way.
pub(super) use secrets::{random_secret, secret_hash};

use chrono::Duration;

use super::state::Service;
use crate::model::{Secret, SignInOptions};

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
    /// Sign-in through an OpenID Connect provider, when set up.
    pub single_sign_on: Option<SingleSignOn>,
    /// Whether people may sign in with a password (`DEPLOYTRACK_PASSWORD_LOGIN`)…
    pub password_login: bool,
    /// …and the one account that always may, when it is off (`DEPLOYTRACK_BREAK_GLASS_ADMIN`).
    pub break_glass_admin: Option<String>,
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
            single_sign_on: None,
            password_login: true,
            break_glass_admin: None,
        }
    }
}

/// What a request presented to prove who it is.
pub enum Credential<'a> {
    /// The browser's session cookie value.
    Session(&'a Secret),
    /// An `Authorization: Bearer` API token.
    Bearer(&'a Secret),
}

impl Service {
    pub fn secure_cookies(&self) -> bool {
        self.policy.secure_cookies
    }

    /// How people sign in here, for the login page.
    pub fn sign_in_options(&self) -> SignInOptions {
        SignInOptions {
            provider: self
                .policy
                .single_sign_on
                .as_ref()
                .map(|sso| sso.provider_name.clone()),
            password: self.policy.password_login,
        }
    }
}
