//! People signing in through the company's OpenID Connect provider, and pipelines recording with
//! their CI ID token. Both are users known by the provider's name for them (issuer, subject),
//! created on first sight; the protocol itself (redirects, token checks) is the server's.

use chrono::Duration;
use serde_json::json;
use uuid::Uuid;

use super::secrets::{random_secret, secret_hash};
use crate::error::AppError;
use crate::model::*;
use crate::ssr::caller::PipelineIdentity;
use crate::ssr::clock::now;
use crate::ssr::service::audit::{entry, Target};
use crate::ssr::service::state::Service;
use crate::ssr::store::{store_error, LoginAttempt, StoreError};

/// How long a sign-in may stay at the provider before its state is forgotten.
const SIGN_IN_WINDOW: Duration = Duration::minutes(10);

/// Provider groups to roles: `deploy-admins=admin,deployers=editor,*=viewer`. A person gets the
/// highest role any of their groups maps to; `*` is everyone's else; with no match and no `*`
/// there is no role, and no sign-in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoleMapping {
    rules: Vec<(String, Role)>,
    everyone: Option<Role>,
}

impl RoleMapping {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut mapping = RoleMapping::default();
        for rule in text.split(',').map(str::trim).filter(|r| !r.is_empty()) {
            let (group, role) = rule
                .rsplit_once('=')
                .ok_or_else(|| format!("{rule:?} is not group=role"))?;
            let role = Role::parse(role.trim())
                .ok_or_else(|| format!("{rule:?}: the role must be viewer, editor or admin"))?;
            match group.trim() {
                "" => return Err(format!("{rule:?} names no group")),
                "*" => mapping.everyone = Some(role),
                group => mapping.rules.push((group.to_string(), role)),
            }
        }
        Ok(mapping)
    }

    pub fn role_for(&self, groups: &[String]) -> Option<Role> {
        self.rules
            .iter()
            .filter(|(group, _)| groups.contains(group))
            .map(|(_, role)| *role)
            .chain(self.everyone)
            .max()
    }
}

/// Sign-in through a provider, as the operator set it up.
#[derive(Clone, Debug)]
pub struct SingleSignOn {
    /// Shown on the login page: "Sign in with <name>".
    pub provider_name: String,
    pub roles: RoleMapping,
}

/// A sign-in on its way to the provider: what goes into the authorization URL and the cookie.
pub struct ProviderSignIn {
    pub state: Secret,
    pub nonce: String,
    /// PKCE (S256): the challenge sent now; the verifier is kept for the callback.
    pub code_challenge: String,
}

/// What the provider's checked ID token says about a person.
#[derive(Clone, Debug)]
pub struct ProviderPerson {
    pub issuer: String,
    pub subject: String,
    /// `preferred_username`, else `email`, else the subject.
    pub username: String,
    pub display_name: Option<String>,
    pub groups: Vec<String>,
}

/// `hint` made into a username: the characters usernames allow, at most `USERNAME_MAX` long.
fn username_from(hint: &str, fallback: &str) -> String {
    let keep = |c: &char| c.is_ascii_alphanumeric() || "._-@".contains(*c);
    let cleaned: String = hint.chars().filter(keep).take(USERNAME_MAX - 4).collect();
    if cleaned.is_empty() {
        fallback.to_string()
    } else {
        cleaned
    }
}

