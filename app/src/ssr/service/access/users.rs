//! User accounts: the first admin on an empty database, and the admin's user management.

use uuid::Uuid;

use super::secrets::{hash_password, random_secret};
use crate::error::{AppError, FieldError};
use crate::model::*;
use crate::ssr::clock::now;
use crate::ssr::service::audit::{changes, entry, Target};
use crate::ssr::service::state::{require, Service};
use crate::ssr::store::store_error;

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
    /// On an empty database, creates `admin`. Returns the password only when it was generated here,
    /// so the caller can show it once.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn bootstrap_admin(
        &self,
        configured_password: Option<&Secret>,
    ) -> Result<Option<Secret>, AppError> {
        let count = self
            .user_store()
            .count_users()
            .await
            .map_err(store_error("user"))?;
        if count > 0 {
            return Ok(None);
        }
        let generated = configured_password.is_none().then(|| random_secret(""));
        let password: Password = configured_password
            .or(generated.as_ref())
            .cloned()
            .unwrap_or_default();
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
        self.user_store()
            .insert_user(
                &admin,
                &hash,
                // Created by the server itself on first start: no actor.
                &[entry(
                    None,
                    "user.created",
                    Target::of("user", admin.id),
                    None,
                )],
            )
            .await
            .map_err(store_error("a user"))?;
        Ok(generated)
    }

    /// A user by name, for server-side tasks that act as a known user (the demo loader).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn user_by_username(&self, username: &str) -> Result<User, AppError> {
        self.user_store()
            .find_credentials(username)
            .await
            .map(|(user, _)| user)
            .map_err(store_error("user"))
    }

    // ---- users (admin) ----

    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
    pub async fn list_users(&self, actor: &User) -> Result<Vec<User>, AppError> {
        require(actor, Role::Admin)?;
        self.user_store()
            .list_users()
            .await
            .map_err(store_error("user"))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username))]
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
        self.user_store()
            .insert_user(
                &user,
                &hash,
                &[entry(
                    Some(actor),
                    "user.created",
                    Target::of("user", user.id),
                    Some(serde_json::json!({"role": {"before": null, "after": user.role}})),
                )],
            )
            .await
            .map_err(store_error("a user"))?;
        tracing::info!(by = %actor.username, user = %user.username, role = user.role.as_str(), "user created");
        Ok(user)
    }

    /// Changes role, display name, disabled state or password. Disabling or resetting the
    /// password ends the user's sessions.
    #[tracing::instrument(level = "debug", skip_all, fields(actor = %actor.username, %id))]
    pub async fn update_user(
        &self,
        actor: &User,
        id: Uuid,
        patch: UserPatch,
    ) -> Result<User, AppError> {
        require(actor, Role::Admin)?;
        let before = self
            .user_store()
            .get_user(id)
            .await
            .map_err(store_error("user"))?;
        let mut user = before.clone();
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
        if let Some(changed) = changes(&before, &user, &[]) {
            // Named for the weightiest change; `changes` lists them all.
            let action = if user.role != before.role {
                "user.role_changed"
            } else if user.disabled_at.is_some() && before.disabled_at.is_none() {
                "user.disabled"
            } else if user.disabled_at.is_none() && before.disabled_at.is_some() {
                "user.enabled"
            } else {
                "user.updated"
            };
            self.user_store()
                .update_user(
                    &user,
                    at,
                    &[entry(
                        Some(actor),
                        action,
                        Target::of("user", id),
                        Some(changed),
                    )],
                )
                .await
                .map_err(store_error("user"))?;
        }
        let password_changed = patch.password.is_some();
        if let Some(password) = patch.password {
            let hash = hash_password(password).await?;
            // Never the password or its hash: only that it was set.
            let reset = entry(
                Some(actor),
                "user.password_changed",
                Target::of("user", id),
                None,
            );
            self.user_store()
                .set_password_hash(id, &hash, at, &[reset])
                .await
                .map_err(store_error("user"))?;
        }
        if user.disabled_at.is_some() || password_changed {
            self.credential_store()
                .delete_sessions_of(id)
                .await
                .map_err(store_error("session"))?;
        }
        tracing::info!(by = %actor.username, user = %user.username, "user updated");
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_restricted_to_safe_characters() {
        let mut errors = vec![];
        check_username("ci-bot@example", &mut errors);
        assert!(errors.is_empty());
        check_username("bad name", &mut errors);
        assert_eq!(errors[0].field, "username");
    }
}