impl Service {
    /// Starts a sign-in at the provider: a one-time state (kept hashed, with the nonce, the
    /// PKCE verifier and where to go afterwards), for the server to redirect with.
    pub async fn begin_provider_sign_in(&self, next: &str) -> Result<ProviderSignIn, AppError> {
        use base64::Engine;
        use sha2::{Digest, Sha256};
        let state = random_secret("");
        let nonce = random_secret("").expose().to_string();
        let verifier = random_secret("").expose().to_string();
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(verifier.as_bytes()));
        let at = now();
        let attempt = LoginAttempt {
            state_hash: secret_hash(state.expose()),
            nonce: nonce.clone(),
            pkce_verifier: verifier,
            next_path: crate::ssr::caller::safe_next(Some(next)),
            created_at: at,
            expires_at: at + SIGN_IN_WINDOW,
        };
        self.identity_store()
            .insert_login_attempt(&attempt)
            .await
            .map_err(store_error("sign-in"))?;
        Ok(ProviderSignIn {
            state,
            nonce,
            code_challenge: challenge,
        })
    }

    /// Takes the sign-in this state started; it serves once. A state never issued, already used
    /// or older than ten minutes is refused.
    pub async fn take_provider_sign_in(&self, state: &str) -> Result<LoginAttempt, AppError> {
        let refused =
            || AppError::BadRequest("this sign-in is unknown, used or expired: start again".into());
        let attempt = match self
            .identity_store()
            .take_login_attempt(&secret_hash(state))
            .await
        {
            Ok(attempt) => attempt,
            Err(StoreError::NotFound) => return Err(refused()),
            Err(err) => return Err(store_error("sign-in")(err)),
        };
        if now() > attempt.expires_at {
            return Err(refused());
        }
        Ok(attempt)
    }

    /// Signs in the person the provider vouched for: created on first sign-in, their role
    /// mapped from their groups at every sign-in (a removed group takes the role away). Returns
    /// the user and a new session's secret.
    pub async fn sign_in_from_provider(
        &self,
        person: ProviderPerson,
        client: &str,
    ) -> Result<(User, Secret), AppError> {
        let Some(sso) = &self.policy.single_sign_on else {
            return Err(AppError::NotFound("single sign-on is not set up".into()));
        };
        let Some(role) = sso.roles.role_for(&person.groups) else {
            self.audit_refusal(
                "auth.sso_refused",
                &format!(
                    "{} ({}): no group maps to a role",
                    person.username, person.subject
                ),
                client,
            )
            .await;
            return Err(AppError::Forbidden(
                "your groups at the provider give you no role here; ask an admin".into(),
            ));
        };
        let display_name: String = person
            .display_name
            .clone()
            .filter(|name| !name.trim().is_empty())
            .map(|name| name.chars().take(NAME_MAX).collect())
            .unwrap_or_else(|| person.username.chars().take(NAME_MAX).collect());
        let user = match self
            .identity_store()
            .find_identity(&person.issuer, &person.subject)
            .await
        {
            Ok(user) => user,
            Err(StoreError::NotFound) => {
                let username = username_from(&person.username, "user");
                self.create_identity_user(
                    &person.issuer,
                    &person.subject,
                    &username,
                    &display_name,
                    role,
                )
                .await?
            }
            Err(err) => return Err(store_error("user")(err)),
        };
        if user.disabled_at.is_some() {
            self.audit_refusal(
                "auth.sso_refused",
                &format!("{} is disabled", user.username),
                client,
            )
            .await;
            return Err(AppError::Forbidden(
                "this account is disabled; ask an admin".into(),
            ));
        }
        let user = if user.role != role {
            let mut changed = user.clone();
            changed.role = role;
            // The provider changed it: no actor; the groups it was mapped from say why.
            let audit = entry(
                None,
                "user.role_changed",
                Target::of("user", user.id),
                Some(json!({
                    "role": {"before": user.role.as_str(), "after": role.as_str()},
                    "groups": person.groups,
                })),
            );
            self.user_store()
                .update_user(&changed, now(), &[audit])
                .await
                .map_err(store_error("user"))?;
            changed
        } else {
            user
        };
        let secret = self
            .open_session(&user, client, Some(json!({"via": "oidc"})))
            .await?;
        Ok((user, secret))
    }

    /// The user a pipeline's ID token speaks for (one per issuer and repository, an editor
    /// whose requests the server limits to recording and reading), created on first use.
    pub async fn pipeline_user(&self, pipeline: &PipelineIdentity) -> Result<User, AppError> {
        let subject = format!("repository:{}", pipeline.repository.to_lowercase());
        match self
            .identity_store()
            .find_identity(&pipeline.issuer, &subject)
            .await
        {
            Ok(user) => Ok(user),
            Err(StoreError::NotFound) => {
                let username = username_from(
                    &format!("ci-{}", pipeline.repository.replace('/', ".")),
                    "ci",
                );
                let display_name: String = format!("CI {}", pipeline.repository)
                    .chars()
                    .take(NAME_MAX)
                    .collect();
                self.create_identity_user(
                    &pipeline.issuer,
                    &subject,
                    &username,
                    &display_name,
                    Role::Editor,
                )
                .await
            }
            Err(err) => Err(store_error("user")(err)),
        }
    }

    /// A new user known to `issuer` as `subject`, under `username` or, when that is taken, the
    /// first free `username-2`, `-3` … (a provider's "admin" never becomes ours).
    async fn create_identity_user(
        &self,
        issuer: &str,
        subject: &str,
        username: &str,
        display_name: &str,
        role: Role,
    ) -> Result<User, AppError> {
        for attempt in 1..=20 {
            let username = match attempt {
                1 => username.to_string(),
                20 => format!("{username}-{}", &Uuid::now_v7().simple().to_string()[24..]),
                n => format!("{username}-{n}"),
            };
            let user = User {
                id: Uuid::now_v7(),
                username,
                display_name: display_name.to_string(),
                role,
                created_at: now(),
                disabled_at: None,
            };
            let created = entry(
                None,
                "user.created",
                Target::of("user", user.id),
                Some(json!({"issuer": issuer, "subject": subject, "role": role.as_str()})),
            );
            match self
                .identity_store()
                .insert_identity(&user, issuer, subject, &[created])
                .await
            {
                Ok(()) => return Ok(user),
                Err(StoreError::Conflict("username")) => continue,
                // Two first sign-ins at once: the other one created it.
                Err(StoreError::Conflict(_)) => {
                    return self
                        .identity_store()
                        .find_identity(issuer, subject)
                        .await
                        .map_err(store_error("user"))
                }
                Err(err) => return Err(store_error("user")(err)),
            }
        }
        Err(AppError::Internal)
    }

    /// Writes why a credential was refused into the audit trail (no actor: nobody proved who
    /// they are). A failure to write is logged, never shown to the refused caller.
    pub async fn audit_refusal(&self, action: &str, reason: &str, client: &str) {
        let mut refused = entry(
            None,
            action,
            Target {
                kind: "credential",
                id: None,
            },
            Some(json!({ "reason": reason.chars().take(500).collect::<String>() })),
        );
        refused.client_address = Some(client.to_string());
        if let Err(err) = self.identity_store().append_audit_only(&[refused]).await {
            tracing::warn!(error = %err, "could not audit a refused credential");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_map_to_the_highest_role() {
        let mapping = RoleMapping::parse("deploy-admins=admin, deployers=editor,*=viewer").unwrap();
        let groups = |list: &[&str]| list.iter().map(|g| g.to_string()).collect::<Vec<_>>();
        assert_eq!(
            mapping.role_for(&groups(&["deployers", "deploy-admins"])),
            Some(Role::Admin)
        );
        assert_eq!(
            mapping.role_for(&groups(&["deployers"])),
            Some(Role::Editor)
        );
        assert_eq!(mapping.role_for(&groups(&[])), Some(Role::Viewer));
        let strict = RoleMapping::parse("ops=editor").unwrap();
        assert_eq!(strict.role_for(&groups(&["dev"])), None);
        assert!(RoleMapping::parse("ops=root").is_err());
        assert!(RoleMapping::parse("ops").is_err());
        assert!(RoleMapping::parse("=admin").is_err());
    }

    #[test]
    fn usernames_keep_only_allowed_characters() {
        assert_eq!(
            username_from("Jane Doe <jane@example.com>", "user"),
            "JaneDoejane@example.com"
        );
        assert_eq!(username_from("\u{0}\u{202e}", "user"), "user");
        assert_eq!(
            username_from(&"x".repeat(500), "user").len(),
            USERNAME_MAX - 4
        );
    }
}
